import TopologyWire

/// A watcher: its filter and its buffer of updates (see docs/state-machine.md, Updates and
/// watchers, for the buffer's rules).
struct WatcherRecord {
    var inUse = false
    var generation: UInt32 = 0
    var filter = QueryFilter(nil)
    var queue = UpdateQueue()
    var pendingSnapshot: PendingSnapshot? = nil
    var lastQueuedMs: Int64 = 0
    var progressScheduledAt: Int64 = .max
    var ready = false
    var coalesceCount = 0
    var resyncCount = 0
    /// When its last SNAPSHOT, the first or a resync, was queued (nil: never).
    var lastSnapshotMs: Int64? = nil
    /// The buffer is coalesced when it reaches max(limit, this). Raised to twice what a coalesced
    /// buffer kept when a recent resync forbade another, so every coalescing pass has as many new
    /// updates to pay for it (amortized O(1)); back to 0 when the watcher has taken everything.
    var coalesceAt = 0
}

/// The bounds of a watcher's buffer (from the configuration).
struct WatchBufferPolicy {
    var limit: Int
    var resyncIntervalMs: Int64
}

extension WatcherRecord {
    init(generation: UInt32) {
        self.init()
        self.generation = generation
    }

    struct EnqueueOutcome {
        /// The watcher was not in the ready list: the caller adds it.
        var becameReady = false
        /// Its buffer overflowed and was replaced by a pending resync SNAPSHOT.
        var resynced = false
    }

    /// Queues `entry` if this (live) watcher's filter concerns it.
    @inline(__always)
    mutating func offer(_ entry: HistoryEntry, now: Int64, policy: WatchBufferPolicy) -> EnqueueOutcome {
        guard inUse, let update = filter.translate(entry) else { return EnqueueOutcome() }
        return enqueue(update, now: now, policy: policy)
    }

    /// Queues one update, coalescing when the buffer is full and falling back to a resync SNAPSHOT
    /// when coalescing does not bring it down to half the limit, unless the watcher's last SNAPSHOT
    /// (its first, or a resync) was queued less than `resyncIntervalMs` ago: then the coalesced
    /// buffer is kept, however long (at most two updates per node and edge it covers).
    ///
    /// Inlined into the fan-out loop (it runs for every watcher on every update); the rare overflow
    /// is a call of its own.
    @inline(__always)
    mutating func enqueue(_ update: QueuedUpdate, now: Int64, policy: WatchBufferPolicy) -> EnqueueOutcome {
        var outcome = EnqueueOutcome()
        lastQueuedMs = now
        if !ready {
            ready = true
            outcome.becameReady = true
        }
        // A pending SNAPSHOT is built when taken, so it already includes this update.
        if pendingSnapshot != nil { return outcome }
        // `coalesceAt` only matters past the limit, so it is read only then.
        if queue.count >= max(1, policy.limit) && queue.count >= coalesceAt, overflow(now: now, policy: policy) {
            outcome.resynced = true
            return outcome
        }
        queue.append(update)
        return outcome
    }

    /// A buffer this many times the limit is not coalesced: a pass over it would hold the loop
    /// (about a microsecond an update: 8,192 of them, some 8 ms; a watcher of a million nodes that
    /// coalesced without this bound held it 300 to 660 ms a pass). It waits for its resync.
    static let coalesceCeiling = 8

    /// The buffer is full: coalesces it, or replaces it by a resync SNAPSHOT (returns true then).
    @inline(never)
    mutating func overflow(now: Int64, policy: WatchBufferPolicy) -> Bool {
        let limit = max(1, policy.limit)
        if queue.count >= limit * WatcherRecord.coalesceCeiling {
            if let last = lastSnapshotMs, now - last < policy.resyncIntervalMs {
                coalesceAt = queue.count + limit  // look again `limit` updates later
                return false
            }
            return resync(now: now)
        }
        let coalesced = Topology.coalesce(queue.elements)
        coalesceCount += 1
        coalesceAt = 0
        if coalesced.count > limit / 2 {
            if let last = lastSnapshotMs, now - last < policy.resyncIntervalMs {
                coalesceAt = 2 * coalesced.count
            } else {
                return resync(now: now)
            }
        }
        queue.replace(with: coalesced)
        return false
    }

    /// Drops the buffer for a resync SNAPSHOT. Returns true.
    mutating func resync(now: Int64) -> Bool {
        queue.removeAll()
        pendingSnapshot = .resync
        resyncCount += 1
        lastSnapshotMs = now
        coalesceAt = 0
        return true
    }
}

/// A FIFO with an amortized O(1) pop from the front.
struct UpdateQueue {
    private var items: [QueuedUpdate] = []
    private var head = 0

    var count: Int { items.count - head }
    var isEmpty: Bool { count == 0 }

    mutating func append(_ update: QueuedUpdate) { items.append(update) }

    mutating func popFirst() -> QueuedUpdate? {
        guard head < items.count else { return nil }
        let update = items[head]
        items[head].entry = nil
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return update
    }

    mutating func removeAll() {
        items = []
        head = 0
    }

    var elements: ArraySlice<QueuedUpdate> { items[head...] }

    mutating func replace(with updates: [QueuedUpdate]) {
        items = updates
        head = 0
    }
}
