import TopologyWire

/// How many live services are in each state. `Topology` keeps it in step with every state change
/// (`setState`), so a reader such as /metrics gets the counts without a pass over the fleet.
public struct ServiceStateCounts: Equatable, Sendable {
    private var counts = [Int](repeating: 0, count: ServiceState.protoNames.count)

    /// The live services in `state`; 0 for a value this build has no name for (the core sets none).
    public internal(set) subscript(state: ServiceState) -> Int {
        get { counts.indices.contains(Int(state.rawValue)) ? counts[Int(state.rawValue)] : 0 }
        set { counts[Int(state.rawValue)] = newValue }
    }
}
