import TopologyWire

/// Names one watch subscription of a `Topology`.
public struct WatcherID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    var slot: Int32 { Int32(truncatingIfNeeded: rawValue & 0xFFFF_FFFF) }
    var generation: UInt32 { UInt32(truncatingIfNeeded: rawValue >> 32) }

    init(slot: Int32, generation: UInt32) {
        rawValue = UInt64(generation) << 32 | UInt64(UInt32(bitPattern: slot))
    }

    public var description: String { "watcher-\(rawValue)" }
}

/// A TopologyQuery prepared for matching. Empty lists match everything; within a list any value
/// matches, across lists all must; label selectors must all match. `states` selects nodes only;
/// edges are selected by their source's name, metadata and labels (so a state change never adds
/// or removes edges for a watcher).
struct QueryFilter {
    var names: Set<String>
    var states: Set<ServiceState>
    var environments: Set<String>
    var teams: Set<String>
    var regions: Set<String>
    var labelSelectors: [LabelSelector]
    let matchesEverything: Bool
    let identityMatchesEverything: Bool

    init(_ query: TopologyQuery?) {
        let query = query ?? TopologyQuery()
        names = Set(query.serviceNames)
        states = Set(query.states)
        environments = Set(query.environments)
        teams = Set(query.teams)
        regions = Set(query.regions)
        labelSelectors = query.labelSelectors.map(LabelSelector.init)
        identityMatchesEverything = names.isEmpty && environments.isEmpty && teams.isEmpty && regions.isEmpty
            && labelSelectors.isEmpty
        matchesEverything = identityMatchesEverything && states.isEmpty
    }

    func matchesIdentity(_ view: FilterView) -> Bool {
        if identityMatchesEverything { return true }
        if !names.isEmpty && !names.contains(view.name) { return false }
        if !environments.isEmpty && !(view.environment.map(environments.contains) ?? false) { return false }
        if !teams.isEmpty && !(view.team.map(teams.contains) ?? false) { return false }
        if !regions.isEmpty && !(view.region.map(regions.contains) ?? false) { return false }
        return labelSelectors.allSatisfy { $0.matches(view.labels) }
    }

    func matchesNode(_ view: FilterView) -> Bool {
        if matchesEverything { return true }
        return matchesState(view.state) && matchesIdentity(view)
    }

    func matchesState(_ state: ServiceState) -> Bool { states.isEmpty || states.contains(state) }

    /// The update as this watcher must see it, or nil if it does not concern it. An update that
    /// moves a node (or an edge's source) into or out of the filter becomes an ADDED or REMOVED.
    func translate(_ entry: HistoryEntry) -> QueuedUpdate? {
        if matchesEverything { return QueuedUpdate(entry: entry, type: entry.update.type, revision: entry.update.revision) }
        let isEdge = entry.update.edge != nil
        let was = entry.before.map { isEdge ? matchesIdentity($0) : matchesNode($0) } ?? false
        let isNow = entry.after.map { isEdge ? matchesIdentity($0) : matchesNode($0) } ?? false
        let type: UpdateType
        switch (was, isNow) {
        case (false, false): return nil
        case (true, true): type = entry.update.type
        case (false, true): type = isEdge ? .edgeAdded : .nodeAdded
        case (true, false): type = isEdge ? .edgeRemoved : .nodeRemoved
        }
        return QueuedUpdate(entry: entry, type: type, revision: entry.update.revision)
    }
}

enum PendingSnapshot {
    case initial
    case resync
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

/// Per-watcher statistics, for the server's metrics.
public struct WatcherStatistics: Equatable, Sendable {
    /// Updates waiting (a pending SNAPSHOT counts as one).
    public var pendingUpdates: Int
    /// Times the buffer filled and was coalesced.
    public var coalesceCount: Int
    /// Times the buffer was replaced by a resync SNAPSHOT.
    public var resyncCount: Int
}

/// What the watchers of one delivery round share: a SNAPSHOT of the whole topology, built once for
/// every watcher whose filter takes everything. Valid while the topology does not change: a server
/// makes a new one for each round. (Should the revision or the clock have moved since it was filled,
/// it empties itself.)
public struct WatchRoundCache {
    var fullSnapshot: TopologySnapshot?
    private var filledAt: (revision: UInt64, now: Int64)?

    public init() {}

