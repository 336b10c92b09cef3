// RegisterService and UnregisterService (unary calls).

/// Opens a registration. `serviceID` (a Topology addition) asks to keep an identity the client
/// was given before: after a server restart or a DEAD declaration the node comes back under it.
/// `labels` (a Topology addition) are free-form key/value pairs, replaced whole by each registration.
public struct RegisterServiceRequest: WireMessage {
    public static let protoMessageName = "runtime.v1.RegisterServiceRequest"

    public var serviceName: String = ""
    public var serviceType: ServiceType = .unspecified
    public var language: ServiceLanguage = .unspecified
    public var version: String? = nil
    public var address: String? = nil
    public var host: String? = nil
    public var metadata: ServiceMetadata? = nil
    public var serviceId: String? = nil
    public var labels: [String: String] = [:]

    public init() {}

    public init(
        serviceName: String = "",
        serviceType: ServiceType = .unspecified,
        language: ServiceLanguage = .unspecified,
        version: String? = nil,
        address: String? = nil,
        host: String? = nil,
        metadata: ServiceMetadata? = nil,
        serviceId: String? = nil,
        labels: [String: String] = [:]
    ) {
        self.serviceName = serviceName
        self.serviceType = serviceType
        self.language = language
        self.version = version
        self.address = address
        self.host = host
        self.metadata = metadata
        self.serviceId = serviceId
        self.labels = labels
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.string(serviceName, FieldID(1, "serviceName"))
        visitor.enumValue(serviceType, FieldID(2, "serviceType"))
        visitor.enumValue(language, FieldID(3, "language"))
        visitor.string(version, FieldID(4, "version"))
        visitor.string(address, FieldID(5, "address"))
        visitor.string(host, FieldID(6, "host"))
        visitor.message(metadata, FieldID(7, "metadata"))
        visitor.string(serviceId, FieldID(20, "serviceId"))
        visitor.stringMap(labels, FieldID(21, "labels"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&serviceName)
        case 2: return try decoder.decode(&serviceType)
        case 3: return try decoder.decode(&language)
        case 4: return try decoder.decode(&version)
        case 5: return try decoder.decode(&address)
        case 6: return try decoder.decode(&host)
        case 7: return try decoder.decode(&metadata)
        case 20: return try decoder.decode(&serviceId)
        case 21: return try decoder.decode(&labels)
        default: return false
        }
    }
}

/// What a registered service needs to stay alive: its id and the heartbeat timing, plus the
/// server epoch and activity flush period (Topology additions).
public struct ServiceHandle: WireMessage {
    public static let protoMessageName = "runtime.v1.ServiceHandle"

    public var serviceId: String = ""
    public var heartbeatIntervalMs: Int32 = 0
    public var timeoutMultiplier: Int32 = 0
    public var serverEpoch: String = ""
    public var activityFlushMs: Int32 = 0

    public init() {}

    public init(
        serviceId: String = "",
        heartbeatIntervalMs: Int32 = 0,
        timeoutMultiplier: Int32 = 0,
        serverEpoch: String = "",
        activityFlushMs: Int32 = 0
    ) {
        self.serviceId = serviceId
        self.heartbeatIntervalMs = heartbeatIntervalMs
        self.timeoutMultiplier = timeoutMultiplier
        self.serverEpoch = serverEpoch
        self.activityFlushMs = activityFlushMs
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.string(serviceId, FieldID(1, "serviceId"))
        visitor.int32(heartbeatIntervalMs, FieldID(2, "heartbeatIntervalMs"))
        visitor.int32(timeoutMultiplier, FieldID(3, "timeoutMultiplier"))
        visitor.string(serverEpoch, FieldID(20, "serverEpoch"))
        visitor.int32(activityFlushMs, FieldID(21, "activityFlushMs"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&serviceId)
        case 2: return try decoder.decode(&heartbeatIntervalMs)
        case 3: return try decoder.decode(&timeoutMultiplier)
        case 20: return try decoder.decode(&serverEpoch)
        case 21: return try decoder.decode(&activityFlushMs)
        default: return false
        }
    }
}

/// The answer to RegisterServiceRequest.
public struct RegisterServiceResponse: WireMessage {
    public static let protoMessageName = "runtime.v1.RegisterServiceResponse"

    public var handle: ServiceHandle? = nil

    public init() {}

    public init(
        handle: ServiceHandle? = nil
    ) {
        self.handle = handle
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.message(handle, FieldID(1, "handle"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&handle)
        default: return false
        }
    }
}

/// Removes a service at once (no DEAD state).
public struct UnregisterServiceRequest: WireMessage {
    public static let protoMessageName = "runtime.v1.UnregisterServiceRequest"

    public var serviceId: String = ""

    public init() {}

    public init(
        serviceId: String = ""
    ) {
        self.serviceId = serviceId
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.string(serviceId, FieldID(1, "serviceId"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&serviceId)
        default: return false
        }
    }
}

/// Whether the service was known and is now removed.
public struct UnregisterServiceResponse: WireMessage {
    public static let protoMessageName = "runtime.v1.UnregisterServiceResponse"

    public var removed: Bool = false

    public init() {}

    public init(
        removed: Bool = false
    ) {
        self.removed = removed
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.bool(removed, FieldID(1, "removed"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&removed)
        default: return false
        }
    }
}
