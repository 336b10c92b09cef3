// The schema's enums (Schema/topology.proto). Open, as proto3 enums are: see WireEnum.

/// What role a service plays in calls.
public struct ServiceType: WireEnum {
    public var rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    public static let unspecified = ServiceType(rawValue: 0)
    public static let server = ServiceType(rawValue: 1)
    public static let client = ServiceType(rawValue: 2)
    public static let hybrid = ServiceType(rawValue: 3)

    public static let protoNames = [
        "SERVICE_TYPE_UNSPECIFIED",
        "SERVICE_TYPE_SERVER",
        "SERVICE_TYPE_CLIENT",
        "SERVICE_TYPE_HYBRID",
    ]
}

/// The language a service is written in (C and SWIFT are Topology additions).
public struct ServiceLanguage: WireEnum {
    public var rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    public static let unspecified = ServiceLanguage(rawValue: 0)
    public static let typescript = ServiceLanguage(rawValue: 1)
    public static let rust = ServiceLanguage(rawValue: 2)
    public static let cpp = ServiceLanguage(rawValue: 3)
    public static let go = ServiceLanguage(rawValue: 4)
    public static let python = ServiceLanguage(rawValue: 5)
    public static let java = ServiceLanguage(rawValue: 6)
    public static let csharp = ServiceLanguage(rawValue: 7)
    public static let c = ServiceLanguage(rawValue: 8)
    public static let swift = ServiceLanguage(rawValue: 9)

    public static let protoNames = [
        "SERVICE_LANGUAGE_UNSPECIFIED",
        "SERVICE_LANGUAGE_TYPESCRIPT",
        "SERVICE_LANGUAGE_RUST",
        "SERVICE_LANGUAGE_CPP",
        "SERVICE_LANGUAGE_GO",
        "SERVICE_LANGUAGE_PYTHON",
        "SERVICE_LANGUAGE_JAVA",
        "SERVICE_LANGUAGE_CSHARP",
        "SERVICE_LANGUAGE_C",
        "SERVICE_LANGUAGE_SWIFT",
    ]
}

/// Health as the application itself reports it in heartbeats.
public struct HealthState: WireEnum {
    public var rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    public static let unknown = HealthState(rawValue: 0)
    public static let starting = HealthState(rawValue: 1)
    public static let healthy = HealthState(rawValue: 2)
    public static let degraded = HealthState(rawValue: 3)
    public static let unhealthy = HealthState(rawValue: 4)

    public static let protoNames = [
        "HEALTH_STATE_UNKNOWN",
        "HEALTH_STATE_STARTING",
        "HEALTH_STATE_HEALTHY",
        "HEALTH_STATE_DEGRADED",
        "HEALTH_STATE_UNHEALTHY",
    ]
}

/// Liveness as the server's state machine sees it (docs/state-machine.md).
public struct ServiceState: WireEnum {
    public var rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    public static let unspecified = ServiceState(rawValue: 0)
    public static let registered = ServiceState(rawValue: 1)
    public static let idle = ServiceState(rawValue: 2)
    public static let active = ServiceState(rawValue: 3)
    public static let stale = ServiceState(rawValue: 4)
    public static let dead = ServiceState(rawValue: 5)

    public static let protoNames = [
        "SERVICE_STATE_UNSPECIFIED",
        "SERVICE_STATE_REGISTERED",
        "SERVICE_STATE_IDLE",
        "SERVICE_STATE_ACTIVE",
        "SERVICE_STATE_STALE",
        "SERVICE_STATE_DEAD",
    ]
}

/// The state of an edge (caller -> target).
public struct ConnectionState: WireEnum {
    public var rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    public static let unspecified = ConnectionState(rawValue: 0)
    public static let idle = ConnectionState(rawValue: 1)
    public static let active = ConnectionState(rawValue: 2)
    public static let failed = ConnectionState(rawValue: 3)

    public static let protoNames = [
        "CONNECTION_STATE_UNSPECIFIED",
        "CONNECTION_STATE_IDLE",
        "CONNECTION_STATE_ACTIVE",
        "CONNECTION_STATE_FAILED",
    ]
}

/// What a TopologyUpdate carries (PROGRESS is a Topology addition).
public struct UpdateType: WireEnum {
    public var rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    public static let unspecified = UpdateType(rawValue: 0)
    public static let snapshot = UpdateType(rawValue: 1)
    public static let nodeAdded = UpdateType(rawValue: 2)
    public static let nodeUpdated = UpdateType(rawValue: 3)
    public static let nodeRemoved = UpdateType(rawValue: 4)
    public static let edgeAdded = UpdateType(rawValue: 5)
    public static let edgeUpdated = UpdateType(rawValue: 6)
    public static let edgeRemoved = UpdateType(rawValue: 7)
    public static let progress = UpdateType(rawValue: 8)

    public static let protoNames = [
        "UPDATE_TYPE_UNSPECIFIED",
        "UPDATE_TYPE_SNAPSHOT",
        "UPDATE_TYPE_NODE_ADDED",
        "UPDATE_TYPE_NODE_UPDATED",
        "UPDATE_TYPE_NODE_REMOVED",
        "UPDATE_TYPE_EDGE_ADDED",
        "UPDATE_TYPE_EDGE_UPDATED",
        "UPDATE_TYPE_EDGE_REMOVED",
        "UPDATE_TYPE_PROGRESS",
    ]
}

/// What a ReportActivityRequest reports.
public struct ActivityType: WireEnum {
    public var rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    public static let unspecified = ActivityType(rawValue: 0)
    public static let requestSent = ActivityType(rawValue: 1)
    public static let responseReceived = ActivityType(rawValue: 2)
    public static let error = ActivityType(rawValue: 3)

    public static let protoNames = [
        "ACTIVITY_TYPE_UNSPECIFIED",
        "ACTIVITY_TYPE_REQUEST_SENT",
        "ACTIVITY_TYPE_RESPONSE_RECEIVED",
        "ACTIVITY_TYPE_ERROR",
    ]
}
