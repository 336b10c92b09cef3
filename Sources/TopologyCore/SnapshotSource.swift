import TopologyWire

/// What a snapshot is built from, taken from the core in O(chunks) (`Topology.snapshotSource(for:now:)`):
/// the node and edge records as they were at that moment, the query's filter and the revision.
/// `build()` may run on any thread; the core's writes after the copy are not seen (each copies the
/// chunk it lands in, `ChunkedArray`).
///
/// `@unchecked Sendable`: the records are values whose references are immutable (strings, arrays,
/// `OutOfLine` boxes) or copy-on-write, this copy is never written, and reference counts are atomic.
public struct SnapshotSource: @unchecked Sendable {
    let nodes: ChunkedArray<NodeRecord>
    let nodeBeats: ChunkedArray<NodeBeat>
    let edges: ChunkedArray<EdgeRecord>
    let filter: QueryFilter
    public let timestampMs: Int64
    public let revision: UInt64
    let serverEpoch: String
    let liveNodes: Int
    let publishedEdges: Int

    /// The most nodes and edges the snapshot can hold: every live one (a filter may take fewer).
    public var entityBound: Int { liveNodes + publishedEdges }

    public func build() -> TopologySnapshot {
        var snapshot = TopologySnapshot(timestampMs: timestampMs, revision: revision, serverEpoch: serverEpoch)
        snapshot.nodes.reserveCapacity(filter.matchesEverything ? liveNodes : 16)
        // Index access, not `for node in nodes`: that would copy (and retain) whole records.
        for index in nodes.indices where nodes[index].inUse {
            if filter.matchesEverything || filter.matchesNode(FilterView(nodes[index].wire)) {
                snapshot.nodes.append(nodes[index].wire)
                nodeBeats[index].apply(to: &snapshot.nodes[snapshot.nodes.count - 1])
            }
        }
        snapshot.edges.reserveCapacity(filter.matchesEverything ? publishedEdges : 16)
        for index in edges.indices where edges[index].inUse && edges[index].published != nil {
            if filter.identityMatchesEverything || filter.matchesIdentity(FilterView(nodes[Int(edges[index].source)].wire)) {
                snapshot.edges.append(edges[index].published!)
            }
        }
        return snapshot
    }
}

/// A watcher's SNAPSHOT taken from the core unbuilt (`Topology.takePendingSnapshot(for:)`), for the
/// reply encoder to build: what it is built from, and whether it is a resync.
public struct UnbuiltSnapshot: Sendable {
    public let source: SnapshotSource
    public let resync: Bool

    /// The SNAPSHOT update, built (a second or more at 1,000,000 services: not on the loop).
    public func update() -> TopologyUpdate {
        TopologyUpdate(type: .snapshot, snapshot: source.build(), revision: source.revision, resync: resync)
    }
}
