import TopologyWire

/// The graph as it was over the last minutes, for "what did it look like at 14:02?"
/// (`GET /api/v1/topology?at=`, the page's scrubber): whole snapshots, one taken when the revision
/// has moved since the last, at most once per `intervalMs`. Pure: every call carries `now`.
///
///     samples: [ s0 | s1 | s2 | ... | sN ]      oldest first, taken at t0 < t1 < ... < tN
///                     ^ `at` in [t1, t2) is answered with s1; s0 is kept while t1 > now - retention
///
/// Bounded three ways, oldest dropped first: by age (a sample goes once the next one is older than
/// `retentionMs`: until then it is what the graph was at the window's start), by `maxBytes` (an
/// estimate, `estimatedBytes`) and by `maxSamples`. Taking a sample is O(services + edges) on the
/// caller's thread, so above `maxServices` none is taken and the history is emptied (`paused`):
/// a sample older than that moment would be served for times when the graph was different.
public struct TopologyHistory: Sendable {
    public struct Limits: Sendable, Equatable {
        /// How far back the history reaches; 0: no history.
        public var retentionMs: Int64
        /// Samples are at least this far apart (a change within it shows at the next sample).
        public var intervalMs: Int64
        public var maxBytes: Int
        /// More services (observed ones included) than this: no sample is taken. A sample is a pass
        /// over the graph on the caller's thread; on a live server, samples of 10,000 services every
        /// second made heartbeat round trips 4 times as slow, of 2,000 no slower
        /// (docs/dashboard.md#time-travel has the figures).
        public var maxServices: Int
        /// Samples at most, whatever the other limits allow (the index endpoint lists them all).
        public var maxSamples: Int

        public init(retentionMs: Int64, intervalMs: Int64, maxBytes: Int, maxServices: Int = 2_000, maxSamples: Int = 10_000) {
            self.retentionMs = max(0, retentionMs)
            self.intervalMs = max(1, intervalMs)
            self.maxBytes = max(0, maxBytes)
            self.maxServices = max(0, maxServices)
            self.maxSamples = max(1, maxSamples)
        }

        public static let off = Limits(retentionMs: 0, intervalMs: 1, maxBytes: 0, maxServices: 0)
        public var enabled: Bool { retentionMs > 0 }
    }

    /// One snapshot: its `timestampMs` is when it was taken, its `revision` the graph's then.
    public struct Sample: Sendable {
        public let snapshot: TopologySnapshot
        public let bytes: Int
        public var timeMs: Int64 { snapshot.timestampMs }
        public var revision: UInt64 { snapshot.revision }
    }

    /// Why no sample is held while the graph is too large to sample.
    public enum Pause: Sendable, Equatable {
        case tooManyServices(count: Int, limit: Int)
        case overBudget(bytes: Int, limit: Int)
    }

    /// The answer to "the graph at `at`".
    public enum Lookup: Sendable {
        case found(Sample)
        /// `at` is before the oldest time held or after `now`; `startMs` is nil while nothing is held.
        case outOfRange(startMs: Int64?, endMs: Int64)
        /// No history: it is off (`--history-minutes 0`) or paused.
        case unavailable(Pause?)
    }

    public let limits: Limits
    public private(set) var samples: [Sample] = []
    /// Sum of the samples' `bytes`.
    public private(set) var bytes = 0
    public private(set) var paused: Pause?
    /// Captures refused for size (`paused`), for /metrics.
    public private(set) var skippedCaptures: UInt64 = 0
    /// The revision last looked at (sampled or refused) and when: nothing is taken again until the
    /// revision moves, and then not before `intervalMs` after.
    private var lastRevision: UInt64?
    private var lastCaptureMs: Int64 = .min

    public init(limits: Limits) {
        self.limits = limits
    }

