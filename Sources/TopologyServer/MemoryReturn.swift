import CTopologyShims

/// Gives memory back to the system once load has passed: at most once per `minimumIntervalMs`, it
/// reads how much free memory the C allocator keeps (`topology_heap_bytes`), and when that grew by
/// `trimAfterBytes` since the last trim, `malloc_trim` returns the free pages of every arena.
///
/// It measures what is free rather than counting what closing connections held: under 5,000
/// watchers most of the memory is freed while connections stay open (large replies and snapshots
/// written out, the reply encoder's results, coalesced watcher buffers), and a trim triggered by
/// the first closes missed what was freed after it: two runs in five kept 128 and 188 MiB.
///
/// Tuning glibc instead (one arena, a fixed mmap threshold) gave memory back too, but under 5,000
/// watchers it tripled the peak (snapshots copied per watcher stayed apart in one heap) and cost
/// page faults on every large buffer: measured with `LoadGen overload`, docs/reliability.md.
struct MemoryReturn {
    static let trimAfterBytes = 4 << 20
    static let minimumIntervalMs: Int64 = 1_000

    /// The allocator's free bytes after the last trim, or the least seen since (memory reused).
    private var freeFloor = 0
    private var lastCheckMs: Int64 = .min / 2

    /// Reads the free bytes if the interval has passed, and trims if they grew by
    /// `trimAfterBytes`. Returns whether it trimmed.
    mutating func trimIfDue(nowMs now: Int64, heapFreeBytes: () -> Int, trim: () -> Void) -> Bool {
        guard now - lastCheckMs >= MemoryReturn.minimumIntervalMs else { return false }
        lastCheckMs = now
        let free = heapFreeBytes()
        freeFloor = min(freeFloor, free)
        guard free - freeFloor >= MemoryReturn.trimAfterBytes else { return false }
        trim()
        // Pages given back inside the heap still count as free chunks: what is free now is the
        // floor that new frees are measured from.
        freeFloor = heapFreeBytes()
        return true
    }
}

extension MemoryReturn {
    /// The free bytes the C allocator keeps, over all arenas.
    static func heapFreeBytes() -> Int {
        var inUse = 0, free = 0
        topology_heap_bytes(&inUse, &free)
        return free
    }
}
