import TopologyCore
import TopologyWire

/// One HTTP/1.1 connection without its socket: bytes and time in, responses and `HTTPAction`s out
/// through an `HTTPOutput`. It owns the request parser, the routes, the event stream, the request
/// and close deadlines, and the lingering close; the server owns the socket and its queue.
///
///     requests --GET /api/v1/watch--> streaming
///        |  (a large response: encoding, no input taken until it is queued)
///        +--an error, Connection: close, the peer's EOF, shutdown--> closing --written, peer closed--> (closed)
public struct HTTPSession {
    public enum Phase: Equatable {
        /// Reading requests: the one begun must be complete, and its response read, by `deadlineMs`.
        case requests
        /// An SSE stream of the watcher's updates; a keep-alive comment is due at `deadlineMs`.
        case streaming(WatcherID)
        /// Nothing more is read or answered: what is queued is written, then the connection closes
        /// (at `deadlineMs` at the latest). `stream`: it was an event stream.
        case closing(stream: Bool)
        /// The server was asked to close the connection now (`HTTPAction.closeNow`).
        case closed
    }

    /// What is being encoded off the loop.
    public enum Encoding: Equatable {
        /// A response; whether the connection stays open after it.
        case response(keepAlive: Bool)
        /// Events of the stream.
        case events
    }

    public internal(set) var phase = Phase.requests
    public internal(set) var deadlineMs: Int64
    /// Set while a response or events are encoded off the loop: nothing is read, answered or timed
    /// out until they are queued, so responses keep the order of requests, and events of revisions.
    public internal(set) var encoding: Encoding?
    /// The peer ended its side (EOF) while a response was still queued: read no more; close once
    /// the queue is written.
    public internal(set) var peerClosed = false
    /// The stream's watcher has updates left in the core, held back while the queue was at its bound.
    var watcherBlocked = false
    /// What the event stream, once there is one, writes.
    var streamFormat = EventStreamFormat.topology
    /// A Connect stream's Connect-Timeout-Ms: it ends then with deadline_exceeded.
    var streamEndMs: Int64?
    var parser: HTTPRequestParser
    public let peer: String
    /// The connection's first bytes were found to begin a request line (see `receive`).
    var startsWithRequestLine = false

    public init(peer: String, limits: HTTPLimits, now: Int64, requestTimeoutMs: Int64) {
        self.peer = peer
        parser = HTTPRequestParser(limits: limits)
        deadlineMs = now + requestTimeoutMs
    }

    /// Bytes of a request begun and not complete.
    public var requestBytesBuffered: Int { parser.bufferedBytes }

    /// Whether the server should read the socket (EOF stays readable: level-triggered, it would spin).
    public var wantsInput: Bool { !peerClosed && encoding == nil }

    public var isClosing: Bool { if case .closing = phase { true } else { false } }

    /// Waiting for a request head with nothing to write, no stream and nothing being encoded: all an
    /// idle or slow client holds, so the connection may be closed to admit another when every slot
    /// is taken.
    public func isWaitingForRequest(pendingBytes: Int) -> Bool {
        phase == .requests && encoding == nil && pendingBytes == 0
    }

    /// The next time `runTimers` has work; nil while something is encoded off the loop.
    public var nextDeadlineMs: Int64? { encoding == nil ? deadlineMs : nil }

    /// Bytes read from the socket. A closing connection's input is drained and dropped (a lingering
    /// close: closing a socket with unread input would reset it and could destroy the error
    /// response); an SSE client has nothing more to say either.
    public mutating func receive<C: Clock>(_ bytes: UnsafeRawBufferPointer, now: Int64, _ env: HTTPEnvironment, topology: inout Topology,
                                 rpc: inout RPCDispatcher<C>, _ out: inout HTTPOutput) {
        guard phase == .requests else { return }
        parser.append(bytes)
        if !startsWithRequestLine {
            switch HTTPSession.requestLineStart(parser.buffer) {
            case nil: return  // a method's capitals so far: wait for more
            case true?: startsWithRequestLine = true
            case false?: return refuseNonHTTP(now: now, env, topology: &topology, rpc: &rpc, &out)
            }
        }
        answerRequests(now: now, env, topology: &topology, rpc: &rpc, &out)
    }

    /// The peer closed its side: the connection closes now, or after its response is written.
    public mutating func peerEnded(now: Int64, _ env: HTTPEnvironment, topology: inout Topology, _ out: inout HTTPOutput) {
        let stream: Bool
        switch phase {
        case .streaming: stream = true
        case .closing(let wasStream): stream = wasStream
        case .requests: stream = false
        case .closed: return
        }
        if peerClosed || stream || out.pendingBytes == 0 && encoding == nil {
            return closeNow(reason: "closed by peer", topology: &topology, &out)
        }
        // The client half-closed after its request: write the answer, then close.
        peerClosed = true
        beginClosing(now: now, env, topology: &topology, &out)
    }

