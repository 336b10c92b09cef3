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
/// Tuning glibc instead of trimming (one arena and a fixed mmap threshold, no trim) gave memory
/// back too, but under 5,000 watchers it tripled the peak (snapshots copied per watcher stayed
/// apart in one heap) and cost page faults on every large buffer: measured with `LoadGen overload`,
/// docs/reliability.md. With the trim, one arena is kept (`useOneArena`), so that the trim reaches
/// what the helper threads freed; a fixed mmap or trim threshold on top of it changed nothing.
struct MemoryReturn {
    static let trimAfterBytes = 4 << 20
    static let minimumIntervalMs: Int64 = 1_000
    /// How much of the loop's time reading the allocator's free bytes may take: the read walks every
    /// free chunk of every arena, 35 to 45 ms at 1,000,000 services (measured with the "slow loop
    /// turn" log), so at that size it is done every 40 s or so rather than every second.
    static let freeLookShare: Int64 = 1_000
    /// The same for the trim itself: it walks the free chunks of every arena and gives back their
    /// pages, 150 to 200 ms at 1,000,000 services while snapshots come and go (four such turns in
    /// 17 s in one run, the "slow loop turn" log's `memory_ms`). After a trim that took t, the next
    /// waits 100 t: a second after a trim of 10 ms, 15 s after one of 150.
    static let trimShare: Int64 = 100

    /// The resident set and the allocator's free bytes after the last trim, or the least seen since.
    private var residentFloor = Int.max
    private var freeFloor = Int.max
    private var lastCheckMs: Int64 = .min / 2
    private var nextFreeLookMs: Int64 = .min / 2
    /// The earliest a read of the free bytes may come for growth of the resident set.
    private var nextGrowthLookMs: Int64 = .min / 2
    private var nextTrimMs: Int64 = .min / 2
    /// Set by `requestTrim`: the next look trims whatever the growth.
    private var trimRequested = false

    /// What counts as growth: `trimAfterBytes`, or a 32nd of the resident set when that is more (a
    /// million services move a 770 MB process by more than 4 MiB in their normal churn, and each
    /// trim of it holds the loop for 60 to 100 ms).
    static func threshold(resident: Int) -> Int { max(trimAfterBytes, resident / 32) }

    /// Looks once the interval has passed (and the last trim's `trimShare` wait), and trims when
    /// the allocator keeps `threshold` free and either its free bytes or the resident set grew by
    /// as much since the last trim. Returns whether it trimmed.
    ///
    /// Both, since either alone misses a case. Free bytes: what is freed after a trim made under
    /// load (the resident set does not move when memory already resident is freed). The resident
    /// set: glibc still counts the pages a trim gave back inside its heap as free chunks, and when
    /// a burst takes them again and frees them within one interval, the free bytes end where they
    /// were while the pages are resident again.
    ///
    /// The resident set is cheap to read and is read at every look. The free bytes are read when
    /// `freeLookShare` times the last read's cost (`monotonicNs` measures it) has passed since, or
    /// sooner when the resident set grew, but not before `trimShare` times that cost: while
    /// snapshots of a million nodes are queued the resident set grows by more than a 32nd most
    /// seconds, all of it in use, and a read each second held the loop 100-118 ms a time.
    mutating func trimIfDue(nowMs now: Int64, residentBytes: () -> Int, heapFreeBytes: () -> Int, trim: () -> Void,
                            monotonicNs: () -> Int64) -> Bool {
        guard isDue(nowMs: now) else { return false }
        lastCheckMs = now
        let resident = residentBytes()
        // Trimmed, the floors are where the trim left memory; the next trim waits by its cost.
        func trimNow() -> Bool {
            let start = monotonicNs()
            trim()
            nextTrimMs = now + MemoryReturn.trimShare * (monotonicNs() - start) / 1_000_000
            residentFloor = residentBytes()
            freeFloor = heapFreeBytes()
            return true
        }
        guard now >= nextTrimMs else { return false }
        if trimRequested {
            trimRequested = false
            return trimNow()
        }
        residentFloor = min(residentFloor, resident)
        let threshold = MemoryReturn.threshold(resident: resident)
        let residentGrew = resident - residentFloor >= threshold
        guard residentGrew && now >= nextGrowthLookMs || now >= nextFreeLookMs else { return false }
        let start = monotonicNs()
        let free = heapFreeBytes()
        let costMs = (monotonicNs() - start) / 1_000_000
        nextFreeLookMs = now + max(MemoryReturn.minimumIntervalMs, costMs * MemoryReturn.freeLookShare)
        nextGrowthLookMs = now + costMs * MemoryReturn.trimShare
        freeFloor = min(freeFloor, free)
        let grew = residentGrew || free - freeFloor >= threshold
        guard grew, free >= threshold else { return false }
        return trimNow()
    }
}

extension MemoryReturn {
    /// Makes the next look trim: for memory freed in the middle of the heap that the growth rule
    /// misses, a table given back once its connections and watchers have gone (`SparseCapacity`,
    /// a megabyte or two, under `trimAfterBytes`, while the free bytes are still those of the peak).
    /// Such a release is rare (a table must have become three quarters empty), so the trim is too.
    mutating func requestTrim() { trimRequested = true }

    /// Whether `trimIfDue` would look now.
    func isDue(nowMs now: Int64) -> Bool { now - lastCheckMs >= MemoryReturn.minimumIntervalMs }

    /// Makes the threads started from now on allocate from the main arena, as the event loop does.
    /// Call it before any helper thread starts: a thread keeps the arena of its first allocation.
    ///
    /// `malloc_trim` gives back the free pages inside every arena, but only the main one's top:
    /// after 5,000 watchers a helper's own arena kept up to 0.95 MB resident, free. In the main
    /// arena the trim reaches all of it. The helpers allocate seldom next to the loop (a
    /// reply, a log line): under those watchers, when the encoder works the most, the heartbeats'
    /// round trip did not grow, nor did the loop's CPU per heartbeat without them
    /// (docs/reliability.md).
    static func useOneArena() { _ = topology_malloc_one_arena() }

    /// The free bytes the C allocator keeps, over all arenas.
    static func heapFreeBytes() -> Int {
        var inUse = 0, free = 0
        topology_heap_bytes(&inUse, &free)
        return free
    }
}
