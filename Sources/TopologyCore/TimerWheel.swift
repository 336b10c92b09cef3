/// The core's timers: a wheel of one bucket per millisecond over the next `span` ms, and a
/// `TimerHeap` for entries further out. Push and pop are O(1) for what the wheel holds, which at
/// the default intervals is every timer: a service's liveness deadline is at most three intervals
/// away, its throttled refresh one throttle period.
///
/// Why not the heap alone: at 1,000,000 services the heaps hold a million entries each and pop
/// some 300,000 a second; every pop walked 20 levels of a 16 MB array, a cache miss at each, and
/// was the largest single cost of the loop (14% of its time in a profile). A bucket is read and
/// written at its end, where the next entries go.
///
/// Order: entries come out by time; entries of the same millisecond in no particular order, as
/// from the heap. The wheel holds the entries from `base` to `base + span - 1`, `base` being the
/// time of the last bucket popped empty (at first, the time the wheel was made): the core's timers
/// are pushed for its `now` or later, and `now` is past `base`. An entry outside that window (one
/// for a time before `base`, or too far out) goes to the heap, and `first` is the earlier of the
/// two, so the order is exact whatever is pushed.
struct TimerWheel: Sendable {
    static let spanBits = 16
    static let span = Int64(1) << spanBits
    private static let mask = span - 1
    /// The buckets come in pages of 1,024 (about a second), each made when a timer first falls in
    /// it and freed when its last one is popped: at the default intervals some 20 pages are in use
    /// (160 KiB), where all 65,536 buckets at once were 512 KiB per wheel.
    private static let pageBits = 10
    private static let pageSize = 1 << pageBits

    /// Empty until the first push: a core without timers (most tests) allocates none.
    private var pages: [[[TimerEntry]]] = []
    /// Entries in each page (0: the page is not allocated).
    private var pageCounts: [Int] = []
    private var base: Int64
    /// The time of the earliest non-empty bucket; nil when the wheel is empty.
    private var earliest: Int64?
    private var wheelCount = 0
    private var overflow = TimerHeap()

    init(startMs: Int64) {
        base = startMs
    }

    var count: Int { wheelCount + overflow.count }
    /// Pages of buckets allocated now (for tests).
    var allocatedPages: Int { pageCounts.filter { $0 > 0 }.count }

    var first: TimerEntry? {
        guard let earliest else { return overflow.first }
        let (page, slot) = Self.place(earliest)
        let entry = pages[page][slot].last!
        if let other = overflow.first, other.time < entry.time { return other }
        return entry
    }

    mutating func push(_ entry: TimerEntry) {
        guard entry.time >= base, entry.time - base < Self.span else {
            overflow.push(entry)
            return
        }
        if pages.isEmpty {
            pages = Array(repeating: [], count: Int(Self.span) >> Self.pageBits)
            pageCounts = Array(repeating: 0, count: pages.count)
        }
        let (page, slot) = Self.place(entry.time)
        if pageCounts[page] == 0 { pages[page] = Array(repeating: [], count: Self.pageSize) }
        pages[page][slot].append(entry)
        pageCounts[page] += 1
        wheelCount += 1
        earliest = min(earliest ?? entry.time, entry.time)
    }

    mutating func popFirst() -> TimerEntry? {
        guard let time = earliest, overflow.first.map({ $0.time >= time }) ?? true else {
            guard let entry = overflow.popFirst() else { return nil }
            if earliest == nil, entry.time > base {
                // The wheel is empty: it moves to the time of the entry popped (now due).
                base = entry.time
                refill()
            }
            return entry
        }
        let (page, slot) = Self.place(time)
        let entry = pages[page][slot].removeLast()
        pageCounts[page] -= 1
        wheelCount -= 1
        if pages[page][slot].isEmpty {
            // Its capacity goes back (a burst does not leave buckets large), and so does the page's.
            if pageCounts[page] == 0 { pages[page] = [] } else { pages[page][slot] = [] }
            base = time
            earliest = wheelCount > 0 ? scan(after: time) : nil
            refill()
        }
        return entry
    }

    /// Moves the heap's entries that are now within the window into the wheel (entries before
    /// `base` stay in the heap and come out of it first).
    private mutating func refill() {
        while let next = overflow.first, next.time >= base, next.time - base < Self.span {
            _ = overflow.popFirst()
            push(next)
        }
    }

    /// The first non-empty bucket after `time`, which the caller knows exists within the span.
    /// Pages without entries are skipped whole.
    private func scan(after time: Int64) -> Int64 {
        var candidate = time + 1
        while true {
            let (page, slot) = Self.place(candidate)
            if pageCounts[page] == 0 {
                candidate = (candidate | Int64(Self.pageSize - 1)) + 1  // the next page's first bucket
            } else if pages[page][slot].isEmpty {
                candidate += 1
            } else {
                return candidate
            }
        }
    }

    /// The page and the bucket in it of the time `time`.
    private static func place(_ time: Int64) -> (page: Int, slot: Int) {
        let index = Int(time & mask)
        return (index >> pageBits, index & (pageSize - 1))
    }
}
