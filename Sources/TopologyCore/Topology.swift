import TopologyWire

/// The topology core: the per-service timeout state machine, edge aggregation and the watch hub.
///
/// Pure: no clock reads, no I/O, no threads. Every input carries `now` (Unix epoch milliseconds from
/// the caller's monotonic source); `advance(to:)` fires whatever became due; `nextDeadline` says
/// when that is. See docs/state-machine.md for the table of transitions.
///
/// Storage: nodes, edges and watchers live in slot arrays (free lists, a generation per slot) so
/// timers and indexes refer to them by a 4-byte slot; the timers use lazy deletion. Liveness timers
/// (stale, dead, idle, edge expiry) run on the *liveness clock*, real time minus the stalls the
/// stall guard forgave, so forgiving a stall is one subtraction, not a pass over the fleet.
public struct Topology {
    /// The configuration in effect (`sanitized()` form of the one given).
    public let configuration: TopologyConfiguration
    public let serverEpoch: String

    // Services.
    /// Chunked, so that a snapshot's copy of them is O(chunks) (`SnapshotSource`); at the same
    /// slots, `nodeBeats` holds the wire fields every heartbeat writes and `nodeSchedules` the timers.
    var nodes = ChunkedArray<NodeRecord>()
    var nodeBeats = ChunkedArray<NodeBeat>()
    var nodeSchedules: [NodeSchedule] = []
    var freeNodes: [Int32] = []
    var nodeIndex: FlatTable<ServiceKey, Int32>
    var nextRegistrationOrder: UInt64 = 0
    /// Resolution keys (name, interface::role, interface, address) -> node slots. A node's own keys
    /// are not stored with it: `Topology.resolutionKeys(of:)` derives them from its `wire`. Two or
    /// more keys per service: it grows without a pause (`IncrementalDictionary`).
    var resolutionIndex = IncrementalDictionary<String, ResolutionSlots>()
    /// Live nodes per state (see `setState`).
    var stateCounts = ServiceStateCounts()
    /// Observed services (known only from spans) by name; they are in `nodeIndex` too.
    var observedIndex: [String: Int32] = [:]
    /// Resources whose spans were refused because `maxObservedServices` was reached.
    var observedRefusals: UInt64 = 0

    // Edges.
    var edges = ChunkedArray<EdgeRecord>()
    var freeEdges: [Int32] = []
    var edgeIndex: [EdgeKey: Int32] = [:]
    /// target_service -> edges with that target; and for targets "key@address", address -> edges.
    var edgesByTarget: [String: Set<Int32>] = [:]
    var edgesByAddressSuffix: [String: Set<Int32>] = [:]
    /// Edges with activity not yet flushed or with data in the metrics window.
    var windowEdges: [Int32] = []
    var flushAt: Int64? = nil
    var publishedEdgeCount = 0

    // Time.
    /// Liveness timers, on the liveness clock (real time - forgivenStallMs).
    var livenessTimers: TimerWheel
    /// Node throttle and watcher progress timers, on real time. ref: node slot, or watcher slot | watcherBit.
    var realTimers: TimerWheel
    var forgivenStallMs: Int64 = 0
    var lastObservedMs: Int64
    var pendingEvents: [TopologyEvent] = []

