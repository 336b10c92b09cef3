/// A connection's replies waiting for its socket, written from the front. The frames connections
/// (`Connection`) and the HTTP ones (`HTTPConnection`) queue alike; only what they queue differs.
///
///     ahead: [ segment ][ segment ]...  outbound: [ written | pending ............ ]
///                                                 0         writeIndex             count
///
/// Replies are appended to `outbound`. `ahead` holds large encoded replies, and what was queued
/// before them, when they come while bytes are queued: it is written first, and while it holds
/// anything nothing of `outbound` is written (`writeIndex` is 0).
protocol OutboundQueue: AnyObject {
    var fd: Int32 { get }
    var ahead: QueuedSegments { get set }
    var outbound: [UInt8] { get set }
    var writeIndex: Int { get set }
    /// EPOLLOUT is registered: the kernel buffer was full at the last write.
    var waitingForWritable: Bool { get set }
    /// In the server's list of queues to write at the end of this wake-up.
    var scheduledForFlush: Bool { get set }
    /// `pendingBytes` as last counted in the server's total (`Server.countPending`).
    var countedPendingBytes: Int { get set }
}

/// The queues to write at the end of a wake-up, each once, in the order they were scheduled.
struct FlushList<Queue: OutboundQueue> {
    private var queues: [Queue] = []

    var isEmpty: Bool { queues.isEmpty }

    mutating func schedule(_ queue: Queue) {
        guard !queue.scheduledForFlush else { return }
        queue.scheduledForFlush = true
        queues.append(queue)
    }

    /// The queues scheduled so far; the list starts over (a write may schedule again).
    mutating func take() -> [Queue] {
        defer { queues.removeAll(keepingCapacity: true) }
        for queue in queues { queue.scheduledForFlush = false }
        return queues
    }
}

extension OutboundQueue {
    /// Bytes queued and not yet written.
    var pendingBytes: Int { ahead.byteCount + outbound.count - writeIndex }

    /// Appends bytes encoded elsewhere. A large reply is never copied: it goes `ahead`, with what
    /// was queued before it, and stays a segment of its own until written. As the queue's own
    /// buffer it was copied whole by the first reply appended behind it (a watch SNAPSHOT is shared
    /// by the queues of the watchers that took it: 134 MB at a million services) and, half written,
    /// by compaction.
    func append(encoded bytes: [UInt8]) {
        if bytes.count < QueuedSegments.smallestMovedBytes {
            if pendingBytes == 0 {
                outbound = bytes
                writeIndex = 0
            } else {
                outbound.append(contentsOf: bytes)
            }
            return
        }
        if outbound.count > writeIndex {
            ahead.append(outbound[writeIndex...])
            outbound = []
        } else {
            outbound.removeAll(keepingCapacity: true)
        }
        ahead.append(bytes[...])
        writeIndex = 0
    }

    /// Writes what the kernel takes and drops what was written; a large buffer written whole goes
    /// to `release` instead (`QueuedSegments.releasedOffLoopBytes`), for the caller to free off the
    /// loop. Returns true when the need for EPOLLOUT changed (`waitingForWritable` says which
    /// way): the caller re-registers the descriptor. A write error is thrown; the connection is
    /// unusable then.
    func writeQueued(release: (Any) -> Void = { _ in }) throws -> Bool {
        while pendingBytes > 0 {
            if let front = ahead.first {
                guard case .processed(let n) = try front.withUnsafeBytes({ try Sockets.write(fd, $0) }) else { break }
                if let written = ahead.removeFirst(n) { release(written) }
                continue
            }
            let result = try outbound.withUnsafeBytes {
                try Sockets.write(fd, UnsafeRawBufferPointer(rebasing: $0[writeIndex...]))
            }
            guard case .processed(let n) = result else { break }
            writeIndex += n
        }
        compact(release: release)
        let wantWritable = pendingBytes > 0
        guard wantWritable != waitingForWritable else { return false }
        waitingForWritable = wantWritable
        return true
    }

    /// Frees the queue's buffer if nothing is waiting in it (see `Server.releaseIdleBuffers`).
    func releaseIdleCapacity() {
        guard pendingBytes == 0, outbound.capacity > 0 else { return }
        outbound = []
        writeIndex = 0
    }

    /// Drops written bytes once they are the larger part of the buffer; a drained buffer keeps its
    /// capacity unless a large reply grew it, and one of `QueuedSegments.releasedOffLoopBytes` or
    /// more goes to `release`.
    func compact(release: (Any) -> Void = { _ in }) {
        if writeIndex == outbound.count {
            if outbound.capacity >= QueuedSegments.releasedOffLoopBytes {
                release(outbound)
                outbound = []
            } else {
                outbound.removeAll(keepingCapacity: outbound.capacity <= 256 * 1024)
            }
            writeIndex = 0
        } else if writeIndex > 0 && writeIndex >= outbound.count - writeIndex {
            outbound.removeSubrange(0..<writeIndex)
            writeIndex = 0
        }
    }
}
