import TopologyWire

/// One thing that happened to a service or an edge, as the event log keeps it: what, to whom, when
/// and at which revision (the revision of the update that published the change, so a client can
/// line the event up with the watch stream).
public struct ServiceEvent: Equatable, Sendable {
    /// What happened.
    public enum Kind: Equatable, Sendable {
        /// A new service (NODE_ADDED).
        case registered
        /// A service's state changed, DEAD included (the next event of that service is `removed`).
        case state(from: ServiceState, to: ServiceState)
        /// A heartbeat reported another health.
        case health(from: HealthState, to: HealthState)
        /// The service asked to be removed (UnregisterService).
        case unregistered
        /// A DEAD service was removed with its edges.
        case removed
        /// An edge was published for the first time (its first activity flush).
        case edgeAdded(target: String)
        /// An edge's error rate over the rps window reached the threshold.
        case edgeFailing(target: String, errorRate: Double)
        /// A failing edge's error rate fell back under the threshold.
        case edgeRecovered(target: String, errorRate: Double)
        /// A published edge was removed (its source or target went, or it expired unresolved).
        case edgeRemoved(target: String)

        /// The name of the kind in the JSON API and in webhook filters.
        public var name: String {
            switch self {
            case .registered: "registered"
            case .state: "state"
            case .health: "health"
            case .unregistered: "unregistered"
            case .removed: "removed"
            case .edgeAdded: "edge_added"
            case .edgeFailing: "edge_failing"
            case .edgeRecovered: "edge_recovered"
            case .edgeRemoved: "edge_removed"
            }
        }

        /// The edge's target for an edge event, nil for a service event.
        public var target: String? {
            switch self {
            case .edgeAdded(let target), .edgeFailing(let target, _), .edgeRecovered(let target, _), .edgeRemoved(let target):
                target
            case .registered, .state, .health, .unregistered, .removed:
                nil
            }
        }
    }

    /// Numbers the events of one server process from 1, without gaps: eviction from the log shows as
    /// a jump in it.
    public var sequence: UInt64
    /// The revision of the update that published the change.
    public var revision: UInt64
    /// Unix epoch milliseconds.
    public var timeMs: Int64
    public var kind: Kind
    /// The service, or for an edge event the edge's source.
    public var serviceId: String
    public var serviceName: String

    public init(sequence: UInt64, revision: UInt64, timeMs: Int64, kind: Kind, serviceId: String, serviceName: String) {
        self.sequence = sequence
        self.revision = revision
        self.timeMs = timeMs
        self.kind = kind
        self.serviceId = serviceId
        self.serviceName = serviceName
    }
}
