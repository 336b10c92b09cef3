import TopologyCore
import TopologyHTTP2
import TopologyWire

/// gRPC over cleartext HTTP/2 on the frames port, without its socket: bytes in, the RPCs through the
/// same `RPCDispatcher` as frames (same state machine, same statuses and messages), HTTP/2 bytes out.
/// Each HTTP/2 stream is one call, its stream id the call id (odd, increasing, never reused on a
/// connection, as call ids must be). The dispatcher answers in Frames, as to any transport; they are
/// turned into the response head, length-prefixed messages and `grpc-status` trailers here.
///
/// Per call: request head checked (POST, `application/grpc`, a known method, no compression, the
/// token when one is required, `grpc-timeout`) → messages decoded and dispatched as they complete →
/// the client's end of stream ends Heartbeat and ReportActivity (a WatchTopology runs until the
/// client cancels it) → trailers. A reset stream ends its call as an end of stream would.
public struct GRPCSession {
    struct Call {
        let method: GRPCMethod
        var reader: ConnectEnvelopeDecoder
        /// The response head is sent.
        var responded = false
        var requests = 0
        var deadlineMs: Int64?

        /// A request message as it is taken: a heartbeat in the usual layout, read where it is
        /// buffered (no payload copy, no general decoder), or the envelope for the general decoder.
        enum Request {
            case heartbeat(HeartbeatFrame)
            case envelope(ConnectEnvelope)
        }

        /// The next whole request message of the call on `stream`, counted; nil until one is complete.
        mutating func nextRequest(stream: UInt32) throws -> Request? {
            let method = method
            let request = try reader.next { flags, payload -> Request in
                if method == .heartbeat, flags == 0,
                   let heartbeat = HeartbeatFrame(callId: UInt64(stream), endOfStream: false, scanningRequest: payload) {
                    return .heartbeat(heartbeat)
                }
                return .envelope(ConnectEnvelope(flags: flags, payload: Array(payload)))
            }
            if request != nil { requests += 1 }
            return request
        }
    }

    /// The dispatcher's state for this connection's calls.
    public var callState: CallState
    var http2: HTTP2Connection
    var calls: [UInt32: Call] = [:]
    /// The streams whose GetTopology the reply encoder makes (`offLoopMessage`), in the order asked.
    private var offLoopStreams: [UInt32] = []
    let maxMessageBytes: Int
    /// Heartbeat replies a client leaves unread (the seed runtime's TypeScript reporter never reads
    /// them) wait in their stream's queue up to this many bytes; later ones are dropped, not queued,
    /// and the client's heartbeats still count.
    static let maxUnreadHeartbeatReplyBytes = 16 * 1024
    static let ok = Status(code: .ok, message: "")

    public init(callState: CallState, limits: HTTP2Limits, maxMessageBytes: Int) {
        self.callState = callState
        // gRPC carries the token in each call's metadata, not in a first frame.
        self.callState.awaitingAuthentication = false
        http2 = HTTP2Connection(limits: limits)
        self.maxMessageBytes = maxMessageBytes
    }

    /// Calls open now.
    public var openCallCount: Int { calls.count }

    /// The connection is done: a connection error, or a shutdown drained.
    public var isClosed: Bool { http2.isClosed }

    /// Bytes to write: the HTTP/2 frames made so far, and DATA as the client's windows allow.
    public var hasOutbound: Bool { http2.hasOutbound }
    public mutating func takeOutbound() -> [UInt8] { http2.takeOutbound() }

    /// DATA of a call waiting for the client's flow-control window: its backpressure.
    public func queuedBytes(callID: UInt64) -> Int { http2.queuedBytes(stream: UInt32(truncatingIfNeeded: callID)) }

    /// The earliest `grpc-timeout` deadline of an open call.
    public var nextDeadlineMs: Int64? { calls.values.compactMap(\.deadlineMs).min() }

