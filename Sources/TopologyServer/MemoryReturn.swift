import CTopologyShims

/// Gives memory back to the system once load has passed: at most once per `minimumIntervalMs`, it
/// reads the resident set and how much free memory the C allocator keeps (`topology_heap_bytes`),
/// and when either grew by `trimAfterBytes` since the last trim, `malloc_trim` returns the free
/// pages of every arena.
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

    /// The resident set and the allocator's free bytes after the last trim, or the least seen since.
    private var residentFloor = Int.max
    private var freeFloor = Int.max
    private var lastCheckMs: Int64 = .min / 2

    /// Looks once the interval has passed, and trims when the allocator keeps `trimAfterBytes`
    /// free and either its free bytes or the resident set grew by as much since the last trim.
    /// Returns whether it trimmed.
    ///
    /// Both, since either alone misses a case. Free bytes: what is freed after a trim made under
    /// load (the resident set does not move when memory already resident is freed). The resident
    /// set: glibc still counts the pages a trim gave back inside its heap as free chunks, and when
    /// a burst takes them again and frees them within one interval, the free bytes end where they
    /// were while the pages are resident again.
    mutating func trimIfDue(nowMs now: Int64, residentBytes: () -> Int, heapFreeBytes: () -> Int, trim: () -> Void) -> Bool {
        guard now - lastCheckMs >= MemoryReturn.minimumIntervalMs else { return false }
        lastCheckMs = now
        let resident = residentBytes(), free = heapFreeBytes()
        residentFloor = min(residentFloor, resident)
        freeFloor = min(freeFloor, free)
        let grew = resident - residentFloor >= MemoryReturn.trimAfterBytes || free - freeFloor >= MemoryReturn.trimAfterBytes
        guard grew, free >= MemoryReturn.trimAfterBytes else { return false }
        trim()
        residentFloor = residentBytes()
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
