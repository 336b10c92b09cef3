/// Deadlines of one kind (a connection's first frame, a frame's completion), in the order they were
/// set. Every deadline of a kind is the same fixed time after the moment it is set, so insertion
/// order is deadline order and a FIFO does what a heap would, in O(1). An entry whose condition is
/// gone (the frame arrived, the connection closed) is not searched for: the caller's `isLive` drops
/// it when it reaches the front, or when `compact` runs.
struct DeadlineQueue {
    private var entries: [(connection: UInt64, deadlineMs: Int64)] = []
    private var head = 0

    /// Entries held, live or not.
    var count: Int { entries.count - head }

    mutating func append(connection: UInt64, deadlineMs: Int64) {
        entries.append((connection, deadlineMs))
    }

    /// The earliest live deadline; the dead entries in front of it are dropped.
    mutating func nextDeadline(isLive: (_ connection: UInt64, _ deadlineMs: Int64) -> Bool) -> Int64? {
        while head < entries.count {
            let entry = entries[head]
            if isLive(entry.connection, entry.deadlineMs) { return entry.deadlineMs }
            head += 1
        }
        return nil
    }

    /// Removes the entries due at `now`, live or not, and hands each to `body`.
    mutating func popDue(now: Int64, _ body: (_ connection: UInt64, _ deadlineMs: Int64) -> Void) {
        while head < entries.count, entries[head].deadlineMs <= now {
            let entry = entries[head]
            head += 1
            body(entry.connection, entry.deadlineMs)
        }
        if head > 1024 && head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }

    /// Keeps only the live entries, in order: for a kind whose entries can go stale faster than
    /// their deadlines pass, so the queue stays proportional to what is live.
    mutating func compact(isLive: (_ connection: UInt64, _ deadlineMs: Int64) -> Bool) {
        entries = entries[head...].filter { isLive($0.connection, $0.deadlineMs) }
        head = 0
    }
}