    /// Bytes read from the connection. Replies, and what only the server can do, go to `sink`.
    public mutating func receive<C: Clock>(_ bytes: ArraySlice<UInt8>, _ rpc: inout RPCDispatcher<C>, topology: inout Topology,
                                            _ sink: inout ReplySink) {
        for event in http2.receive(bytes, now: rpc.clock.nowMs()) {
            switch event {
            case let .request(stream, headers, endStream):
                open(stream, headers, &rpc, topology: &topology, &sink)
                if endStream { endOfRequests(stream, &rpc, topology: &topology, &sink) }
            case let .data(stream, bytes, endStream):
                messages(stream, bytes, &rpc, topology: &topology, &sink)
                if endStream { endOfRequests(stream, &rpc, topology: &topology, &sink) }
            case let .endStream(stream):
                endOfRequests(stream, &rpc, topology: &topology, &sink)
            case let .streamReset(stream, _):
                // The client cancelled (that is how a watch ends) or broke the stream: the call ends.
                calls[stream] = nil
                abandon(stream, &rpc, topology: &topology, &sink)
            case let .connectionError(code, message):
                rpc.log.info("grpc connection error", ["peer": callState.peer, "code": String(describing: code), "error": message])
                rpc.endCalls(&callState, topology: &topology) { sink.watchClosed($0) }
                calls = [:]
                sink.close()
            }
        }
        sink.outbound += http2.takeOutbound()
    }

    /// A watch update for call `callID`, already encoded (a WatchTopologyResponse); what may be
    /// written now is appended to `outbound`.
    public mutating func sendWatchResponse(callID: UInt64, encoded: [UInt8], to outbound: inout [UInt8]) {
        let stream = UInt32(truncatingIfNeeded: callID)
        guard calls[stream] != nil else { return }
        sendHead(stream)
        http2.sendData(ConnectEnvelope.encode(flags: 0, payload: encoded), stream: stream, endStream: false)
        outbound += http2.takeOutbound()
    }

    /// What the reply encoder is to run for a GetTopology the dispatcher left to it
    /// (`FrameAction.encodeOffLoop`): the reply built and framed as its stream's gRPC message
    /// there, so that the loop copies none of it. Hand its bytes to `takeEncodedMessage`, in the
    /// order asked (the encoder keeps it).
    public mutating func offLoopMessage(_ reply: SnapshotReply) -> @Sendable () -> [UInt8] {
        offLoopStreams.append(UInt32(truncatingIfNeeded: reply.callId))
        return { ConnectEnvelope.encode(flags: 0, payload: reply.response().serializedBytes()) }
    }

    /// The bytes of the oldest `offLoopMessage`: its stream's message and OK trailers, unless the
    /// stream was reset meanwhile.
    public mutating func takeEncodedMessage(_ message: [UInt8], _ sink: inout ReplySink) {
        let stream = offLoopStreams.removeFirst()
        guard calls[stream] != nil else { return }
        sendHead(stream)
        http2.sendData(message, stream: stream, endStream: false)
        finish(stream, Self.ok)
        sink.outbound += http2.takeOutbound()
    }

    /// Replies the server encoded off the loop, as length-prefixed Frames (a watch's large snapshot
    /// and the updates after it): framed for their streams as the dispatcher's own replies are; a
    /// stream reset meanwhile takes none.
    public mutating func takeEncodedReply<C: Clock>(_ bytes: [UInt8], _ rpc: inout RPCDispatcher<C>, _ sink: inout ReplySink) {
        translate(bytes, &sink, &rpc)
        sink.outbound += http2.takeOutbound()
    }

    /// Calls past their `grpc-timeout` end with DEADLINE_EXCEEDED.
    public mutating func runTimers<C: Clock>(now: Int64, _ rpc: inout RPCDispatcher<C>, topology: inout Topology, _ sink: inout ReplySink) {
        for (stream, call) in calls where call.deadlineMs.map({ $0 <= now }) ?? false {
            finish(stream, Status(code: .deadlineExceeded, message: "the call's deadline (grpc-timeout) passed"))
            abandon(stream, &rpc, topology: &topology, &sink)
        }
        sink.outbound += http2.takeOutbound()
    }

