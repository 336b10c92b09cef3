/// The server side of one HTTP/2 connection (RFC 9113), sans I/O: bytes and the time in
/// (`receive`), events out; what to write is taken with `takeOutbound()`. No sockets, no clock:
/// the rate budgets run on the `now` (milliseconds, any monotonic origin) the caller passes.
///
/// The server's SETTINGS are queued at once (§3.4: the server preface). Then the client preface,
/// and its SETTINGS as the first frame. Requests arrive as `.request` events; the application
/// answers with `sendHeaders`, `sendData` and `sendTrailers`, which respect the peer's flow
/// control windows and frame size. A stream is gone once its response has ended: at once if the
/// request had ended too, else after RST_STREAM NO_ERROR (§8.1), so what the client still sends on
/// it is dropped; or when either side resets it. A connection error queues GOAWAY and ends the
/// connection: the server writes what `takeOutbound()` gives and closes; `receive` then does nothing.
public struct HTTP2Connection: Sendable {
    public let limits: HTTP2Limits

    enum Phase: Equatable {
        /// How many octets of the 24-octet client preface have matched so far.
        case awaitingPreface(matched: Int)
        /// §3.4: the client's first frame must be SETTINGS.
        case awaitingSettings
        case running
        case closed
    }

    /// A HEADERS frame's field block waiting for the CONTINUATION frames that end it.
    struct PendingFieldBlock {
        var stream: UInt32
        var bytes: [UInt8]
        var endStream: Bool
        var continuations = 0
        /// The HEADERS frame's priority made the stream depend on itself (§5.3.1).
        var dependsOnItself: Bool
    }

    static let clientPreface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    var phase = Phase.awaitingPreface(matched: 0)
    var decoder: HTTP2FrameDecoder
    /// One decoder for the connection, fed every field block in frame order (RFC 7541 §2.2).
    var hpack = HPACKDecoder()
    var peerSettings = HTTP2PeerSettings()
    /// The open and half-closed streams.
    var streams: [UInt32: HTTP2Stream] = [:]
    var closedStreams: HTTP2ClosedStreams
    /// The highest stream id the client opened; every idle id below it is closed (§5.1.1).
    var lastPeerStream: UInt32 = 0
    var fieldBlock: PendingFieldBlock?
    /// The connection's send window: the peer's WINDOW_UPDATEs on stream 0 open it.
    var sendWindow = HTTP2FlowWindow(HTTP2FlowWindow.defaultSize)
    /// The connection's receive window; WINDOW_UPDATEs are sent as DATA is handed on.
    var receiveWindow: HTTP2FlowWindow
    /// DATA handed on since the last WINDOW_UPDATE of the connection.
    var unacknowledgedBytes = 0
    /// Set once this side sent GOAWAY: streams above it are not served (§6.8).
    var goAwayLastStream: UInt32?
    /// The peer sent GOAWAY: it opens no more streams; those it has run to their end.
    public internal(set) var peerWentAway = false
    var outbound: [UInt8] = []
    /// Replies to the peer's frames in `outbound`, against `limits.maxQueuedControlFrames`.
    var queuedControlFrames = 0
    /// Streams with DATA, trailers or an END_STREAM waiting, served in turn.
    var sendOrder: [UInt32] = []
    var resetBudget: HTTP2RateBudget
    var pingBudget: HTTP2RateBudget
    var settingsBudget: HTTP2RateBudget

    public init(limits: HTTP2Limits = HTTP2Limits()) {
        precondition(limits.maxConcurrentStreams >= 0 && limits.maxHeaderListSize > 0 && limits.maxFieldBlockSize > 0
                     && limits.maxQueuedControlFrames > 0 && limits.outboundBatchSize > 0, "HTTP/2 limits must be positive")
        precondition(limits.maxConcurrentStreams <= Int(UInt32.max) && limits.maxHeaderListSize <= Int(UInt32.max),
                     "SETTINGS values are 32 bits")
        precondition((HTTP2FlowWindow.defaultSize...HTTP2FlowWindow.maxSize).contains(limits.initialWindowSize),
                     "the initial window must be between 65,535 and 2^31-1")
        self.limits = limits
        decoder = HTTP2FrameDecoder(maxFrameSize: limits.maxFrameSize)
        closedStreams = HTTP2ClosedStreams(capacity: limits.closedStreamMemory)
        receiveWindow = HTTP2FlowWindow(limits.initialWindowSize)
        resetBudget = HTTP2RateBudget(limits.resets)
        pingBudget = HTTP2RateBudget(limits.pings)
        settingsBudget = HTTP2RateBudget(limits.settingsFrames)
        HTTP2Frame(stream: 0, .settings([
            HTTP2Setting(HTTP2Setting.maxConcurrentStreams, UInt32(limits.maxConcurrentStreams)),
            HTTP2Setting(HTTP2Setting.initialWindowSize, UInt32(limits.initialWindowSize)),
            HTTP2Setting(HTTP2Setting.maxFrameSize, UInt32(limits.maxFrameSize)),
            HTTP2Setting(HTTP2Setting.maxHeaderListSize, UInt32(limits.maxHeaderListSize)),
        ])).encode(into: &outbound)
        // The connection window starts at 65,535 whatever SETTINGS say (§6.9.2): raise it to match.
        if limits.initialWindowSize > HTTP2FlowWindow.defaultSize {
            HTTP2Frame(stream: 0, .windowUpdate(increment: UInt32(limits.initialWindowSize - HTTP2FlowWindow.defaultSize))).encode(into: &outbound)
        }
    }

    /// Streams open or half-closed.
    public var openStreamCount: Int { streams.count }

