import TopologyWire

extension Topology {
    // MARK: Public event API

    /// The event log (state and health changes, registrations and removals, edges appearing,
    /// failing and recovering), bounded by `eventLimit`.
    public var eventLog: ServiceEventLog { events }

    // MARK: Recording

    /// Records `kind` for the node in `slot`, at the revision just published.
    mutating func recordEvent(_ kind: ServiceEvent.Kind, node slot: Int32, now: Int64) {
        let node = nodes[Int(slot)].wire
        events.append(revision: revision, timeMs: now, kind: kind, serviceId: node.serviceId, serviceName: node.serviceName)
    }

    /// After a flush published an edge's figures: `edgeFailing` when its error rate reached the
    /// threshold, `edgeRecovered` when a failing edge's fell under it. An edge with no calls in the
    /// window has no error rate: a failing edge that goes quiet recovers.
    mutating func recordErrorRateCrossing(_ edgeSlot: Int32, _ wire: ServiceEdge, now: Int64) {
        let index = Int(edgeSlot)
        let failing = wire.rps > 0 && wire.errorRate * 100 >= Double(configuration.edgeFailingErrorPercent)
        guard failing != edges[index].failing else { return }
        edges[index].failing = failing
        let target = edges[index].target
        recordEvent(
            failing ? .edgeFailing(target: target, errorRate: wire.errorRate) : .edgeRecovered(target: target, errorRate: wire.errorRate),
            node: edges[index].source, now: now)
    }
}