    // Updates and watchers.
    var revision: UInt64 = 0
    var history: [HistoryRecord] = []
    var historyHead = 0  // index of the oldest entry once the ring is full
    var watchers: [WatcherRecord] = []
    var freeWatchers: [Int32] = []
    /// The generation of a watcher slot made at the end of `watchers` (`releaseIdleWatcherSlots`).
    var freshWatcherGeneration: UInt32 = 0
    var liveWatcherCount = 0
    var readyWatchers: [WatcherID] = []
    /// The work `publish` has done so far, in watcher-slot visits (each update is offered to every
    /// slot) plus `publishCost` per update, `timerCost` per timer fired and one per index entry
    /// moved: what `advance(to:inputReadThrough:fanOutBudget:)` bounds.
    public internal(set) var fanOutWork = 0
    /// What publishing one update costs before any watcher sees it (the history entry made, the
    /// oldest one freed), in watcher-slot visits. At 1,000,000 services and no watcher, 200,000
    /// throttled refreshes a second are due; counted as free, a turn fired 25,000 of them, 70 ms of
    /// work (2.8 µs each, measured with the "slow loop turn" log).
    public static let publishCost = 16
    /// What firing one timer costs, in the same units, whatever it then does. Most liveness timers
    /// find a service that heartbeated since and only reschedule it; counted as free, a backlog of
    /// them (deadlines held while input was read late, then released at once) was one call: at a
    /// million services, a turn of 508 ms in the timers.
    static let timerCost = 1
    /// What keeping a refresh no watcher takes costs (`Topology.keepUntakenRefresh`), in the same units.
    static let untakenRefreshCost = 2
    /// Entries of an index that outgrew itself moved per `advance` (`IncrementalDictionary`): about
    /// half a millisecond, counted as that many units of `fanOutWork`.
    static let indexMovePerAdvance = 1_024

    // What happened, for operators (`eventLog`).
    var events: ServiceEventLog

    var randomSource: RandomSource

    /// A core with a system random source for service ids.
    public init(configuration: TopologyConfiguration, serverEpoch: String, now: Int64) {
        self.init(
            configuration: configuration, serverEpoch: serverEpoch, now: now,
            randomNumberGenerator: SystemRandomNumberGenerator())
    }

    /// A core drawing service ids from `randomNumberGenerator` (tests pass a seeded one).
    public init<G: RandomNumberGenerator>(
        configuration: TopologyConfiguration, serverEpoch: String, now: Int64, randomNumberGenerator: G
    ) {
        self.configuration = configuration.sanitized()
        self.serverEpoch = serverEpoch
        self.lastObservedMs = now
        self.livenessTimers = TimerWheel(startMs: now)
        self.realTimers = TimerWheel(startMs: now)
        self.events = ServiceEventLog(limit: self.configuration.eventLimit)
        self.randomSource = RandomSource(randomNumberGenerator)
        self.nodeIndex = FlatTable(seed: (randomSource.next(), randomSource.next()))
    }

    /// Live services (every state but DEAD, which is removed at once), observed ones included.
    public var serviceCount: Int { nodeIndex.count }
    /// Services known only from spans (`ServiceNode.observed`).
    public var observedServiceCount: Int { observedIndex.count }
    /// How often spans were refused because `maxObservedServices` observed services existed.
    public var observedServiceRefusals: UInt64 { observedRefusals }
    /// Live services per state, counted as states change (no pass over the fleet).
    public var serviceCountsByState: ServiceStateCounts { stateCounts }
    public var watcherCount: Int { liveWatcherCount }
    /// Edges visible in snapshots (published at an activity flush).
    public var edgeCount: Int { publishedEdgeCount }
    /// The revision of the latest update (0 before the first).
    public var currentRevision: UInt64 { revision }
    /// Total milliseconds the stall guard has forgiven since start.
    public var forgivenStallTotalMs: Int64 { forgivenStallMs }
}

/// Type-erased random source (a class box so `Topology` stays a plain struct).
final class RandomSource {
    private var nextWord: () -> UInt64

    init<G: RandomNumberGenerator>(_ generator: G) {
        var generator = generator
        nextWord = { generator.next() }
    }

    func next() -> UInt64 { nextWord() }
}

struct RandomSourceGenerator: RandomNumberGenerator {
    let source: RandomSource
    mutating func next() -> UInt64 { source.next() }
}

