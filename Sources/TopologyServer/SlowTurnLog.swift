/// Which slow turns get a log line: the first, then at most one per `minGapMs`, each saying how
/// many slow turns went unlogged since the previous line (a registration storm makes a slow turn
/// of every turn for seconds; the log must not become the next thing that slows the loop).
struct SlowTurnLog {
    let thresholdMs: Int64
    let minGapMs: Int64
    private var lastLoggedMs: Int64?
    /// Slow turns not logged since the last line.
    private(set) var unlogged = 0
    /// Slow turns since start.
    private(set) var total = 0

    init(thresholdMs: Int64, minGapMs: Int64 = 1_000) {
        self.thresholdMs = thresholdMs
        self.minGapMs = minGapMs
    }

    /// A turn of `turnMs` ended at `nowMs`. Returns the number of slow turns left unlogged before it
    /// when it is to be logged; nil when it is not slow, or when a line was written too recently.
    mutating func turnEnded(turnMs: Int64, nowMs: Int64) -> Int? {
        guard turnMs >= thresholdMs else { return nil }
        total += 1
        if let last = lastLoggedMs, nowMs - last < minGapMs {
            unlogged += 1
            return nil
        }
        lastLoggedMs = nowMs
        defer { unlogged = 0 }
        return unlogged
    }
}
