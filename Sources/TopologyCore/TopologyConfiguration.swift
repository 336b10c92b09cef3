/// Every timing and limit of the core. Defaults are those of the existing runtime; all overridable.
/// Times are milliseconds.
public struct TopologyConfiguration: Sendable, Equatable {
    /// How often a service heartbeats. STALE after more than 2 x this without a heartbeat.
    public var heartbeatIntervalMs: Int64 = 5_000
    /// DEAD after more than heartbeatIntervalMs x this without a heartbeat.
    public var timeoutMultiplier: Int64 = 3
    /// ACTIVE node or edge with no activity for this long becomes IDLE.
    public var idleTimeoutMs: Int64 = 30_000
    /// Activity is aggregated into edge metrics (and published) at this period.
    public var activityFlushMs: Int64 = 1_000
    /// At most one heartbeat-only NODE_UPDATED per node per this period (plus the node's jitter).
    public var nodeUpdateThrottleMs: Int64 = 5_000
    /// Each node's throttle period is longer than nodeUpdateThrottleMs by a share of it drawn at
    /// random when the node is created, up to this percent: the refreshes of a fleet that registered
    /// in one instant drift apart instead of falling due in one instant forever.
    public var nodeUpdateJitterPercent: Int = 20
    /// Throttled refreshes a second, over the whole fleet, that the throttle is sized for: past
    /// nodeUpdateThrottleMs / 1,000 x this many live nodes (100,000 by default), every node's
    /// throttle period widens in proportion to the fleet (at 1,000,000 nodes, 5 s becomes 50 s). A
    /// million nodes refreshed every 5 s is 200,000 updates a second to every watcher of the whole
    /// topology, more than any can read. What a refresh carries (last heartbeat, metrics) then reaches
    /// watchers later; snapshots, state and health changes are not delayed. 0: no limit.
    public var maxRefreshesPerSecond: Int = 20_000
    /// The window of rps, error rate and latency percentiles.
    public var rpsWindowMs: Int64 = 5_000
    /// An edge whose target resolves to no node is removed after this long without activity.
    /// Unless set, 2 x idleTimeoutMs: it follows the idle timeout until it is set itself.
    public var unresolvedEdgeTimeoutMs: Int64 {
        get {
            if let unresolvedEdgeTimeoutOverrideMs { return unresolvedEdgeTimeoutOverrideMs }
            let (doubled, overflow) = idleTimeoutMs.multipliedReportingOverflow(by: 2)
            return overflow ? (idleTimeoutMs < 0 ? .min : .max) : doubled
        }
        set { unresolvedEdgeTimeoutOverrideMs = newValue }
    }
    /// The value `unresolvedEdgeTimeoutMs` was set to; nil while it is derived.
    private var unresolvedEdgeTimeoutOverrideMs: Int64? = nil
    /// A quiet watch gets a PROGRESS update this often.
    public var progressIntervalMs: Int64 = 5_000
    /// A million services took 748 MiB of resident memory (docs/performance.md, "Cost per service at
    /// scale").
    public var maxServices: Int = 1_000_000
    public var maxServiceNameBytes: Int = 256
    /// Bound of every other string field (UTF-8 bytes).
    public var maxStringBytes: Int = 1_024
    /// Labels one registration may carry, and the bounds of a label's key (at least 1 byte) and
    /// value (UTF-8 bytes): enough for Kubernetes-style keys (a 253-byte prefix is rare; 128 holds
    /// `app.kubernetes.io/part-of`), small enough that labels cannot outgrow the node.
    public var maxLabels: Int = 64
    public var maxLabelKeyBytes: Int = 128
    public var maxLabelValueBytes: Int = 256
    public var maxWatchers: Int = 1_000
    /// Pending updates per watcher before coalescing.
    public var watchBufferLimit: Int = 1_024
    /// A watcher whose buffer overflows less than this long after its last resync is not resynced
    /// again: its updates are coalesced (one per node or edge) however many that leaves, so a client
    /// too slow for the stream gets a coalesced stream, not one full snapshot after another.
    public var resyncIntervalMs: Int64 = 10_000
    /// Updates kept for resume.
    public var historyLimit: Int = 10_000
    /// Distinct targets one service may report activity to (edges from one source).
    public var maxEdgesPerService: Int = 10_000
    /// Events kept in the event log; older ones are evicted (and counted).
    public var eventLimit: Int = 10_000
    /// An edge whose error rate over the rps window reaches this percent is failing (an event, and
    /// an alert); it recovers when the rate falls under it.
    public var edgeFailingErrorPercent: Int = 10
    /// Services known only from OTLP spans (observed nodes), apart from maxServices: spans from a
    /// further unknown service.name are refused (and counted) until one goes away.
    public var maxObservedServices: Int = 10_000
    /// An observed service that has been IDLE this long (no span for idleTimeoutMs + this) is
    /// removed. It never heartbeats, so it is never STALE or DEAD.
    public var observedRemovalMs: Int64 = 300_000

