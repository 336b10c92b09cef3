/// An edge's latencies since it was created, in fixed buckets (Prometheus histogram style), folded
/// in at each activity flush from the window's log-scaled buckets (each by its representative,
/// within 1 % of the latencies it holds; the sum is of representatives too).
public struct EdgeLatencyTotals: Equatable, Sendable {
    /// Upper bounds of the buckets, milliseconds; one more bucket holds the rest (+Inf).
    public static let boundsMs: [Double] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000]

    /// Calls per bucket (not cumulative), `boundsMs.count + 1` of them once any latency is in.
    public private(set) var counts: [UInt64] = []
    public private(set) var sumMs: Double = 0

    public var count: UInt64 { counts.reduce(0, +) }

    mutating func add(_ histogram: SparseHistogram) {
        guard !histogram.isEmpty else { return }
        if counts.isEmpty { counts = Array(repeating: 0, count: Self.boundsMs.count + 1) }
        counts[0] += histogram.zeroCount
        for (index, calls) in histogram.buckets {
            let latency = LatencyBuckets.representative(index)
            let bucket = Self.boundsMs.firstIndex { latency <= $0 } ?? Self.boundsMs.count
            counts[bucket] += calls
            sumMs += latency * Double(calls)
        }
    }
}
