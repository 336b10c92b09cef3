/// Something the server should log or count. Returned by `Topology.advance(to:)`, which also hands
/// over the events that input calls caused since the previous advance (e.g. a stall noticed by a
/// heartbeat).
public enum TopologyEvent: Equatable, Sendable {
    /// No heartbeat for more than 2 x interval.
    case serviceStale(id: String, name: String)
    /// A STALE service heartbeated again.
    case serviceRecovered(id: String, name: String)
    /// No heartbeat for more than interval x multiplier: removed with its edges. `lateMs`: how long
    /// after its deadline (the first millisecond past the dead timeout, stalls forgiven) it was declared.
    case serviceDead(id: String, name: String, lateMs: Int64)
    /// The core was called more than one heartbeat interval after `nextDeadline` (the process was
    /// paused, the machine slept). `jumpMs` is the gap since the previous call; every liveness
    /// deadline was extended by it.
    case stallDetected(jumpMs: Int64)
    /// A watcher's buffer overflowed even after coalescing: it will get a resync SNAPSHOT.
    case watcherResynced(WatcherID)
    /// An edge whose target never resolved was removed after the unresolved-edge timeout.
    case unresolvedEdgeExpired(sourceId: String, target: String)
}
