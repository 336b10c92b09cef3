// Heartbeat (bidirectional stream).

/// One heartbeat of a registered service, optionally with metrics and application health.
public struct HeartbeatRequest: WireMessage {
    public static let protoMessageName = "runtime.v1.HeartbeatRequest"

    public var serviceId: String = ""
    public var sequence: Int64 = 0
    public var metrics: ServiceMetrics? = nil
    public var health: ApplicationHealth? = nil

    public init() {}

    public init(
        serviceId: String = "",
        sequence: Int64 = 0,
        metrics: ServiceMetrics? = nil,
        health: ApplicationHealth? = nil
    ) {
        self.serviceId = serviceId
        self.sequence = sequence
        self.metrics = metrics
        self.health = health
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.string(serviceId, FieldID(1, "serviceId"))
        visitor.int64(sequence, FieldID(2, "sequence"))
        visitor.message(metrics, FieldID(3, "metrics"))
        visitor.message(health, FieldID(4, "health"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&serviceId)
        case 2: return try decoder.decode(&sequence)
        case 3: return try decoder.decode(&metrics)
        case 4: return try decoder.decode(&health)
        default: return false
        }
    }
}

/// Echoes the heartbeat's sequence. `acknowledged` is false (with Status NOT_FOUND on the frame)
/// when the server does not know the service: the client's cue to register again.
public struct HeartbeatResponse: WireMessage {
    public static let protoMessageName = "runtime.v1.HeartbeatResponse"

    public var sequence: Int64 = 0
    public var acknowledged: Bool = false
    public var serverEpoch: String = ""

    public init() {}

    public init(
        sequence: Int64 = 0,
        acknowledged: Bool = false,
        serverEpoch: String = ""
    ) {
        self.sequence = sequence
        self.acknowledged = acknowledged
        self.serverEpoch = serverEpoch
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.int64(sequence, FieldID(1, "sequence"))
        visitor.bool(acknowledged, FieldID(2, "acknowledged"))
        visitor.string(serverEpoch, FieldID(20, "serverEpoch"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&sequence)
        case 2: return try decoder.decode(&acknowledged)
        case 20: return try decoder.decode(&serverEpoch)
        default: return false
        }
    }
}