    /// Answers the complete requests buffered, in order, until one leaves the connection streaming,
    /// closing or waiting for an encoded response.
    mutating func answerRequests<C: Clock>(now: Int64, _ env: HTTPEnvironment, topology: inout Topology, rpc: inout RPCDispatcher<C>,
                                 _ out: inout HTTPOutput) {
        while phase == .requests, encoding == nil {
            let request: HTTPRequest
            do {
                guard let next = try parser.next() else {
                    // A body waits for the interim response its client asked for (curl does).
                    if parser.takeContinueRequest() { out.outbound += "HTTP/1.1 100 Continue\r\n\r\n".utf8 }
                    return
                }
                request = next
            } catch {
                if error.status == .requestHeaderFieldsTooLarge || error.status == .contentTooLarge {
                    rpc.metrics.limitRejected(error.status == .contentTooLarge ? "http-request-body" : "http-request-head")
                }
                env.log.info("http request refused", ["peer": peer, "code": String(error.status.code), "error": error.message])
                queue(.text(error.status, error.message), keepAlive: false, headOnly: false, now: now, env, topology: &topology,
                      rpc: &rpc, &out)
                return
            }
            deadlineMs = now + env.requestTimeoutMs
            respond(to: request, now: now, env, topology: &topology, rpc: &rpc, &out)
        }
    }

    /// Whether `bytes`, a connection's first, begin an HTTP request line: capitals (the method) then
    /// a space, after any empty lines; nil while only capitals came. A Frame's length prefix and
    /// call id, TLS's handshake byte (0x16) and HTTP/2 frames after the preface are not.
    static func requestLineStart(_ bytes: [UInt8]) -> Bool? {
        var index = 0
        while index < bytes.count, bytes[index] == 13 || bytes[index] == 10 { index += 1 }
        let methodStart = index
        while index < bytes.count, index - methodStart < 20 {
            let byte = bytes[index]
            if byte == 32 { return index > methodStart }
            guard byte >= 65 && byte <= 90 else { return false }
            index += 1
        }
        return index - methodStart < 20 ? nil : false
    }

    /// A client that speaks something else (a Frames or gRPC stub given the HTTP port) is told which
    /// port this is and which one it wants, in a plain 400 its author can read in a capture.
    mutating func refuseNonHTTP<C: Clock>(now: Int64, _ env: HTTPEnvironment, topology: inout Topology, rpc: inout RPCDispatcher<C>,
                                          _ out: inout HTTPOutput) {
        let frames = env.framesAddress.map { "its frames port, \($0)" } ?? "its frames port (--address)"
        let message = "this is the HTTP port of topology-server (dashboard, JSON, Connect), not the frames port: "
            + "services speaking Frames or gRPC connect to \(frames)"
        env.log.info("http request refused", ["peer": peer, "code": "400", "error": "not HTTP"])
        queue(.text(.badRequest, message), keepAlive: false, headOnly: false, now: now, env, topology: &topology, rpc: &rpc, &out)
    }

    /// Queues a response; closes after it unless `keepAlive`.
    mutating func queue<C: Clock>(_ response: HTTPResponse, keepAlive: Bool, headOnly: Bool, now: Int64, _ env: HTTPEnvironment,
                        topology: inout Topology, rpc: inout RPCDispatcher<C>, _ out: inout HTTPOutput) {
        rpc.metrics.httpRequests[response.status.code, default: 0] += 1
        guard admitsResponse(env, topology: &topology, rpc: &rpc, &out) else { return }
        response.serialize(into: &out.outbound, keepAlive: keepAlive, headOnly: headOnly)
        if !keepAlive { beginClosing(now: now, env, topology: &topology, &out) }
    }

    /// Pipelining requests without reading the responses: the same rule as for frames.
    mutating func admitsResponse<C: Clock>(_ env: HTTPEnvironment, topology: inout Topology, rpc: inout RPCDispatcher<C>,
                                 _ out: inout HTTPOutput) -> Bool {
        guard out.pendingBytes > env.maxOutboundBytes else { return true }
        rpc.metrics.limitRejected("--max-outbound-bytes")
        closeNow(reason: "not reading its responses", topology: &topology, &out)
        return false
    }

    /// Asks the server to close the connection at once; nothing more is taken or answered.
    mutating func closeNow(reason: String, topology: inout Topology, _ out: inout HTTPOutput) {
        if let watcher = end(topology: &topology) { out.request(.watchClosed(watcher)) }
        phase = .closed
        out.request(.closeNow(reason: reason))
    }