    mutating func invalidateIfChanged(revision: UInt64, now: Int64) {
        if let filledAt, filledAt != (revision, now) {
            fullSnapshot = nil
        }
        filledAt = (revision, now)
    }
}

/// An update as a watcher takes it, with what lets an encoder share work across watchers.
public struct TakenUpdate {
    public var update: TopologyUpdate
    /// The update exactly as published (its own type, not coalesced): every watcher that takes it
    /// gets the same fields, so one encoding serves all (keyed by `update.revision`).
    public var asPublished: Bool
    /// A SNAPSHOT of the whole topology: every watcher that takes one this round gets the same
    /// (keyed by `update.resync`).
    public var wholeTopology: Bool
}

let watcherTimerBit: UInt32 = 0x8000_0000

extension Topology {
    // MARK: Public watch API

    /// Opens a watch. The first update it yields is a SNAPSHOT (built when first taken, consistent
    /// with the revision it carries), or, when `request` resumes from a revision still in the
    /// history (same server epoch), the updates after it; a resume that cannot be served starts with
    /// a SNAPSHOT marked `resync`.
    public mutating func watch(_ request: WatchTopologyRequest, now: Int64) throws(TopologyError) -> WatcherID {
        let now = observe(now)
        guard liveWatcherCount < configuration.maxWatchers else {
            throw .resourceExhausted(limit: "maxWatchers", value: configuration.maxWatchers)
        }
        if let query = request.query { try validate(query) }
        let (slot, fresh) = watchers.claimSlot(reusing: &freeWatchers)
        var record = fresh
        let generation = record.generation
        record.filter = QueryFilter(request.query)
        record.lastQueuedMs = now
        watchers[Int(slot)] = record
        liveWatcherCount += 1
        let id = WatcherID(slot: slot, generation: generation)

        if let after = request.resumeAfterRevision {
            if request.resumeServerEpoch == serverEpoch, let entries = historyEntries(after: after) {
                for entry in entries {
                    if let update = watchers[Int(slot)].filter.translate(entry) {
                        enqueue(update, forSlot: slot, now: now)
                    }
                }
            } else {
                watchers[Int(slot)].pendingSnapshot = .resync
                watchers[Int(slot)].lastSnapshotMs = now
            }
        } else {
            watchers[Int(slot)].pendingSnapshot = .initial
            watchers[Int(slot)].lastSnapshotMs = now
        }
        markReady(slot)
        scheduleProgress(slot, now: now)
        return id
    }

    /// Closes a watch and frees its buffer. Unknown or already ended ids are ignored.
    public mutating func endWatch(_ id: WatcherID) {
        guard let slot = liveWatcherSlot(id) else { return }
        watchers[Int(slot)] = WatcherRecord(generation: watchers[Int(slot)].generation &+ 1)
        freeWatchers.append(slot)
        liveWatcherCount -= 1
    }

    /// Pops up to `max` pending updates for `id`, oldest first (empty for an unknown id).
    public mutating func takeUpdates(for id: WatcherID, max: Int) -> [TopologyUpdate] {
        var cache = WatchRoundCache()
        return takeUpdates(for: id, max: max, cache: &cache)
    }

    /// `takeUpdates(for:max:)`, with a SNAPSHOT of the whole topology built once per `cache` for
    /// all the watchers whose filter takes everything.
    public mutating func takeUpdates(for id: WatcherID, max: Int, cache: inout WatchRoundCache) -> [TopologyUpdate] {
        var result: [TopologyUpdate] = []
        takeUpdates(for: id, max: max, cache: &cache) { result.append($0.update) }
        return result
    }

    /// Pops up to `max` pending updates for `id`, oldest first, handing each to `body` with what
    /// watchers share: whether it is as published (then its encoding can serve every watcher that
    /// takes it) or a SNAPSHOT of the whole topology (built once per `cache`).
    public mutating func takeUpdates(for id: WatcherID, max: Int, cache: inout WatchRoundCache, _ body: (TakenUpdate) -> Void) {
        guard let slot = liveWatcherSlot(id), max > 0 else { return }
        cache.invalidateIfChanged(revision: revision, now: lastObservedMs)
        var taken = 0
        if let kind = watchers[Int(slot)].pendingSnapshot {
            watchers[Int(slot)].pendingSnapshot = nil
            let filter = watchers[Int(slot)].filter
            let snapshot: TopologySnapshot
            if filter.matchesEverything, let shared = cache.fullSnapshot {
                snapshot = shared
            } else {
                snapshot = buildSnapshot(filter, now: lastObservedMs)
                if filter.matchesEverything { cache.fullSnapshot = snapshot }
            }
            body(TakenUpdate(update: TopologyUpdate(type: .snapshot, snapshot: snapshot, revision: revision, resync: kind == .resync),
                             asPublished: false, wholeTopology: filter.matchesEverything))
            taken += 1
        }
        while taken < max, let update = popQueued(slot) {
            let asPublished = update.entry.map { update.type == $0.update.type && !update.coalesced } ?? false
            body(TakenUpdate(update: update.materialized, asPublished: asPublished, wholeTopology: false))
            taken += 1
        }
    }