    /// Shutdown: GOAWAY (the client opens no more calls here), and every open call ends with
    /// UNAVAILABLE, as over frames.
    public mutating func shutdown<C: Clock>(_ rpc: inout RPCDispatcher<C>, topology: inout Topology, _ sink: inout ReplySink) {
        http2.goAway(code: .noError, message: "server shutting down")
        let mark = sink.outbound.count
        rpc.endCallsForShutdown(&callState, &sink, topology: &topology)
        translateReplies(&sink, from: mark, &rpc)
        sink.outbound += http2.takeOutbound()
    }

    // MARK: Requests

    private mutating func open<C: Clock>(_ stream: UInt32, _ headers: [HeaderField], _ rpc: inout RPCDispatcher<C>, topology: inout Topology,
                                         _ sink: inout ReplySink) {
        func value(_ name: String) -> String? { headers.first { $0.name == name }?.value }
        let path = value(":path") ?? ""
        guard value(":method") == "POST" else {
            return refuseHTTP(stream, status: "405", Status(code: .unimplemented, message: "gRPC calls are POST requests, not \(value(":method") ?? "")"))
        }
        guard let contentType = value("content-type"), contentType == "application/grpc" || contentType == "application/grpc+proto" else {
            return refuseHTTP(stream, status: "415", Status(code: .unimplemented,
                              message: "content-type \(value("content-type") ?? "(none)") is not served here; gRPC with protobuf is application/grpc"))
        }
        guard let method = GRPCMethod(path: path) else {
            return finish(stream, Status(code: .unimplemented, message: "unknown method \(path); this server serves \(GRPCMethod.pathList)"))
        }
        if let encoding = value("grpc-encoding"), encoding != "identity" {
            return finish(stream, Status(code: .unimplemented, message: "messages compressed with \(encoding) are not accepted; send them uncompressed (grpc-accept-encoding: identity)"))
        }
        if let tokenMatches = rpc.configuration.tokenMatches {
            let presented = value("authorization").flatMap { header -> String? in
                let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
                return parts.count == 2 && parts[0].lowercased() == "bearer" ? String(parts[1]) : nil
            }
            guard let presented, tokenMatches(presented) else {
                rpc.metrics.authenticationFailed(listener: "grpc")
                return finish(stream, Status(code: .unauthenticated, message: presented == nil
                    ? "this server requires a token (--auth-token-file): send the metadata authorization: Bearer <token> with every call"
                    : "the token does not match the server's --auth-token-file; send the current one"))
            }
        }
        var deadlineMs: Int64?
        if let timeout = value("grpc-timeout") {
            guard let ms = GRPCHeaders.timeoutMs(timeout) else {
                return finish(stream, Status(code: .invalidArgument, message: "grpc-timeout \(timeout) is malformed: 1 to 8 digits and a unit, H M S m u or n"))
            }
            deadlineMs = rpc.clock.nowMs() + ms
        }
        // OTLP batches are larger than our messages: they have their own bound (--otlp-max-body-bytes).
        let messageLimit = method == .traceExport ? rpc.configuration.otlpLimits.maximumBytes : maxMessageBytes
        calls[stream] = Call(method: method, reader: ConnectEnvelopeDecoder(maximumMessageSize: messageLimit, allowedFlags: ConnectEnvelope.compressed),
                             deadlineMs: deadlineMs)
    }

    /// DATA of `stream`: each whole message is dispatched; the replies are framed for the stream
    /// together once the DATA is taken (one DATA run for a batch of heartbeat acks).
    private mutating func messages<C: Clock>(_ stream: UInt32, _ bytes: [UInt8], _ rpc: inout RPCDispatcher<C>, topology: inout Topology,
                                             _ sink: inout ReplySink) {
        guard calls[stream] != nil else { return }
        calls[stream]!.reader.append(bytes)
        let mark = sink.outbound.count
        let taken = takeMessages(stream, &rpc, topology: &topology, &sink)
        translateReplies(&sink, from: mark, &rpc)
        switch taken {
        case .done: break
        case .failed(let status): fail(stream, status, &rpc, topology: &topology, &sink)
        case .traceExport(let payload): exportTraces(stream, payload, &rpc, topology: &topology)
        }
    }