    /// After a connection error, or once a GOAWAY drain has no streams left: the server writes
    /// what `takeOutbound()` gives and closes the socket.
    public var isClosed: Bool { phase == .closed || (goAwayLastStream != nil && streams.isEmpty) }

    /// The bytes of `stream`'s DATA waiting for the peer's windows or for the socket: what the
    /// application reads to hold back a long stream (a watch) when the client does not keep up.
    public func queuedBytes(stream: UInt32) -> Int { streams[stream]?.queuedBytes ?? 0 }

    /// Feeds bytes read from the socket. Events come in frame order; after a `.connectionError`
    /// the rest of the input and all later input is ignored.
    public mutating func receive(_ bytes: ArraySlice<UInt8>, now: Int64) -> [HTTP2Event] {
        var events: [HTTP2Event] = []
        var input = bytes
        if case let .awaitingPreface(matched) = phase {
            let expected = Self.clientPreface[matched...].prefix(input.count)
            guard input.starts(with: expected) else {
                fail(.connection(.protocolError, "the connection does not start with the HTTP/2 client preface (RFC 9113 §3.4)"), &events)
                return events
            }
            input = input.dropFirst(expected.count)
            phase = matched + expected.count == Self.clientPreface.count ? .awaitingSettings : .awaitingPreface(matched: matched + expected.count)
        }
        guard phase == .awaitingSettings || phase == .running else { return events }
        decoder.append(input)
        while phase != .closed {
            do throws(HTTP2Violation) {
                guard let frame = try decoder.next() else { break }
                try handle(frame, now: now, &events)
            } catch {
                switch (error.scope, fieldBlock) {
                case (.connection, _):
                    fail(error, &events)
                case let (.stream, pending?):
                    // A frame the decoder faulted (a PRIORITY of the wrong size) inside a field
                    // block: any frame there but CONTINUATION ends the connection (§6.10).
                    fail(.connection(.protocolError, "\(error.message), while the field block of stream \(pending.stream) awaited CONTINUATION (§6.10)"), &events)
                case let (.stream(stream), nil):
                    streamError(stream, error.code, now: now, &events)
                }
            }
        }
        return events
    }

    /// Ends the connection: GOAWAY with the error and the last stream that may have been served.
    mutating func fail(_ violation: HTTP2Violation, _ events: inout [HTTP2Event]) {
        writeGoAway(violation.code, violation.message)
        events.append(.connectionError(code: violation.code, message: violation.message))
    }

    /// GOAWAY naming the last stream served (§6.8); any code but NO_ERROR ends the connection now.
    mutating func writeGoAway(_ code: HTTP2ErrorCode, _ message: String) {
        goAwayLastStream = lastServedStream
        // The debug data is for people reading logs; 256 bytes say enough.
        HTTP2Frame(stream: 0, .goAway(lastStream: lastServedStream, errorCode: code.rawValue, debugData: Array(message.utf8.prefix(256)))).encode(into: &outbound)
        if code != .noError {
            phase = .closed
            streams = [:]
            sendOrder = []
        }
    }

    /// What GOAWAY names as the last stream served: the last the client opened, but never more
    /// than an earlier GOAWAY named (§6.8: the value must not increase).
    var lastServedStream: UInt32 { min(lastPeerStream, goAwayLastStream ?? lastPeerStream) }

    /// A stream error (§5.4.2): RST_STREAM, the stream forgotten, the application told if it knew
    /// of the stream. The peer caused it, so it spends the reset budget (rapid reset).
    mutating func streamError(_ stream: UInt32, _ code: HTTP2ErrorCode, now: Int64, _ events: inout [HTTP2Event]) {
        do throws(HTTP2Violation) {
            try writeReply(HTTP2Frame(stream: stream, .rstStream(errorCode: code.rawValue)))
            close(stream, .resetHere, telling: code, &events)
            try spendReset(now: now)
        } catch {
            fail(error, &events)
        }
    }

    /// Forgets an active stream (if it is one) and remembers how it closed; tells the application
    /// with `.streamReset(code)` when `telling` is given and the application knew of the stream.
    mutating func close(_ stream: UInt32, _ reason: HTTP2CloseReason, telling code: HTTP2ErrorCode? = nil, _ events: inout [HTTP2Event]) {
        if let removed = streams.removeValue(forKey: stream), removed.announced, let code {
            events.append(.streamReset(stream: stream, code: code))
        }
        closedStreams.record(stream, reason)
    }

    mutating func spendReset(now: Int64) throws(HTTP2Violation) {
        guard resetBudget.spend(now: now) else {
            throw .connection(.enhanceYourCalm, "more than \(limits.resets.events) streams reset within \(limits.resets.perMilliseconds) ms (rapid reset)")
        }
    }

    /// Writes a frame that answers one of the peer's; too many of them unread is a flood.
    mutating func writeReply(_ frame: HTTP2Frame) throws(HTTP2Violation) {
        queuedControlFrames += 1
        guard queuedControlFrames <= limits.maxQueuedControlFrames else {
            throw .connection(.enhanceYourCalm, "more than \(limits.maxQueuedControlFrames) replies to control frames wait unread: the client sends without reading")
        }
        frame.encode(into: &outbound)
    }

    /// The state of any stream id (§5.1): active ones from the table, idle above the last the peer
    /// opened, closed below it.
    func state(of stream: UInt32) -> HTTP2StreamState {
        if let active = streams[stream] { return active.state }
        if let reason = closedStreams.reason(stream) { return .closed(reason) }
        return stream > lastPeerStream ? .idle : .closed(.unknown)
    }
}
