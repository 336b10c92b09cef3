// ReportActivity (client stream).

/// A latency distribution in log-scaled buckets (a Topology addition): bucket i holds latencies L
/// with 1.02^(i-1) < L <= 1.02^i milliseconds; latencies <= 0 count in `zeroCount`. `indexes` and
/// `counts` are parallel arrays in increasing index order.
public struct LatencyHistogram: WireMessage {
    public static let protoMessageName = "runtime.v1.LatencyHistogram"

    public var indexes: [Int32] = []
    public var counts: [UInt64] = []
    public var zeroCount: UInt64 = 0

    public init() {}

    public init(
        indexes: [Int32] = [],
        counts: [UInt64] = [],
        zeroCount: UInt64 = 0
    ) {
        self.indexes = indexes
        self.counts = counts
        self.zeroCount = zeroCount
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.packedSInt32(indexes, FieldID(1, "indexes"))
        visitor.packedUInt64(counts, FieldID(2, "counts"))
        visitor.uint64(zeroCount, FieldID(3, "zeroCount"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decodeSInt32s(&indexes)
        case 2: return try decoder.decode(&counts)
        case 3: return try decoder.decode(&zeroCount)
        default: return false
        }
    }
}

/// One call, or a batch of `batchSize` calls, from a service to `targetService`.
public struct ReportActivityRequest: WireMessage {
    public static let protoMessageName = "runtime.v1.ReportActivityRequest"

    public var serviceId: String = ""
    public var targetService: String = ""
    public var type: ActivityType = .unspecified
    public var timestampMs: Int64? = nil
    public var latencyMs: Int32? = nil
    public var method: String? = nil
    public var success: Bool? = nil
    public var batchSize: Int32? = nil
    public var errorMessage: String? = nil
    public var latencyHistogram: LatencyHistogram? = nil
    public var errorCount: Int32? = nil

    public init() {}

    public init(
        serviceId: String = "",
        targetService: String = "",
        type: ActivityType = .unspecified,
        timestampMs: Int64? = nil,
        latencyMs: Int32? = nil,
        method: String? = nil,
        success: Bool? = nil,
        batchSize: Int32? = nil,
        errorMessage: String? = nil,
        latencyHistogram: LatencyHistogram? = nil,
        errorCount: Int32? = nil
    ) {
        self.serviceId = serviceId
        self.targetService = targetService
        self.type = type
        self.timestampMs = timestampMs
        self.latencyMs = latencyMs
        self.method = method
        self.success = success
        self.batchSize = batchSize
        self.errorMessage = errorMessage
        self.latencyHistogram = latencyHistogram
        self.errorCount = errorCount
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.string(serviceId, FieldID(1, "serviceId"))
        visitor.string(targetService, FieldID(2, "targetService"))
        visitor.enumValue(type, FieldID(3, "type"))
        visitor.int64(timestampMs, FieldID(4, "timestampMs"))
        visitor.int32(latencyMs, FieldID(5, "latencyMs"))
        visitor.string(method, FieldID(6, "method"))
        visitor.bool(success, FieldID(7, "success"))
        visitor.int32(batchSize, FieldID(8, "batchSize"))
        visitor.string(errorMessage, FieldID(9, "errorMessage"))
        visitor.message(latencyHistogram, FieldID(20, "latencyHistogram"))
        visitor.int32(errorCount, FieldID(21, "errorCount"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&serviceId)
        case 2: return try decoder.decode(&targetService)
        case 3: return try decoder.decode(&type)
        case 4: return try decoder.decode(&timestampMs)
        case 5: return try decoder.decode(&latencyMs)
        case 6: return try decoder.decode(&method)
        case 7: return try decoder.decode(&success)
        case 8: return try decoder.decode(&batchSize)
        case 9: return try decoder.decode(&errorMessage)
        case 20: return try decoder.decode(&latencyHistogram)
        case 21: return try decoder.decode(&errorCount)
        default: return false
        }
    }
}

/// Sent once, when the client ends its activity stream.
public struct ReportActivityResponse: WireMessage {
    public static let protoMessageName = "runtime.v1.ReportActivityResponse"

    public var acknowledged: Bool = false
    public var acceptedEvents: Int64 = 0

    public init() {}

    public init(
        acknowledged: Bool = false,
        acceptedEvents: Int64 = 0
    ) {
        self.acknowledged = acknowledged
        self.acceptedEvents = acceptedEvents
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.bool(acknowledged, FieldID(1, "acknowledged"))
        visitor.int64(acceptedEvents, FieldID(2, "acceptedEvents"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&acknowledged)
        case 2: return try decoder.decode(&acceptedEvents)
        default: return false
        }
    }
}