    /// What taking a stream's buffered messages came to.
    private enum Taken {
        /// Every whole message dispatched (or the dispatcher ended the call).
        case done
        /// A message was refused: the status that ends the call.
        case failed(Status)
        /// An OTLP export's one message, answered by the session itself once the call is back in
        /// the table (its answer is the call's response and trailers).
        case traceExport([UInt8])
    }

    /// Dispatches the whole messages buffered on `stream`, their replies left in the sink as the
    /// dispatcher wrote them.
    private mutating func takeMessages<C: Clock>(_ stream: UInt32, _ rpc: inout RPCDispatcher<C>, topology: inout Topology,
                                                 _ sink: inout ReplySink) -> Taken {
        // Out of the table while its messages are taken (the dispatcher's replies are framed
        // after): not copied, since a copy would share the reader's buffer, and taking a message
        // from it would copy the whole buffer; and one lookup, not one per message.
        guard var call = calls.removeValue(forKey: stream) else { return .done }
        defer { calls[stream] = call }
        let method = call.method
        // One clock reading per heartbeat, as on the frames path: each starts where the last ended.
        var clockNs = rpc.clock.monotonicNs()
        while true {
            let request: Call.Request
            do {
                guard let next = try call.nextRequest(stream: stream) else { return .done }
                request = next
            } catch {
                let flag = method == .traceExport ? "--otlp-max-body-bytes" : "--max-frame-bytes"
                rpc.metrics.limitRejected(flag)
                return .failed(Status(code: .resourceExhausted, message: "\(error) (\(flag))"))
            }
            switch request {
            case .heartbeat(let heartbeat):
                clockNs = rpc.heartbeat(HeartbeatInput(heartbeat), &callState, &sink, topology: &topology,
                                        startedNs: clockNs, now: rpc.clock.ms(monotonicNs: clockNs))
            case .envelope(let envelope):
                guard !envelope.isCompressed else {
                    return .failed(Status(code: .unimplemented, message: "a compressed message: send messages uncompressed (grpc-accept-encoding: identity)"))
                }
                guard method.clientStreams || call.requests == 1 else {
                    return .failed(Status(code: .invalidArgument, message: "\(method.rawValue) takes one request message, and this is the second"))
                }
                if method == .traceExport { return .traceExport(envelope.payload) }
                let message: Frame.Message
                do {
                    message = try method.request(envelope.payload)
                } catch {
                    return .failed(Status(code: .invalidArgument, message: "the request message does not decode: \(error)"))
                }
                handle(Frame(callId: UInt64(stream), message: message), &rpc, topology: &topology, &sink)
                clockNs = rpc.clock.monotonicNs()
            }
            // The dispatcher ended the call (a unary call answered, a heartbeat refused): its final
            // reply, in the sink, finishes the stream; what the client sent after it is not taken.
            if !callState.calls.isOpenHeartbeat(UInt64(stream)), callState.calls[UInt64(stream)] == nil { return .done }
        }
    }

    /// The client ended its side of the call.
    private mutating func endOfRequests<C: Clock>(_ stream: UInt32, _ rpc: inout RPCDispatcher<C>, topology: inout Topology, _ sink: inout ReplySink) {
        guard let call = calls[stream] else { return }
        switch (call.method, call.requests) {
        case (.watchTopology, 1...):
            return  // a half-closed watch goes on until the client cancels it
        case (.heartbeat, 0):
            finish(stream, Self.ok)
        case (.reportActivity, 0):
            sendHead(stream)
            let response = ReportActivityResponse(acknowledged: true, acceptedEvents: 0)
            http2.sendData(ConnectEnvelope.encode(flags: 0, payload: response.serializedBytes()), stream: stream, endStream: false)
            finish(stream, Self.ok)
        case (_, 0):
            finish(stream, Status(code: .invalidArgument, message: "the call ended without its request message"))
        case (.heartbeat, _), (.reportActivity, _):
            dispatch(Frame(callId: UInt64(stream), endOfStream: true), &rpc, topology: &topology, &sink)
        default:
            return  // a unary call: answered when its message came
        }
    }