    /// When `advance` next has work (a sample to take, or one to drop by age); nil: none, until
    /// the revision moves. `Int64.min` before the first sample: due at once, whatever the time.
    public func nextDeadline(revision: UInt64) -> Int64? {
        guard limits.enabled else { return nil }
        var deadline: Int64?
        if revision != lastRevision { deadline = lastCaptureMs == .min ? .min : lastCaptureMs + limits.intervalMs }
        if samples.count > 1 {
            let expiry = samples[1].timeMs + limits.retentionMs
            deadline = min(deadline ?? expiry, expiry)
        }
        return deadline
    }

    /// Drops what has aged out and, when due, samples `topology`. Returns whether a sample was taken.
    @discardableResult
    public mutating func advance(to now: Int64, topology: Topology) -> Bool {
        guard limits.enabled else { return false }
        dropExpired(now: now)
        let revision = topology.currentRevision
        guard revision != lastRevision, lastCaptureMs == .min || now >= lastCaptureMs + limits.intervalMs else { return false }
        lastRevision = revision
        lastCaptureMs = now
        let services = topology.serviceCount
        guard services <= limits.maxServices else {
            return pause(.tooManyServices(count: services, limit: limits.maxServices))
        }
        let snapshot = topology.snapshot(for: TopologyQuery(), now: now)
        let size = TopologyHistory.estimatedBytes(of: snapshot)
        guard size <= limits.maxBytes else { return pause(.overBudget(bytes: size, limit: limits.maxBytes)) }
        paused = nil
        samples.append(Sample(snapshot: snapshot, bytes: size))
        bytes += size
        var drop = 0
        var kept = bytes
        while drop < samples.count - 1, kept > limits.maxBytes || samples.count - drop > limits.maxSamples {
            kept -= samples[drop].bytes
            drop += 1
        }
        removeOldest(drop)
        return true
    }

    /// The latest sample taken at or before `at`, if `at` is within what the history holds.
    public func sample(at: Int64, now: Int64) -> Lookup {
        guard limits.enabled, paused == nil else { return .unavailable(paused) }
        guard let start = startMs(now: now) else { return .outOfRange(startMs: nil, endMs: now) }
        guard at >= start, at <= now else { return .outOfRange(startMs: start, endMs: now) }
        // The last sample with timeMs <= at: samples are in time order.
        var low = 0
        var high = samples.count
        while low < high {
            let middle = (low + high) / 2
            if samples[middle].timeMs <= at { low = middle + 1 } else { high = middle }
        }
        return .found(samples[low - 1])
    }

    /// The oldest time the history answers for: the oldest sample's, or `now - retentionMs` once
    /// that sample describes the graph from before the window.
    public func startMs(now: Int64) -> Int64? {
        guard let first = samples.first else { return nil }
        return max(first.timeMs, now - limits.retentionMs)
    }

    /// What a sample costs, estimated in O(1): its arrays' elements, and `outOfLineBytesPerEntry`
    /// for each node and edge. The strings a node holds (its id, name, metadata, labels) are shared
    /// with the live graph's node, copy-on-write, until that node changes them or goes; the
    /// allowance is for those a sample keeps alone. Walking the strings (or the encoded size) would
    /// make a sample 5 times as slow on the loop (CoreBench).
    static func estimatedBytes(of snapshot: TopologySnapshot) -> Int {
        MemoryLayout<Sample>.stride + snapshot.nodes.count * (MemoryLayout<ServiceNode>.stride + outOfLineBytesPerEntry)
            + snapshot.edges.count * (MemoryLayout<ServiceEdge>.stride + outOfLineBytesPerEntry)
    }

    /// A service id (36 bytes, out of line) and its allocation's header.
    static let outOfLineBytesPerEntry = 64

    private mutating func dropExpired(now: Int64) {
        var drop = 0
        while drop + 1 < samples.count, samples[drop + 1].timeMs <= now - limits.retentionMs { drop += 1 }
        removeOldest(drop)
    }

    private mutating func removeOldest(_ count: Int) {
        guard count > 0 else { return }
        for sample in samples[..<count] { bytes -= sample.bytes }
        samples.removeFirst(count)
    }

    private mutating func pause(_ reason: Pause) -> Bool {
        paused = reason
        skippedCaptures += 1
        removeOldest(samples.count)
        return false
    }
}
