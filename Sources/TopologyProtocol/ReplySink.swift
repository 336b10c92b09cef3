import TopologyCore
import TopologyWire

/// What only the server can do for a connection, asked for by the protocol logic.
public enum FrameAction: Equatable {
    /// The byte stream cannot be trusted any more: a Status frame on call 0 is queued already.
    /// Read no more, write what is queued, then close.
    case close
    /// A watch opened on call `callID`: deliver the watcher's updates there.
    case watchOpened(WatcherID, callID: UInt64)
    /// A watch ended (the core has forgotten it): deliver no more.
    case watchClosed(WatcherID)
    /// A reply too large to build and encode on the loop: build and encode it elsewhere and queue
    /// its bytes; read the connection no more until then, so its replies keep the order of its
    /// requests.
    case encodeOffLoop(SnapshotReply)
}

/// Where the answers to one connection's input go while it is handled: reply bytes are appended to
/// the connection's outbound queue (`outbound`, moved in and back by the server), and what only the
/// server can do is listed in `actions`, in order.
///
///     outbound: [ written | pending ..................... ]
///               0         written                         count
public struct ReplySink {
    public var outbound: [UInt8]
    /// Bytes at the front of `outbound` written already: they do not count against the client.
    public let written: Int
    /// Bytes the server queued ahead of `outbound` (large replies), not yet written: they count.
    public let queuedAhead: Int
    /// Queued bytes allowed beyond `--max-outbound-bytes`: one batch of watch updates may
    /// overshoot the watch bound by that much.
    public let watchBatchAllowance: Int
    public private(set) var actions: [FrameAction] = []
    /// A protocol error closed the connection (or it was closing already): nothing more is queued.
    public private(set) var closing: Bool
    /// A reply is being encoded elsewhere: take no more input until it is queued.
    public private(set) var awaitingEncodedReply = false

    public init(outbound: [UInt8], written: Int, queuedAhead: Int = 0, watchBatchAllowance: Int, closing: Bool = false) {
        self.outbound = outbound
        self.written = written
        self.queuedAhead = queuedAhead
        self.watchBatchAllowance = watchBatchAllowance
        self.closing = closing
    }

    /// Bytes queued and not yet written.
    public var pendingBytes: Int { queuedAhead + outbound.count - written }

    mutating func append(_ frame: Frame) {
        frame.encodeLengthPrefixed(appendingTo: &outbound)
    }

    mutating func close() {
        closing = true
        actions.append(.close)
    }

    mutating func watchOpened(_ watcher: WatcherID, callID: UInt64) {
        actions.append(.watchOpened(watcher, callID: callID))
    }

    mutating func watchClosed(_ watcher: WatcherID) {
        actions.append(.watchClosed(watcher))
    }

    /// Removes the actions listed since `mark` and hands them over (a session that carries some out
    /// itself, or in its own way, puts the others back).
    mutating func takeActions(from mark: Int) -> [FrameAction] {
        defer { actions.removeSubrange(mark...) }
        return Array(actions[mark...])
    }

    mutating func readd(_ action: FrameAction) {
        actions.append(action)
    }

    mutating func encodeOffLoop(_ reply: SnapshotReply) {
        awaitingEncodedReply = true
        actions.append(.encodeOffLoop(reply))
    }
}