/// A live service, as snapshots show it, but for what `NodeBeat` and `NodeSchedule` keep. A million
/// of these are the server's largest structure, so the fields are in the order that packs them: the
/// small ones right after `wire`, in its tail (a nested struct's trailing padding is free for the
/// next field).
/// Nothing a heartbeat or an activity report changes is here: a snapshot shares the chunks of
/// `Topology.nodes`, and a write to one copies it (`ChunkedArray`).
struct NodeRecord {
    var key = ServiceKey(high: 0, low: 0)
    /// The node as snapshots show it, except its `lastHeartbeatMs`, `lastActivityMs` and `metrics`,
    /// which are in its `NodeBeat` (`Topology.wireNode(_:)` puts them together).
    var wire = ServiceNode()
    var inUse = false
    var generation: UInt32 = 0
    var registrationOrder: UInt64 = 0
    /// Edges from this node.
    var outEdges: [Int32] = []
    /// Edges (from any node) whose target resolves to this node.
    var inEdges: Set<Int32> = []
}

/// The wire fields of a node that heartbeats and activity reports write, kept apart from its
/// `NodeRecord` in chunks of plain values: the first heartbeat into a chunk that a snapshot being
/// built shares copies 1,024 of them (40 KB, no reference to retain), not 1,024 records.
struct NodeBeat {
    var lastHeartbeatMs: Int64 = 0
    var lastActivityMs: Int64 = 0
    var metrics: ServiceMetrics? = nil

    /// A heartbeat at `now`, with the metrics it carried if any.
    mutating func beat(at now: Int64, metrics: ServiceMetrics?) {
        lastHeartbeatMs = now
        if let metrics { self.metrics = metrics }
    }

    /// `node` with this beat's fields.
    func apply(to node: inout ServiceNode) {
        node.lastHeartbeatMs = lastHeartbeatMs
        node.lastActivityMs = lastActivityMs
        node.metrics = metrics
    }
}

/// A node's timers and throttle, which no snapshot shows: a plain array, never shared, so writing
/// them never copies anything.
struct NodeSchedule {
    /// Liveness clock time of the last heartbeat, or of the (re-)registration if later.
    var livenessBase: Int64 = 0
    /// Liveness-clock time of this node's entry in `livenessTimers` (.max if none).
    var livenessScheduledAt: Int64 = .max
    /// Real time of the last NODE_* update published for it.
    var lastPublishedMs: Int64 = 0
    /// Its throttle period: nodeUpdateThrottleMs plus its jitter.
    var throttleMs: Int64 = 0
    var refreshScheduledAt: Int64 = .max
    /// Liveness clock time of the last activity; nil if none.
    var lastActivity: Int64? = nil
    /// A heartbeat-only refresh is waiting for the throttle period to end.
    var refreshPending = false
}

struct EdgeKey: Hashable {
    var source: Int32
    var target: String
}

/// One flush period's worth of an edge's traffic.
struct WindowSlice {
    var endMs: Int64
    var requests: UInt64
    var errors: UInt64
    var histogram: SparseHistogram
}

/// A caller -> target edge.
struct EdgeRecord {
    var inUse = false
    var generation: UInt32 = 0
    var source: Int32 = -1
    var target = ""
    /// The node target resolves to, -1 if none.
    var resolved: Int32 = -1
    /// The edge as snapshots show it; nil until the first activity flush publishes it.
    var published: ServiceEdge? = nil
    var state = ConnectionState.active
    var lastActivity: Int64 = 0       // liveness clock
    var lastActivityMs: Int64 = 0     // real time
    var scheduledAt: Int64 = .max     // liveness clock
    var totalRequests: UInt64 = 0
    var totalErrors: UInt64 = 0
    var latencySumMs: Double = 0
    var latencyCount: UInt64 = 0
    /// Activity since the last flush.
    var pending: WindowSlice? = nil
    /// Flushed slices still inside the window, oldest first.
    var slices: [WindowSlice] = []
    var inWindowList = false
    /// Latencies since creation in fixed buckets (`/metrics`), folded in at each flush.
    var latencyTotals = EdgeLatencyTotals()
    /// Its error rate is at or over `edgeFailingErrorPercent` (an `edgeFailing` event was recorded).
    var failing = false
}

