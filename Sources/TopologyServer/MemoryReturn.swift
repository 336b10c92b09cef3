import CTopologyShims

/// Gives memory back to the system once a burst has passed. Three parts: buffers of 256 KiB or
/// more (a watcher's backlog, a large reply) get pages of their own, which go back the moment they
/// are freed; the loop and its helper threads share one arena (a snapshot the reply encoder built
/// and the loop freed would otherwise stay in the encoder's arena); and after connections holding at least `trimAfterBytes` of buffers have closed, at most
/// once per `minimumIntervalMs`, `malloc_trim` returns the free heap of every arena (what many
/// smaller buffers, the core's watch queues among them, leave behind).
///
/// Without this, glibc keeps what a burst of slow watchers made the server hold: 100 watchers that
/// never read left the server at 150 MB after all of them had closed, against 26 MB before.
struct MemoryReturn {
    static let mappedFromBytes: Int32 = 256 * 1024
    static let trimAfterBytes = 4 << 20
    static let minimumIntervalMs: Int64 = 1_000

    private var releasedBytes = 0
    private var lastTrimMs: Int64 = .min / 2
    private(set) var trims = 0

    /// Before the server's threads start; once per process is enough, harmless again. Each helper
    /// thread keeps its own small-allocation cache (tcache), so one arena costs the loop no locking
    /// on its hot path.
    static func configureAllocator() {
        _ = topology_malloc_configure(mappedFromBytes, 1)
    }

    /// A connection closed whose buffers had this capacity.
    mutating func released(_ bytes: Int) {
        releasedBytes += bytes
    }

    /// Trims if enough was released and the last trim is old enough.
    mutating func trimIfDue(nowMs now: Int64) {
        guard releasedBytes >= MemoryReturn.trimAfterBytes, now - lastTrimMs >= MemoryReturn.minimumIntervalMs else { return }
        releasedBytes = 0
        lastTrimMs = now
        trims += 1
        _ = topology_malloc_trim()
    }
}
