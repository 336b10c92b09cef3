// A span (opentelemetry/proto/trace/v1/trace.proto), with the fields the service graph reads.
// Events, links, trace state and flags are skipped as unknown fields.

/// A `Span`.
public struct OTLPSpan: WireDecodable, Equatable, Sendable {
    /// 16 bytes, or empty (absent).
    public var traceID: [UInt8] = []
    /// 8 bytes, or empty (absent).
    public var spanID: [UInt8] = []
    /// 8 bytes, or empty for a root span.
    public var parentSpanID: [UInt8] = []
    public var name = ""
    public var kind = OTLPSpanKind.unspecified
    public var startTimeUnixNano: UInt64 = 0
    public var endTimeUnixNano: UInt64 = 0
    public var attributes: [OTLPKeyValue] = []
    public var status: OTLPSpanStatus?

    public init() {}

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decodeID(&traceID, length: 16, field: "trace_id", &decoder)
        case 2: return try decodeID(&spanID, length: 8, field: "span_id", &decoder)
        case 4: return try decodeID(&parentSpanID, length: 8, field: "parent_span_id", &decoder)
        case 5: return try decoder.decode(&name)
        case 6: return try decoder.decode(&kind)
        case 7: return try decoder.decodeFixed64(&startTimeUnixNano)
        case 8: return try decoder.decodeFixed64(&endTimeUnixNano)
        case 9: return try decoder.decode(&attributes)
        case 15: return try decoder.decode(&status)
        default: return false
        }
    }

    /// Ids have one length; anything else is a broken exporter, refused rather than guessed at.
    private func decodeID(_ id: inout [UInt8], length: Int, field: String, _ decoder: inout BinaryDecoder) throws -> Bool {
        guard try decoder.decode(&id) else { return false }
        guard id.isEmpty || id.count == length else {
            throw OTLPDecodingError.invalidID(field: field, length: id.count, expected: length)
        }
        return true
    }
}

/// `Span.SpanKind`. Open, as every enum here (see `WireEnum`).
public struct OTLPSpanKind: WireEnum {
    public var rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    public static let unspecified = OTLPSpanKind(rawValue: 0)
    public static let `internal` = OTLPSpanKind(rawValue: 1)
    public static let server = OTLPSpanKind(rawValue: 2)
    public static let client = OTLPSpanKind(rawValue: 3)
    public static let producer = OTLPSpanKind(rawValue: 4)
    public static let consumer = OTLPSpanKind(rawValue: 5)

    public static let protoNames = [
        "SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
        "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER",
    ]
}

/// A span's `Status`.
public struct OTLPSpanStatus: WireDecodable, Equatable, Sendable {
    public var message = ""
    public var code = OTLPStatusCode.unset

    public init() {}

    public init(code: OTLPStatusCode, message: String = "") {
        self.code = code
        self.message = message
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 2: return try decoder.decode(&message)
        case 3: return try decoder.decode(&code)
        default: return false
        }
    }
}

/// `Status.StatusCode`.
public struct OTLPStatusCode: WireEnum {
    public var rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    public static let unset = OTLPStatusCode(rawValue: 0)
    public static let ok = OTLPStatusCode(rawValue: 1)
    public static let error = OTLPStatusCode(rawValue: 2)

    public static let protoNames = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"]
}
