import CTopologyShims

/// Gives memory back to the system once a burst has passed: after connections holding at least
/// `trimAfterBytes` of buffers have closed, at most once per `minimumIntervalMs`, `malloc_trim`
/// returns the free heap of every arena (what a burst of watcher backlogs and large replies leaves
/// behind once freed).
///
/// Tuning glibc instead (one arena, a fixed mmap threshold) gave memory back too, but under 5,000
/// watchers it tripled the peak (snapshots copied per watcher stayed apart in one heap) and cost
/// page faults on every large buffer: measured with `LoadGen overload`, docs/reliability.md.
struct MemoryReturn {
    static let trimAfterBytes = 4 << 20
    static let minimumIntervalMs: Int64 = 1_000

    private var releasedBytes = 0
    private var lastTrimMs: Int64 = .min / 2

    /// A connection closed whose buffers had this capacity.
    mutating func released(_ bytes: Int) {
        releasedBytes += bytes
    }

    /// Trims if enough was released and the last trim is old enough.
    mutating func trimIfDue(nowMs now: Int64) {
        guard releasedBytes >= MemoryReturn.trimAfterBytes, now - lastTrimMs >= MemoryReturn.minimumIntervalMs else { return }
        releasedBytes = 0
        lastTrimMs = now
        _ = topology_malloc_trim()
    }
}
