import TopologyCore
import TopologyProtocol
import TopologyWire

/// One client connection: its socket, its protocol session (decoder and calls), and its outbound
/// queue.
///
/// Replies produced during one wake-up are appended to `outbound` and written together at the end of
/// it (one `send` per connection per wake-up in the common case).
final class Connection: OutboundQueue {
    let id: UInt64
    let fd: Int32
    let peer: String
    let acceptedAtMs: Int64
    /// The frames protocol on this connection: what its bytes mean and what they are answered with.
    var session: FrameSession
    /// Set once the connection opened with the HTTP/2 preface: gRPC speaks for it from then on.
    var grpc: GRPCSession?
    /// Bytes read for `grpc` and not yet handed to it.
    var grpcInput: [UInt8] = []
    /// When the frame now partly in the session began to arrive (nil: none is), for
    /// `--frame-timeout-ms`.
    var partialFrameSinceMs: Int64?
    var ahead = QueuedSegments()
    var outbound: [UInt8] = []
    var writeIndex = 0
    /// `pendingBytes` as the server's total last counted it (at the last flush).
    var countedPendingBytes = 0
    var waitingForWritable = false
    /// A reply is being encoded off the loop (`ReplyEncoder`): not read until it is queued.
    var awaitingEncodedReply: Bool { session.state == .awaitingEncodedReply }
    /// Not read for now: a reply is being encoded off the loop, or the client has more than
    /// `--max-outbound-bytes` of replies to read first (`FrameSession.State.awaitingDrain`).
    var readPaused: Bool { session.state == .awaitingEncodedReply || session.state == .awaitingDrain }
    /// Paused with everything the client sent read and handled. The loop still listens for input
    /// then, not to read it but to learn that some arrived: from then on the connection holds the
    /// input horizon until it is read again. So a client that waits for its GetTopology holds no
    /// one's liveness deadlines while the reply is encoded; one with heartbeats queued behind it does.
    var listensWhilePaused = false
    /// No more reading; close once `outbound` is written (or at `closeDeadlineMs`).
    var closing = false
    var closeDeadlineMs: Int64 = .max
    /// Watchers on this connection that still have updates in the core but were not taken because
    /// `outbound` was at its watch bound; retried when the connection drains.
    var blockedWatchers: Set<WatcherID> = []
    /// The most bytes one delivery of watch updates appended (it may overshoot the watch bound).
    var largestWatchBatchBytes = 0
    /// Registered in the server's list of connections to flush this wake-up.
    var scheduledForFlush = false
    /// When a write last took bytes off `outbound` (or nothing was queued): a connection with
    /// watches, or paused for its replies to drain, and no progress for long is one whose client
    /// stopped reading.
    var lastWriteProgressMs: Int64
    /// The deadline of the check of a connection paused for its queue to drain
    /// (`Server.runDrainChecks`), while one is set.
    var drainCheckMs: Int64?

    /// `tableSeed`: random bits for the call table's hash (see `FlatTable`).
    init(id: UInt64, fd: Int32, peer: String, acceptedAtMs: Int64, maxFrameBytes: Int, tableSeed: (UInt64, UInt64),
         requiresAuthentication: Bool) {
        self.id = id
        self.fd = fd
        self.peer = peer
        self.acceptedAtMs = acceptedAtMs
        self.lastWriteProgressMs = acceptedAtMs
        self.session = FrameSession(callState: CallState(peer: peer, tableSeed: tableSeed, requiresAuthentication: requiresAuthentication),
                                    maxFrameBytes: maxFrameBytes)
    }

    /// The dispatcher's state of this connection's calls, in whichever session speaks for it.
    var callState: CallState {
        get { grpc?.callState ?? session.callState }
        _modify {
            if grpc != nil {
                yield &grpc!.callState
            } else {
                yield &session.callState
            }
        }
    }

    /// Bytes read from the socket, for the session that speaks for the connection.
    func receive(_ bytes: UnsafeRawBufferPointer) {
        if grpc != nil {
            grpcInput.append(contentsOf: bytes)
        } else {
            session.append(bytes)
        }
    }

    /// What a watcher on call `callID` has waiting to be written: the queue, and for gRPC the
    /// call's DATA waiting for the client's flow-control window.
    func watchBacklog(callID: UInt64) -> Int {
        pendingBytes + (grpc?.queuedBytes(callID: callID) ?? 0)
    }

    func append(_ frame: Frame) {
        frame.encodeLengthPrefixed(appendingTo: &outbound)
    }

    /// Appends the frame (or, for gRPC, the message) that carries an encoded WatchTopologyResponse
    /// on call `callID`.
    func appendWatchResponse(callID: UInt64, encoded response: [UInt8]) {
        if grpc != nil {
            grpc!.sendWatchResponse(callID: callID, encoded: response, to: &outbound)
        } else {
            Connection.appendWatchResponse(callID: callID, encoded: response, to: &outbound)
        }
    }

    static func appendWatchResponse(callID: UInt64, encoded response: [UInt8], to buffer: inout [UInt8]) {
        response.withUnsafeBytes { response in
            PreencodedFrame.append(
                callId: callID, memberField: Frame.watchTopologyResponseField, head: UnsafeRawBufferPointer(start: nil, count: 0),
                tail: response, to: &buffer)
        }
    }
}
