#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif
import TopologyWire

/// The log-scaled latency buckets of `LatencyHistogram` (schema): bucket i holds latencies L ms with
/// GAMMA^(i-1) < L <= GAMMA^i, GAMMA = 1.02; L <= 0 goes to the zero bucket. The representative
/// 2 GAMMA^i / (GAMMA + 1) is within 1% of every latency in bucket i.
enum LatencyBuckets {
    static let gamma = 1.02
    static let logGamma = log(1.02)
    /// Indexes accepted from clients: GAMMA^-1200 is ~5e-11 ms, GAMMA^1600 is ~5e13 ms (1,600 years).
    static let indexRange: ClosedRange<Int32> = -1_200...1_600

    /// The bucket of a positive latency.
    static func index(ofMs latency: Double) -> Int32 {
        precondition(latency > 0)
        var index = Int32((log(latency) / logGamma).rounded(.up))
        // log() rounding can put a value on a bucket edge into its neighbour: nudge it back.
        if pow(gamma, Double(index)) < latency { index += 1 }
        if pow(gamma, Double(index - 1)) >= latency { index -= 1 }
        return index
    }

    static func representative(_ index: Int32) -> Double {
        2 * pow(gamma, Double(index)) / (gamma + 1)
    }
}

/// A sparse histogram over `LatencyBuckets`.
struct SparseHistogram: Sendable, Equatable {
    var zeroCount: UInt64 = 0
    var buckets: [Int32: UInt64] = [:]

    var isEmpty: Bool { zeroCount == 0 && buckets.isEmpty }

    var total: UInt64 { buckets.values.reduce(zeroCount, +) }

    mutating func add(latencyMs: Double, count: UInt64) {
        guard count > 0 else { return }
        if latencyMs <= 0 {
            zeroCount += count
        } else {
            buckets[LatencyBuckets.index(ofMs: latencyMs), default: 0] += count
        }
    }

    mutating func add(_ other: SparseHistogram) {
        zeroCount += other.zeroCount
        for (index, count) in other.buckets { buckets[index, default: 0] += count }
    }

    /// Sum of representatives: the histogram's contribution to an average.
    var approximateSumMs: Double {
        buckets.reduce(0) { $0 + LatencyBuckets.representative($1.key) * Double($1.value) }
    }

    /// Nearest-rank percentiles (p in 0...1) for each of `ps`; zeros when empty.
    func percentiles(_ ps: [Double]) -> [Double] {
        let total = self.total
        guard total > 0 else { return ps.map { _ in 0 } }
        let sorted = buckets.sorted { $0.key < $1.key }
        return ps.map { p in
            let rank = max(1, UInt64((p * Double(total)).rounded(.up)))
            if rank <= zeroCount { return 0 }
            var seen = zeroCount
            for (index, count) in sorted {
                seen += count
                if seen >= rank { return LatencyBuckets.representative(index) }
            }
            return LatencyBuckets.representative(sorted.last!.key)
        }
    }
}

extension LatencyHistogram {
    /// The same buckets as a `LatencyHistogram` message, for clients that batch (indexes ascending).
    init(_ histogram: SparseHistogram) {
        self.init()
        let sorted = histogram.buckets.sorted { $0.key < $1.key }
        indexes = sorted.map(\.key)
        counts = sorted.map(\.value)
        zeroCount = histogram.zeroCount
    }
}