    public init() {}

    /// This configuration with every value raised to its minimum: periods that drive timers
    /// (heartbeat interval, multiplier, activity flush, RPS window, progress) to 1, the rest to 0,
    /// and watchBufferLimit to 1; nodeUpdateJitterPercent at most 100. `Topology` runs on the sanitized form, so no setting can make a
    /// timer fire again at the same instant forever.
    public func sanitized() -> TopologyConfiguration {
        var copy = self
        copy.heartbeatIntervalMs = max(1, heartbeatIntervalMs)
        copy.timeoutMultiplier = max(1, timeoutMultiplier)
        copy.idleTimeoutMs = max(0, idleTimeoutMs)
        copy.activityFlushMs = max(1, activityFlushMs)
        copy.nodeUpdateThrottleMs = max(0, nodeUpdateThrottleMs)
        copy.nodeUpdateJitterPercent = min(100, max(0, nodeUpdateJitterPercent))
        copy.maxRefreshesPerSecond = max(0, maxRefreshesPerSecond)
        copy.resyncIntervalMs = max(0, resyncIntervalMs)
        copy.rpsWindowMs = max(1, rpsWindowMs)
        // A derived timeout stays derived (from the sanitized idle timeout).
        copy.unresolvedEdgeTimeoutOverrideMs = unresolvedEdgeTimeoutOverrideMs.map { max(0, $0) }
        copy.progressIntervalMs = max(1, progressIntervalMs)
        copy.maxServices = max(0, maxServices)
        copy.maxServiceNameBytes = max(1, maxServiceNameBytes)
        copy.maxStringBytes = max(0, maxStringBytes)
        copy.maxLabels = max(0, maxLabels)
        copy.maxLabelKeyBytes = max(1, maxLabelKeyBytes)
        copy.maxLabelValueBytes = max(0, maxLabelValueBytes)
        copy.maxWatchers = max(0, maxWatchers)
        copy.watchBufferLimit = max(1, watchBufferLimit)
        copy.historyLimit = max(0, historyLimit)
        copy.maxEdgesPerService = max(0, maxEdgesPerService)
        copy.eventLimit = max(0, eventLimit)
        copy.edgeFailingErrorPercent = min(100, max(1, edgeFailingErrorPercent))
        copy.maxObservedServices = max(0, maxObservedServices)
        copy.observedRemovalMs = max(0, observedRemovalMs)
        return copy
    }

    /// Heartbeat silence after which a node is STALE (exclusive: STALE when silence > this).
    public var staleTimeoutMs: Int64 { 2 * heartbeatIntervalMs }
    /// Heartbeat silence after which a node is DEAD (exclusive: DEAD when silence > this).
    public var deadTimeoutMs: Int64 { heartbeatIntervalMs * timeoutMultiplier }
}
