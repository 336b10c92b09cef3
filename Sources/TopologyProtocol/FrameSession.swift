import TopologyCore
import TopologyWire

/// One connection of the frames protocol, without its socket: bytes in (`append`, then
/// `handleFrames`; `receive` does both), replies and `FrameAction`s out through a `ReplySink`. It
/// owns the frame decoder, the connection's calls, the check that the first bytes are not an HTTP
/// request, and the answers to bytes that are not frames; the RPCs are the dispatcher's.
///
///     awaitingFirstFrame --frame--> open --GetTopology encoded off the loop--> awaitingEncodedReply
///             |                      |  <-----------------resumeAfterEncodedReply----------|
///             |                      |--over --max-outbound-bytes queued-----> awaitingDrain
///             |                      |  <-----------------resumeAfterDrain-----------------|
///             +-----protocol error---+--------------------------------------------------> closed
public struct FrameSession {
    public enum State: Equatable {
        /// No frame yet: the first bytes are checked for an HTTP request, and heartbeats take the
        /// general decoder (whatever a connection must open with is checked there).
        case awaitingFirstFrame
        case open
        /// A reply is being encoded off the loop: no frame is taken until it is queued, so the
        /// replies keep the order of the requests.
        case awaitingEncodedReply
        /// More than `--max-outbound-bytes` are queued for the client: no frame is taken until the
        /// server has written them down (`resumeAfterDrain`). A client that pipelines requests
        /// faster than it reads the replies is slowed down, not closed: its requests wait in its
        /// socket, and TCP holds it back. The server closes it only if it stops reading altogether.
        case awaitingDrain
        /// A protocol error closed the connection: nothing more is taken.
        case closed
        /// The first bytes are the HTTP/2 client preface: the connection speaks gRPC, and its bytes
        /// go to a `GRPCSession` (`takeBufferedBytes`).
        case http2
    }

    /// What one `handleFrames` took.
    public struct Progress: Equatable {
        public var frames = 0
        /// Heartbeats read by the fast path (`HeartbeatFrame`) rather than the general decoder.
        public var fastPathHeartbeats = 0

        public init(frames: Int = 0, fastPathHeartbeats: Int = 0) {
            self.frames = frames
            self.fastPathHeartbeats = fastPathHeartbeats
        }
    }

    public private(set) var state = State.awaitingFirstFrame
    /// The connection's open calls and authentication, which the dispatcher keeps.
    public var callState: CallState
    private var decoder: FrameDecoder
    /// The first bytes received (up to 4), kept only to recognise an HTTP request.
    private var firstBytes: [UInt8] = []
    /// Frames taken from the decoder so far.
    public private(set) var framesReceived = 0

    /// An HTTP/1 request starts with a method in capitals and a space; as a varint length prefix its
    /// first byte would announce a 65-90 byte frame, so these four bytes are looked for before
    /// waiting for that many. HTTP/2's client preface starts `PRI ` (gRPC with prior knowledge).
    private static let httpStarts: [[UInt8]] =
        ["GET ", "POST", "PUT ", "HEAD", "DELE", "OPTI", "PATC", "CONN", "TRAC"].map { Array($0.utf8) }
    private static let http2Start = Array("PRI ".utf8)

    public init(callState: CallState, maxFrameBytes: Int) {
        self.callState = callState
        decoder = FrameDecoder(maximumFrameSize: maxFrameBytes)
    }

    /// Bytes received but not yet taken as frames (a frame in the middle of arriving).
    public var bufferedByteCount: Int { decoder.bufferedByteCount }

    /// The capacity of the decoder's input buffer.
    public var bufferCapacity: Int { decoder.bufferCapacity }

    /// Frees the decoder's input buffer if it holds nothing (`FrameDecoder.releaseIdleCapacity`).
    public mutating func releaseIdleCapacity() { decoder.releaseIdleCapacity() }