    /// Whether the next update this watcher takes is a SNAPSHOT, and whether its filter takes the
    /// whole topology (then every such watcher gets the same snapshot in one round). nil: no
    /// snapshot is pending, or no such watcher.
    public func pendingSnapshot(for id: WatcherID) -> (wholeTopology: Bool, resync: Bool)? {
        guard let slot = liveWatcherSlot(id), let kind = watchers[Int(slot)].pendingSnapshot else { return nil }
        return (watchers[Int(slot)].filter.matchesEverything, kind == .resync)
    }

    /// The oldest update in a watcher's buffer; once the buffer is empty, coalescing is back at the
    /// limit.
    mutating func popQueued(_ slot: Int32) -> QueuedUpdate? {
        let update = watchers[Int(slot)].queue.popFirst()
        if watchers[Int(slot)].queue.isEmpty { watchers[Int(slot)].coalesceAt = 0 }
        return update
    }

    /// Watchers that got pending updates since the last call, each once, in the order they did.
    public mutating func takeReadyWatchers() -> [WatcherID] {
        let ready = readyWatchers
        readyWatchers = []
        for id in ready {
            if let slot = liveWatcherSlot(id) { watchers[Int(slot)].ready = false }
        }
        return ready.filter { liveWatcherSlot($0) != nil }
    }

    /// Some watcher got updates since the last `takeReadyWatchers()`.
    public var hasReadyWatchers: Bool { !readyWatchers.isEmpty }

    /// Updates waiting for `id` (a pending SNAPSHOT counts as one); 0 for an unknown id.
    public func pendingUpdateCount(for id: WatcherID) -> Int {
        guard let slot = liveWatcherSlot(id) else { return 0 }
        let record = watchers[Int(slot)]
        return record.queue.count + (record.pendingSnapshot == nil ? 0 : 1)
    }

    public func statistics(for id: WatcherID) -> WatcherStatistics? {
        guard let slot = liveWatcherSlot(id) else { return nil }
        let record = watchers[Int(slot)]
        return WatcherStatistics(
            pendingUpdates: record.queue.count + (record.pendingSnapshot == nil ? 0 : 1),
            coalesceCount: record.coalesceCount, resyncCount: record.resyncCount)
    }

    /// A snapshot of the nodes matching `query` and the published edges from nodes matching its
    /// name, metadata and label filters. Callers answering a client check the query with
    /// `validate(_:)` first (`watch` does so itself).
    public func snapshot(for query: TopologyQuery, now: Int64) -> TopologySnapshot {
        buildSnapshot(QueryFilter(query), now: now)
    }

    // MARK: Internals

    func liveWatcherSlot(_ id: WatcherID) -> Int32? {
        let slot = id.slot
        guard slot >= 0, Int(slot) < watchers.count else { return nil }
        let record = watchers[Int(slot)]
        guard record.inUse, record.generation == id.generation else { return nil }
        return slot
    }

    func buildSnapshot(_ filter: QueryFilter, now: Int64) -> TopologySnapshot {
        var snapshot = TopologySnapshot(timestampMs: now, revision: revision, serverEpoch: serverEpoch)
        snapshot.nodes.reserveCapacity(filter.matchesEverything ? nodeIndex.count : 16)
        // Index access, not `for node in nodes`: that would copy (and retain) whole records.
        for index in nodes.indices where nodes[index].inUse {
            if filter.matchesEverything || filter.matchesNode(FilterView(nodes[index].wire)) {
                snapshot.nodes.append(nodes[index].wire)
            }
        }
        snapshot.edges.reserveCapacity(filter.matchesEverything ? publishedEdgeCount : 16)
        for index in edges.indices where edges[index].inUse && edges[index].published != nil {
            if filter.identityMatchesEverything || filter.matchesIdentity(FilterView(nodes[Int(edges[index].source)].wire)) {
                snapshot.edges.append(edges[index].published!)
            }
        }
        return snapshot
    }