/// What a watcher filter looks at: the node's name, state, and the metadata and labels it filters
/// on (the labels are the node's own dictionary, shared, not copied).
struct FilterView: Equatable {
    var name: String
    var state: ServiceState
    var environment: String?
    var team: String?
    var region: String?
    var labels: [String: String]

    init(_ node: ServiceNode) {
        name = node.serviceName
        state = node.state
        let metadata = node.metadata  // out of line: each read copies all seven of its strings
        environment = metadata?.environment
        team = metadata?.team
        region = metadata?.region
        labels = node.labels
    }
}

/// One entry of the update history, kept for watches that resume: an update as published, or a
/// throttled refresh, kept as the fields a heartbeat or an activity report changes. The second
/// copies nothing of the node: at 1,000,000 services some 200,000 refreshes a second are due, and
/// copying each node into the history (and freeing the copy 10,000 updates later) was a third of
/// the server's time while nobody watched them (perf, docs/performance.md). A refresh that watchers
/// took is kept the same way: the copy they were given goes with their buffers, instead of staying
/// in the history for 10,000 updates after they have gone (0.5 MB of 2,000 services' refreshes
/// after 5,000 watchers closed, docs/reliability.md).
enum HistoryRecord {
    case published(HistoryEntry)
    case refresh(RefreshRecord)
}

/// A throttled refresh: which node, and its fields that change without an update of their own. A
/// watch that resumes across it gets it as a NODE_UPDATED built from the node as it is then with
/// these fields; a node removed since is left out (its NODE_REMOVED follows).
struct RefreshRecord {
    var slot: Int32
    var generation: UInt32
    var revision: UInt64
    var state: ServiceState
    var health: HealthState
    var lastHeartbeatMs: Int64
    var lastActivityMs: Int64
    var metrics: ServiceMetrics?
    var healthDetail: ApplicationHealth?
}

/// One update as published, with what filters need to translate it for each watcher: the filter
/// view of the node (for an edge: of its source) before and after the change.
/// A class: the history and every watcher queue share one copy (fan-out is a retain, not a copy
/// of the node).
final class HistoryEntry {
    let update: TopologyUpdate
    let before: FilterView?
    let after: FilterView?
    /// The node or edge it is about (nil for none), hashed once, when a watcher's buffer first
    /// overflows with it: most entries are never coalesced, and at a million services 200,000 are
    /// made a second.
    private(set) lazy var entity: UpdateEntity? = {
        if let node = update.node { return UpdateEntity(id: node.serviceId, target: nil) }
        if let edge = update.edge { return UpdateEntity(id: edge.sourceServiceId, target: edge.targetService) }
        return nil
    }()

    init(update: TopologyUpdate, before: FilterView?, after: FilterView?) {
        self.update = update
        self.before = before
        self.after = after
    }
}

/// The node (a service id) or edge (source id and target) an update is about. Its hash is computed
/// once per history entry, when first needed: a watcher whose buffer overflows looks up the entity of
/// every update it holds (`Topology.coalesce`), and thousands of watchers may hold the same entry.
struct UpdateEntity: Hashable {
    let id: String
    let target: String?
    private let hash: Int

    init(id: String, target: String?) {
        self.id = id
        self.target = target
        var hasher = Hasher()
        hasher.combine(id)
        hasher.combine(target)
        hash = hasher.finalize()
    }

    func hash(into hasher: inout Hasher) { hasher.combine(hash) }

    static func == (a: UpdateEntity, b: UpdateEntity) -> Bool {
        a.hash == b.hash && a.id == b.id && a.target == b.target
    }
}

/// An update in a watcher's queue: a shared history entry, with the type this watcher sees it as
/// (a filter can turn an UPDATED into an ADDED or REMOVED); or a PROGRESS (no entry).
struct QueuedUpdate {
    var entry: HistoryEntry?
    var type: UpdateType
    var revision: UInt64
    var coalesced = false

    var materialized: TopologyUpdate {
        guard let entry else { return TopologyUpdate(type: type, revision: revision, coalesced: coalesced) }
        var update = entry.update
        update.type = type
        update.coalesced = coalesced
        return update
    }
}
