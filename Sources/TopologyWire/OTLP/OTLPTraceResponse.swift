/// An OTLP `ExportTraceServiceResponse`: empty when every span was taken; otherwise
/// `partialSuccess` says how many were refused and why (the request still succeeded, and the
/// exporter must not retry it).
public struct OTLPTraceResponse: WireMessage {
    public static let protoMessageName = "opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse"

    public var partialSuccess: OTLPPartialSuccess?

    public init() {}

    public init(partialSuccess: OTLPPartialSuccess?) {
        self.partialSuccess = partialSuccess
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.message(partialSuccess, FieldID(1, "partialSuccess"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        number == 1 ? try decoder.decode(&partialSuccess) : false
    }
}

/// `ExportTracePartialSuccess`.
public struct OTLPPartialSuccess: WireMessage {
    public static let protoMessageName = "opentelemetry.proto.collector.trace.v1.ExportTracePartialSuccess"

    public var rejectedSpans: Int64 = 0
    public var errorMessage = ""

    public init() {}

    public init(rejectedSpans: Int64, errorMessage: String) {
        self.rejectedSpans = rejectedSpans
        self.errorMessage = errorMessage
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.int64(rejectedSpans, FieldID(1, "rejectedSpans"))
        visitor.string(errorMessage, FieldID(2, "errorMessage"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&rejectedSpans)
        case 2: return try decoder.decode(&errorMessage)
        default: return false
        }
    }
}
