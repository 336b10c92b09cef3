import TopologyCore
import TopologyWire

/// Watch updates as the bytes of the WatchTopologyResponses that carry them, encoded once per round
/// of delivery for every watcher that takes the same thing: an update as published (whatever the
/// number of watchers) and a SNAPSHOT of the whole topology. A server makes a new one for each round,
/// so what it holds is bounded by one round's updates.
public struct WatchEncodingCache {
    /// The snapshot value the core builds once per round.
    var round = WatchRoundCache()
    /// Encodings of updates as published, by revision (an update as published never changes).
    var published: [UInt64: [UInt8]] = [:]
    /// Encodings of whole-topology snapshots: one per revision, time and resync flag.
    var wholeSnapshots: [SnapshotKey: [UInt8]] = [:]

    struct SnapshotKey: Hashable {
        var revision: UInt64
        var timestampMs: Int64
        var resync: Bool
    }

    public init() {}

    /// The most updates one watcher takes in a round of delivery; the rest wait for the next round,
    /// after the loop has read its sockets again. A watcher past its buffer's coalescing ceiling may
    /// hold tens of thousands (docs/state-machine.md): taken in one go, encoding them held the loop
    /// for 150 to 330 ms.
    public static let updatesPerRound = 512

    /// Up to `max` of the watcher's pending updates, oldest first, each as the bytes of
    /// `WatchTopologyResponse(update:)`.
    public mutating func take(for watcher: WatcherID, max: Int, from topology: inout Topology) -> [[UInt8]] {
        var result: [[UInt8]] = []
        // Moved out, not copied (the closure cannot capture `self`): each stays uniquely referenced,
        // so adding to it never copies the whole.
        var round = WatchRoundCache(), published: [UInt64: [UInt8]] = [:], wholeSnapshots: [SnapshotKey: [UInt8]] = [:]
        swap(&round, &self.round)
        swap(&published, &self.published)
        swap(&wholeSnapshots, &self.wholeSnapshots)
        topology.takeUpdates(for: watcher, max: max, cache: &round) { taken in
            if taken.asPublished {
                if let bytes = published[taken.update.revision] { return result.append(bytes) }
                let bytes = Self.encode(taken.update)
                published[taken.update.revision] = bytes
                result.append(bytes)
            } else if taken.wholeTopology, let snapshot = taken.update.snapshot {
                let key = SnapshotKey(revision: taken.update.revision, timestampMs: snapshot.timestampMs, resync: taken.update.resync)
                if let bytes = wholeSnapshots[key] { return result.append(bytes) }
                let bytes = Self.encode(taken.update)
                wholeSnapshots[key] = bytes
                result.append(bytes)
            } else {
                result.append(Self.encode(taken.update))
            }
        }
        swap(&round, &self.round)
        swap(&published, &self.published)
        swap(&wholeSnapshots, &self.wholeSnapshots)
        return result
    }

    /// `Topology.takeUpdates` sharing this round's snapshot value (for encoders of other formats).
    public mutating func takeUpdates(for watcher: WatcherID, max: Int, from topology: inout Topology) -> [TopologyUpdate] {
        topology.takeUpdates(for: watcher, max: max, cache: &round)
    }

    static func encode(_ update: TopologyUpdate) -> [UInt8] {
        WatchTopologyResponse(update: update).serializedBytes()
    }
}