    /// Whether the core serves `query`: `.invalidArgument` for too many or too long values, or a
    /// label selector without a key.
    public func validate(_ query: TopologyQuery) throws(TopologyError) {
        for (field, values) in [
            ("service_names", query.serviceNames), ("environments", query.environments),
            ("teams", query.teams), ("regions", query.regions), ("label_selectors", query.labelSelectors),
        ] {
            if values.count > 10_000 {
                throw .invalidArgument(field: "query.\(field)", reason: "at most 10000 values")
            }
            for value in values where value.utf8.count > configuration.maxStringBytes {
                throw .invalidArgument(
                    field: "query.\(field)", reason: "a value is longer than \(configuration.maxStringBytes) bytes")
            }
        }
        for text in query.labelSelectors where LabelSelector(text).key.isEmpty {
            throw .invalidArgument(
                field: "query.label_selectors",
                reason: "'\(text.prefix(64))' has no key; write key=value (that value) or key (any value)")
        }
    }

    /// Entries with revision > `after`, or nil if the history no longer holds all of them.
    func historyEntries(after: UInt64) -> [HistoryEntry]? {
        guard after <= revision else { return nil }
        if after == revision { return [] }
        let oldest = revision - UInt64(history.count) + 1  // revision of the oldest kept entry
        guard after + 1 >= oldest else { return nil }
        let skip = Int(after + 1 - oldest)
        var result: [HistoryEntry] = []
        result.reserveCapacity(history.count - skip)
        for offset in skip..<history.count {
            switch history[(historyHead + offset) % history.count] {
            case .published(let entry): result.append(entry)
            case .untakenRefresh(let refresh): if let entry = materialize(refresh) { result.append(entry) }
            }
        }
        return result
    }

    /// An untaken refresh as the update it stands for: the node as it is now, with the fields the
    /// refresh carried. nil when the node has been removed since.
    func materialize(_ refresh: UntakenRefresh) -> HistoryEntry? {
        let index = Int(refresh.slot)
        guard nodes[index].inUse, nodes[index].generation == refresh.generation else { return nil }
        var node = nodes[index].wire
        node.state = refresh.state
        node.health = refresh.health
        node.lastHeartbeatMs = refresh.lastHeartbeatMs
        node.lastActivityMs = refresh.lastActivityMs
        node.metrics = refresh.metrics
        node.healthDetail = refresh.healthDetail
        let view = FilterView(node)
        return HistoryEntry(update: TopologyUpdate(type: .nodeUpdated, node: node, revision: refresh.revision), before: view, after: view)
    }

    /// Keeps `record` for resume, the oldest going once the history is full.
    mutating func keep(_ record: HistoryRecord) {
        guard configuration.historyLimit > 0 else { return }
        if history.count < configuration.historyLimit {
            history.append(record)
        } else {
            history[historyHead] = record
            historyHead = (historyHead + 1) % history.count
        }
    }

    /// Whether some watcher's filter takes a NODE_UPDATED of this node that leaves its state and
    /// identity as they are (a throttled refresh).
    /// Runs for every due refresh, so it reads the node's fields in place: a copy of the node (to
    /// build its filter view) costs a retain of each of its strings, the view only when a watcher
    /// filters by more than state.
    func someWatcherTakesRefresh(of index: Int) -> Bool {
        guard liveWatcherCount > 0 else { return false }
        var view: FilterView?
        for slot in watchers.indices where watchers[slot].inUse {
            if watchers[slot].filter.matchesEverything { return true }
            guard watchers[slot].filter.matchesState(nodes[index].wire.state) else { continue }
            if watchers[slot].filter.identityMatchesEverything { return true }
            if view == nil { view = FilterView(nodes[index].wire) }
            if watchers[slot].filter.matchesIdentity(view!) { return true }
        }
        return false
    }

    /// A refresh no watcher takes: it gets a revision and a place in the history, and nothing else.
    mutating func keepUntakenRefresh(of index: Int) {
        revision += 1
        fanOutWork += Topology.untakenRefreshCost + watchers.count
        keep(.untakenRefresh(UntakenRefresh(
            slot: Int32(index), generation: nodes[index].generation, revision: revision, state: nodes[index].wire.state,
            health: nodes[index].wire.health, lastHeartbeatMs: nodes[index].wire.lastHeartbeatMs,
            lastActivityMs: nodes[index].wire.lastActivityMs, metrics: nodes[index].wire.metrics,
            healthDetail: nodes[index].wire.healthDetail)))
    }

