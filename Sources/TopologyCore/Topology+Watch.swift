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
        let (slot, fresh) = watchers.claimSlot(reusing: &freeWatchers, freshGeneration: freshWatcherGeneration)
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

    /// The fewest watcher slots whose storage `releaseIdleWatcherSlots` leaves alone.
    static let keptWatcherSlots = 64

    /// Gives back the watcher slots freed at the end of the slot array once they are three quarters
    /// of it. The slots stay when their watchers go: after 5,000 watchers had come and gone, the
    /// array held 1.25 MB (heaptrack), and every update published still visited all 5,000 slots.
    /// For a periodic caller (the server's once-a-second sweep): it costs one comparison unless most
    /// slots are free, then a scan of the free slots at the end. Returns whether it released any.
    public mutating func releaseIdleWatcherSlots() -> Bool {
        guard liveWatcherCount * 4 <= watchers.capacity else { return false }
        return watchers.releaseFreeTail(free: &freeWatchers, freshGeneration: &freshWatcherGeneration,
                                        minimumCapacity: Topology.keptWatcherSlots)
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

    /// A watcher's pending SNAPSHOT, taken unbuilt in O(nodes / 1,024), for a caller that builds it
    /// off the loop; the watcher's next updates are the ones after it. nil when none is pending.
    public mutating func takePendingSnapshot(for id: WatcherID) -> UnbuiltSnapshot? {
        guard let slot = liveWatcherSlot(id), let kind = watchers[Int(slot)].pendingSnapshot else { return nil }
        watchers[Int(slot)].pendingSnapshot = nil
        return UnbuiltSnapshot(source: snapshotSource(watchers[Int(slot)].filter, now: lastObservedMs), resync: kind == .resync)
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

    /// What `snapshot(for:now:)` would be built from, taken in O(nodes / 1,024): its `build()` may
    /// run on another thread while the core goes on (a GetTopology of a million services is not
    /// built on the loop).
    public func snapshotSource(for query: TopologyQuery, now: Int64) -> SnapshotSource {
        snapshotSource(QueryFilter(query), now: now)
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
        snapshotSource(filter, now: now).build()
    }

    func snapshotSource(_ filter: QueryFilter, now: Int64) -> SnapshotSource {
        SnapshotSource(nodes: nodes, nodeBeats: nodeBeats, edges: edges, filter: filter, timestampMs: now, revision: revision, serverEpoch: serverEpoch,
                       liveNodes: nodeIndex.count, publishedEdges: publishedEdgeCount)
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
            case .refresh(let refresh): if let entry = materialize(refresh) { result.append(entry) }
            }
        }
        return result
    }

    /// A kept refresh as the update it stands for: the node as it is now, with the fields the
    /// refresh carried. nil when the node has been removed since.
    func materialize(_ refresh: RefreshRecord) -> HistoryEntry? {
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
        keep(.refresh(refreshRecord(of: index)))
    }

    /// A refresh some watcher takes: published to the watchers, kept in the history as a refresh no
    /// watcher takes is (`HistoryRecord`).
    mutating func publishRefresh(of index: Int, now: Int64) {
        revision += 1
        // Name, state and metadata never wait for the throttle, so the view is unchanged.
        let view = FilterView(nodes[index].wire)
        let entry = HistoryEntry(
            update: TopologyUpdate(type: .nodeUpdated, node: wireNode(index), revision: revision), before: view, after: view)
        keep(.refresh(refreshRecord(of: index)))
        fanOut(entry, now: now)
    }

    /// The node's refresh at the current revision.
    func refreshRecord(of index: Int) -> RefreshRecord {
        RefreshRecord(
            slot: Int32(index), generation: nodes[index].generation, revision: revision, state: nodes[index].wire.state,
            health: nodes[index].wire.health, lastHeartbeatMs: nodeBeats[index].lastHeartbeatMs,
            lastActivityMs: nodeBeats[index].lastActivityMs, metrics: nodeBeats[index].metrics,
            healthDetail: nodes[index].wire.healthDetail)
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
        fanOut(entry, now: now)
    }

    /// Queues a published `entry` for every watcher it concerns.
    mutating func fanOut(_ entry: HistoryEntry, now: Int64) {
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