    /// Adds bytes read from the connection; `handleFrames` takes the frames they complete.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if state == .awaitingFirstFrame, firstBytes.count < 4 {
            firstBytes += bytes.prefix(4 - firstBytes.count)
        }
        decoder.append(bytes)
    }

    /// `append`, then `handleFrames` with no limit.
    @discardableResult
    public mutating func receive<C: Clock>(_ bytes: UnsafeRawBufferPointer, _ rpc: inout RPCDispatcher<C>, topology: inout Topology,
                                            _ sink: inout ReplySink) -> Progress {
        append(bytes)
        return handleFrames(limit: .max, &rpc, topology: &topology, &sink)
    }

    /// Takes the complete frames buffered, at most `limit` of them (the server serves its timers
    /// in between), and hands them to the dispatcher. Stops early when the connection closes, waits
    /// for a reply encoded off the loop, or waits for its queued replies to be written. Each frame
    /// is stamped with `rpc.clock` as it is taken; a heartbeat starts where the previous one ended.
    public mutating func handleFrames<C: Clock>(limit: Int, _ rpc: inout RPCDispatcher<C>, topology: inout Topology,
                                                 _ sink: inout ReplySink) -> Progress {
        var progress = Progress()
        var clockNs = rpc.clock.monotonicNs()
        while progress.frames < limit {
            switch state {
            case .open:
                if sink.pendingBytes > rpc.configuration.maxOutboundBytes {
                    state = .awaitingDrain
                    return progress
                }
                // Heartbeats in the usual layout skip the general decoder.
                if let heartbeat = decoder.nextHeartbeat() {
                    progress.frames += 1
                    progress.fastPathHeartbeats += 1
                    framesReceived += 1
                    clockNs = rpc.heartbeat(HeartbeatInput(heartbeat), &callState, &sink, topology: &topology,
                                            startedNs: clockNs, now: rpc.clock.ms(monotonicNs: clockNs))
                    if sink.closing { state = .closed }
                    continue
                }
            case .awaitingFirstFrame:
                if firstBytes == FrameSession.http2Start {
                    state = .http2
                    return progress
                }
                if firstBytes.count == 4, FrameSession.httpStarts.contains(firstBytes) {
                    refuseHTTP(&rpc, &sink)
                    return progress
                }
            case .awaitingEncodedReply, .awaitingDrain, .closed, .http2:
                return progress
            }
            guard let frame = nextFrame(&rpc, topology: &topology, &sink) else { return progress }
            progress.frames += 1
            framesReceived += 1
            if state == .awaitingFirstFrame { state = .open }
            rpc.handle(frame, &callState, &sink, topology: &topology, now: rpc.clock.nowMs())
            if sink.closing {
                state = .closed
            } else if sink.awaitingEncodedReply {
                state = .awaitingEncodedReply
            }
            clockNs = rpc.clock.monotonicNs()
        }
        return progress
    }

    /// The next frame of the general decoder; nil when there is none yet, or when the bytes are not
    /// frames (the connection is closed then).
    private mutating func nextFrame<C: Clock>(_ rpc: inout RPCDispatcher<C>, topology: inout Topology, _ sink: inout ReplySink) -> Frame? {
        do {
            return try decoder.next()
        } catch let error as FramingError {
            switch error {
            case .frameTooLarge(let length, let limit):
                rpc.metrics.limitRejected("--max-frame-bytes")
                close(code: .resourceExhausted,
                      message: "frame of \(length) bytes is over the limit --max-frame-bytes=\(limit); the connection is closed",
                      &rpc, topology: &topology, &sink)
            default:
                close(code: .invalidArgument, message: "\(error); the connection is closed", &rpc, topology: &topology, &sink)
            }
        } catch {
            close(code: .internal, message: "\(error)", &rpc, topology: &topology, &sink)
        }
        return nil
    }

    /// The reply encoded off the loop is queued: frames are taken again.
    public mutating func resumeAfterEncodedReply() {
        if state == .awaitingEncodedReply { state = .open }
    }

    /// The queued replies were written down to where the client may send more: frames are taken again.
    public mutating func resumeAfterDrain() {
        if state == .awaitingDrain { state = .open }
    }

    /// Closes the connection with `code` on call 0 (its calls end): a protocol error found here or
    /// by the server's timers.
    public mutating func close<C: Clock>(code: StatusCode, message: String, _ rpc: inout RPCDispatcher<C>, topology: inout Topology,
                                          _ sink: inout ReplySink) {
        rpc.closeConnection(&callState, &sink, topology: &topology, code: code, message: message)
        state = .closed
    }

    /// An HTTP/1 client on the frames port (curl or a browser given the wrong port) is answered in
    /// HTTP, which it can show, naming the port it wants; a Status frame would be noise to it.
    mutating func refuseHTTP<C: Clock>(_ rpc: inout RPCDispatcher<C>, _ sink: inout ReplySink) {
        let http = rpc.configuration.httpAddress.map { "at http://\($0)/" } ?? "not enabled on this server (--http-address)"
        let message = "this is the frames port of topology-server: length-prefixed protobuf Frames (runtime.v1.Frame) and gRPC, "
            + "not HTTP/1.1; the dashboard and the HTTP API are \(http) (docs/operations.md)"
        rpc.log.warning("protocol error", ["peer": callState.peer, "code": StatusCode.invalidArgument.description, "error": message])
        rpc.metrics.frameError(.invalidArgument)
        HTTPResponse.text(.badRequest, message).serialize(into: &sink.outbound, keepAlive: false, headOnly: false)
        sink.close()
        state = .closed
    }

    /// The bytes received and not taken as frames, handed over: what a `GRPCSession` starts from.
    public mutating func takeBufferedBytes() -> [UInt8] {
        decoder.takeBufferedBytes()
    }

    /// The peer ended the stream: throws if it ended inside a frame.
    public func finish() throws {
        try decoder.finish()
    }
}