    /// OTLP/gRPC: the export's answer is the call's one response and its status. Throttling is
    /// UNAVAILABLE, which OTLP exporters retry with backoff; a request that does not decode is
    /// INVALID_ARGUMENT, which they drop.
    private mutating func exportTraces<C: Clock>(_ stream: UInt32, _ payload: [UInt8], _ rpc: inout RPCDispatcher<C>,
                                                 topology: inout Topology) {
        switch rpc.exportTraces(payload, json: false, transport: "grpc", peer: callState.peer, topology: &topology) {
        case .accepted(let response):
            sendHead(stream)
            http2.sendData(ConnectEnvelope.encode(flags: 0, payload: response.serializedBytes()), stream: stream, endStream: false)
            finish(stream, Self.ok)
        case .invalid(let message):
            rpc.metrics.frameError(.invalidArgument)
            finish(stream, Status(code: .invalidArgument, message: message))
        case .throttled(_, let message):
            rpc.metrics.frameError(.unavailable)
            finish(stream, Status(code: .unavailable, message: message))
        }
    }

    // MARK: Replies

    private mutating func dispatch<C: Clock>(_ frame: Frame, _ rpc: inout RPCDispatcher<C>, topology: inout Topology, _ sink: inout ReplySink) {
        let mark = sink.outbound.count
        handle(frame, &rpc, topology: &topology, &sink)
        translateReplies(&sink, from: mark, &rpc)
    }

    /// The dispatcher takes `frame`; its replies stay in the sink as Frames. A reply it would have
    /// encoded off the loop (a large GetTopology) stays an action for the server, which encodes it
    /// there and hands the bytes back to `takeEncodedReply`; the connection's other streams go on.
    private mutating func handle<C: Clock>(_ frame: Frame, _ rpc: inout RPCDispatcher<C>, topology: inout Topology, _ sink: inout ReplySink) {
        rpc.handle(frame, &callState, &sink, topology: &topology, now: rpc.clock.nowMs())
    }

    /// The Frames the dispatcher queued after `mark` become the calls' messages and trailers: their
    /// message bytes are taken as they are, framed as gRPC messages, and consecutive messages of a
    /// stream are queued as one run of DATA.
    private mutating func translateReplies<C: Clock>(_ sink: inout ReplySink, from mark: Int, _ rpc: inout RPCDispatcher<C>) {
        guard sink.outbound.count > mark else { return }
        let written = Array(sink.outbound[mark...])
        sink.outbound.removeSubrange(mark...)
        translate(written, &sink, &rpc)
    }

    /// Length-prefixed reply Frames, as the dispatcher writes them, to the calls' messages and trailers.
    private mutating func translate<C: Clock>(_ written: [UInt8], _ sink: inout ReplySink, _ rpc: inout RPCDispatcher<C>) {
        var run = DataRun()
        written.withUnsafeBytes { bytes in
            ReplyFrameScanner.scan(bytes) { reply in
                let stream = UInt32(truncatingIfNeeded: reply.callId)
                guard reply.callId != 0 else {
                    // About the connection: the dispatcher closes it (it queued a Status on call 0).
                    queue(&run)
                    http2.goAway(code: .internalError, message: reply.status?.message ?? "")
                    return
                }
                if let range = reply.message {
                    if run.stream != stream {
                        queue(&run)
                        guard let call = calls[stream] else { return }
                        run = DataRun(stream: stream, method: call.method, queued: http2.queuedBytes(stream: stream))
                        // Before its first message; a heartbeat ack dropped as unread had one before it.
                        sendHead(stream)
                    }
                    if run.method == .heartbeat, !reply.endOfStream, unreadBytes(&run, &sink) >= Self.maxUnreadHeartbeatReplyBytes {
                        rpc.metrics.grpcHeartbeatRepliesDropped += 1
                    } else {
                        ConnectEnvelope.append(flags: 0, payload: UnsafeRawBufferPointer(rebasing: bytes[range]), to: &run.bytes)
                    }
                }
                if reply.endOfStream {
                    queue(&run)
                    run = DataRun()
                    if calls[stream] != nil { finish(stream, reply.status ?? Self.ok) }
                }
            }
        }
        queue(&run)
    }

