// What a service says about itself: metadata, resource metrics and application health.

/// Deployment facts a service reports at registration; every field optional.
public struct ServiceMetadata: WireMessage {
    public static let protoMessageName = "runtime.v1.ServiceMetadata"

    public var region: String? = nil
    public var environment: String? = nil
    public var team: String? = nil
    public var versionHash: String? = nil
    public var serviceInterface: String? = nil
    public var serviceRole: String? = nil
    public var programName: String? = nil

    public init() {}

    public init(
        region: String? = nil,
        environment: String? = nil,
        team: String? = nil,
        versionHash: String? = nil,
        serviceInterface: String? = nil,
        serviceRole: String? = nil,
        programName: String? = nil
    ) {
        self.region = region
        self.environment = environment
        self.team = team
        self.versionHash = versionHash
        self.serviceInterface = serviceInterface
        self.serviceRole = serviceRole
        self.programName = programName
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.string(region, FieldID(1, "region"))
        visitor.string(environment, FieldID(2, "environment"))
        visitor.string(team, FieldID(3, "team"))
        visitor.string(versionHash, FieldID(4, "versionHash"))
        visitor.string(serviceInterface, FieldID(5, "serviceInterface"))
        visitor.string(serviceRole, FieldID(6, "serviceRole"))
        visitor.string(programName, FieldID(7, "programName"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&region)
        case 2: return try decoder.decode(&environment)
        case 3: return try decoder.decode(&team)
        case 4: return try decoder.decode(&versionHash)
        case 5: return try decoder.decode(&serviceInterface)
        case 6: return try decoder.decode(&serviceRole)
        case 7: return try decoder.decode(&programName)
        default: return false
        }
    }
}

/// Resource use a service reports in its heartbeats.
public struct ServiceMetrics: WireMessage {
    public static let protoMessageName = "runtime.v1.ServiceMetrics"

    public var cpuPercent: Double = 0
    public var memoryBytes: UInt64 = 0

    public init() {}

    public init(
        cpuPercent: Double = 0,
        memoryBytes: UInt64 = 0
    ) {
        self.cpuPercent = cpuPercent
        self.memoryBytes = memoryBytes
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.double(cpuPercent, FieldID(1, "cpuPercent"))
        visitor.uint64(memoryBytes, FieldID(2, "memoryBytes"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&cpuPercent)
        case 2: return try decoder.decode(&memoryBytes)
        default: return false
        }
    }
}

/// The application's own view of its health, carried by heartbeats.
public struct ApplicationHealth: WireMessage {
    public static let protoMessageName = "runtime.v1.ApplicationHealth"

    public var state: HealthState = .unknown
    public var message: String? = nil
    public var errorCount: Int32? = nil

    public init() {}

    public init(
        state: HealthState = .unknown,
        message: String? = nil,
        errorCount: Int32? = nil
    ) {
        self.state = state
        self.message = message
        self.errorCount = errorCount
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.enumValue(state, FieldID(1, "state"))
        visitor.string(message, FieldID(2, "message"))
        visitor.int32(errorCount, FieldID(3, "errorCount"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&state)
        case 2: return try decoder.decode(&message)
        case 3: return try decoder.decode(&errorCount)
        default: return false
        }
    }
}