    /// Stamps `update` with the next revision, keeps it for resume and queues it for every watcher
    /// it concerns.
    mutating func publish(
        _ type: UpdateType, node: ServiceNode? = nil, edge: ServiceEdge? = nil, before: FilterView?, after: FilterView?,
        now: Int64
    ) {
        revision += 1
        let entry = HistoryEntry(
            update: TopologyUpdate(type: type, node: node, edge: edge, revision: revision), before: before, after: after)
        keep(.published(entry))
        fanOutWork += Topology.publishCost
        guard liveWatcherCount > 0 else { return }
        fanOutWork += watchers.count
        let policy = bufferPolicy
        for index in watchers.indices {
            // One in-place access per watcher: the fan-out is the hot loop with many watchers.
            let outcome = watchers[index].offer(entry, now: now, policy: policy)
            if outcome.becameReady || outcome.resynced { record(outcome, slot: Int32(index)) }
        }
    }

    mutating func markReady(_ slot: Int32) {
        if !watchers[Int(slot)].ready {
            watchers[Int(slot)].ready = true
            readyWatchers.append(WatcherID(slot: slot, generation: watchers[Int(slot)].generation))
        }
    }

    /// Queues one update for a watcher, coalescing when its buffer is full and falling back to a
    /// resync SNAPSHOT when coalescing does not free at least half of it.
    mutating func enqueue(_ update: QueuedUpdate, forSlot slot: Int32, now: Int64) {
        let outcome = watchers[Int(slot)].enqueue(update, now: now, policy: bufferPolicy)
        record(outcome, slot: slot)
    }

    var bufferPolicy: WatchBufferPolicy {
        WatchBufferPolicy(limit: configuration.watchBufferLimit, resyncIntervalMs: configuration.resyncIntervalMs)
    }

    mutating func record(_ outcome: WatcherRecord.EnqueueOutcome, slot: Int32) {
        if outcome.becameReady {
            readyWatchers.append(WatcherID(slot: slot, generation: watchers[Int(slot)].generation))
        }
        if outcome.resynced {
            pendingEvents.append(.watcherResynced(WatcherID(slot: slot, generation: watchers[Int(slot)].generation)))
        }
    }

    mutating func scheduleProgress(_ slot: Int32, now: Int64) {
        let record = watchers[Int(slot)]
        var due = record.lastQueuedMs + configuration.progressIntervalMs
        if due <= now { due = now + configuration.progressIntervalMs }
        if due < record.progressScheduledAt {
            watchers[Int(slot)].progressScheduledAt = due
            realTimers.push(TimerEntry(time: due, ref: UInt32(slot) | watcherTimerBit, generation: record.generation))
        }
    }

    /// A watcher's progress timer fired.
    mutating func fireProgress(_ entry: TimerEntry, now: Int64) {
        let slot = Int32(entry.ref & ~watcherTimerBit)
        guard Int(slot) < watchers.count else { return }
        let record = watchers[Int(slot)]
        guard record.inUse, record.generation == entry.generation, record.progressScheduledAt == entry.time else { return }
        watchers[Int(slot)].progressScheduledAt = .max
        if now - record.lastQueuedMs >= configuration.progressIntervalMs
            && record.queue.isEmpty && record.pendingSnapshot == nil
        {
            enqueue(QueuedUpdate(entry: nil, type: .progress, revision: revision), forSlot: slot, now: now)
        }
        scheduleProgress(slot, now: now)
    }
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

    /// The buffer is full: coalesces it, or replaces it by a resync SNAPSHOT (returns true then).
    @inline(never)
    mutating func overflow(now: Int64, policy: WatchBufferPolicy) -> Bool {
        let limit = max(1, policy.limit)
        let coalesced = Topology.coalesce(queue.elements)
        coalesceCount += 1
        coalesceAt = 0
        if coalesced.count > limit / 2 {
            if let last = lastSnapshotMs, now - last < policy.resyncIntervalMs {
                coalesceAt = 2 * coalesced.count
            } else {
                queue.removeAll()
                pendingSnapshot = .resync
                resyncCount += 1
                lastSnapshotMs = now
                return true
            }
        }
        queue.replace(with: coalesced)
        return false
    }
}