    /// Bytes the reply encoder made: a response (then the requests that came after it are served)
    /// or the stream's events (then the watcher's next updates).
    public mutating func takeEncodedReply<C: Clock>(_ bytes: [UInt8], now: Int64, _ env: HTTPEnvironment, topology: inout Topology,
                                          rpc: inout RPCDispatcher<C>, _ out: inout HTTPOutput) {
        guard let encoding else { return }
        self.encoding = nil
        switch (encoding, phase) {
        case (.events, .streaming(let watcher)):
            out.appendEncoded(bytes)
            out.request(.deliverUpdates(watcher))
        case (.events, _):
            break  // the stream ended meanwhile: its events are moot, but its closing goes on
        case (.response, .closing):
            // The peer closed its side, or the server is shutting down: write the answer, then close.
            out.appendEncoded(bytes)
            deadlineMs = now + env.closeGraceMs
        case (.response(let keepAlive), _):
            out.appendEncoded(bytes)
            if keepAlive {
                deadlineMs = now + env.requestTimeoutMs
                answerRequests(now: now, env, topology: &topology, rpc: &rpc, &out)
            } else {
                beginClosing(now: now, env, topology: &topology, &out)
            }
        }
    }

    /// What the server does once it has written what it could of the queue.
    public enum AfterWrite: Equatable {
        case nothing
        /// All is written: close the write side and wait for the peer to close (a lingering close).
        case shutDownWriting
        case close
        /// The queue drained under the watch bound: the blocked watcher may take updates again.
        case deliverUpdates(WatcherID)
    }

    public mutating func wrote(pendingBytes: Int, _ env: HTTPEnvironment) -> AfterWrite {
        switch phase {
        case .closing:
            guard pendingBytes == 0, encoding == nil else { return .nothing }
            return peerClosed ? .close : .shutDownWriting
        case .streaming(let watcher) where watcherBlocked && pendingBytes < env.watchQueueBound:
            watcherBlocked = false
            return .deliverUpdates(watcher)
        default:
            return .nothing
        }
    }

    /// Stops serving; the connection closes once the peer has read what is queued and closed its
    /// side, or at the close deadline. An event stream's watch ends.
    mutating func beginClosing(now: Int64, _ env: HTTPEnvironment, topology: inout Topology, _ out: inout HTTPOutput) {
        switch phase {
        case .closing, .closed:
            return
        case .streaming(let watcher):
            topology.endWatch(watcher)
            out.request(.watchClosed(watcher))
            phase = .closing(stream: true)
        case .requests:
            phase = .closing(stream: false)
        }
        deadlineMs = now + env.closeGraceMs
    }

    /// The connection is going away (closed by either side, or evicted): its watch ends. Returns
    /// the watcher that was streaming, if any.
    public mutating func end(topology: inout Topology) -> WatcherID? {
        guard case .streaming(let watcher) = phase else { return nil }
        topology.endWatch(watcher)
        phase = .closed
        return watcher
    }

    /// Deadlines: the close grace period, the stream's keep-alive comment, the request deadline.
    public mutating func runTimers<C: Clock>(now: Int64, _ env: HTTPEnvironment, topology: inout Topology, rpc: inout RPCDispatcher<C>,
                                   _ out: inout HTTPOutput) {
        guard encoding == nil, deadlineMs <= now else { return }
        switch phase {
        case .closed:
            break
        case .closing:
            closeNow(reason: "close deadline", topology: &topology, &out)
        case .streaming:
            if let streamEndMs, streamEndMs <= now {
                out.outbound += ConnectEndOfStream(Status(code: .deadlineExceeded, message: "the stream's deadline (Connect-Timeout-Ms) passed")).envelope
                return beginClosing(now: now, env, topology: &topology, &out)
            }
            deadlineMs = min(now + env.sseCommentIntervalMs, streamEndMs ?? .max)
            if streamFormat.isServerSentEvents, out.pendingBytes < env.maxOutboundBytes / 2 {
                EventStreamEncoder.appendComment("keep-alive \(now)", to: &out.outbound)
            }
        case .requests:
            if parser.bufferedBytes > 0 {
                // A request was started and not finished in time.
                env.log.info("http request timed out", ["peer": peer])
                rpc.metrics.limitRejected("--http-request-timeout-ms")
                queue(.text(.requestTimeout, "request head not complete within --http-request-timeout-ms=\(env.requestTimeoutMs)"),
                      keepAlive: false, headOnly: false, now: now, env, topology: &topology, rpc: &rpc, &out)
            } else {
                closeNow(reason: out.pendingBytes > 0 ? "response not read in time" : "idle", topology: &topology, &out)
            }
        }
    }

    /// At shutdown: an event stream ends (after what is queued is written). Other connections stay
    /// for the drain: a request on one is still answered, with `Connection: close`.
    public mutating func shutdown(now: Int64, _ env: HTTPEnvironment, topology: inout Topology, _ out: inout HTTPOutput) {
        guard case .streaming = phase else { return }
        if streamFormat.isServerSentEvents {
            EventStreamEncoder.appendComment("server shutting down", to: &out.outbound)
        } else {
            out.outbound += ConnectEndOfStream(Status(code: .unavailable, message: "server shutting down")).envelope
        }
        beginClosing(now: now, env, topology: &topology, &out)
    }
}
