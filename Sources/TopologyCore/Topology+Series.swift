import TopologyWire

extension Topology {
    /// Every published edge with its source's name and its latency totals, for per-edge metrics.
    public func forEachPublishedEdge(_ body: (_ edge: ServiceEdge, _ sourceName: String, _ latency: EdgeLatencyTotals) -> Void) {
        for index in edges.indices where edges[index].inUse {
            guard let published = edges[index].published else { continue }
            body(published, nodes[Int(edges[index].source)].wire.serviceName, edges[index].latencyTotals)
        }
    }
}