    /// gRPC messages for one open call, not yet handed to HTTP/2.
    private struct DataRun {
        /// 0: no call (stream 0 is never a call's).
        var stream: UInt32 = 0
        var method = GRPCMethod.heartbeat
        /// The stream's DATA queued in HTTP/2 when the run started (or was last queued).
        var queued = 0
        var bytes: [UInt8] = []
    }

    private mutating func queue(_ run: inout DataRun) {
        guard !run.bytes.isEmpty else { return }
        http2.sendData(run.bytes, stream: run.stream, endStream: false)
        run.queued += run.bytes.count
        run.bytes.removeAll(keepingCapacity: true)
    }

    /// DATA of the run's stream the client's window holds back, the run included. What the window
    /// lets out is written first: replies queued within one read are not unread.
    private mutating func unreadBytes(_ run: inout DataRun, _ sink: inout ReplySink) -> Int {
        guard run.queued + run.bytes.count >= Self.maxUnreadHeartbeatReplyBytes else { return run.queued + run.bytes.count }
        queue(&run)
        sink.outbound += http2.takeOutbound()
        run.queued = http2.queuedBytes(stream: run.stream)
        return run.queued
    }

    private mutating func sendHead(_ stream: UInt32) {
        guard var call = calls[stream], !call.responded else { return }
        http2.sendHeaders(GRPCHeaders.responseHead, stream: stream, endStream: false)
        call.responded = true
        calls[stream] = call
    }

    /// Ends a call with `status`: trailers after its messages, or a trailers-only response.
    private mutating func finish(_ stream: UInt32, _ status: Status) {
        if let call = calls[stream], call.responded {
            http2.sendTrailers(GRPCHeaders.trailers(status), stream: stream)
        } else {
            http2.sendHeaders(GRPCHeaders.trailersOnly(status), stream: stream, endStream: true)
        }
        calls[stream] = nil
    }

    /// A request this server does not take as gRPC at all: an HTTP status, with a gRPC status for
    /// clients that read one.
    private mutating func refuseHTTP(_ stream: UInt32, status: String, _ grpcStatus: Status) {
        http2.sendHeaders([HeaderField(":status", status)] + GRPCHeaders.trailers(grpcStatus), stream: stream, endStream: true)
    }

    /// Ends a call the session refuses midway, and its state in the dispatcher.
    private mutating func fail<C: Clock>(_ stream: UInt32, _ status: Status, _ rpc: inout RPCDispatcher<C>, topology: inout Topology,
                                         _ sink: inout ReplySink) {
        rpc.metrics.frameError(status.statusCode)
        finish(stream, status)
        abandon(stream, &rpc, topology: &topology, &sink)
    }

    /// Ends the dispatcher's call on `stream`, if it has one, with nothing sent (the stream is
    /// answered or gone); a watch's end still reaches the server.
    private mutating func abandon<C: Clock>(_ stream: UInt32, _ rpc: inout RPCDispatcher<C>, topology: inout Topology, _ sink: inout ReplySink) {
        guard callState.calls[UInt64(stream)] != nil else { return }
        calls[stream] = nil
        dispatch(Frame(callId: UInt64(stream), endOfStream: true), &rpc, topology: &topology, &sink)
    }
}
