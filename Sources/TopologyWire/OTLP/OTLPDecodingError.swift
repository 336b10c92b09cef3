/// Why an OTLP trace request was refused whole. Each description is meant for the person who runs
/// the exporter: what was wrong, and where to look.
public enum OTLPDecodingError: Error, Equatable, Sendable {
    /// The body is larger than the limit.
    case tooLarge(size: Int, limit: Int)
    /// The bytes are not a protobuf `ExportTraceServiceRequest` (truncated, bad varint, too deep,
    /// too many elements...).
    case malformed(WireDecodingError)
    /// The JSON is not JSON, or not an `ExportTraceServiceRequest` in the OTLP JSON mapping.
    case json(JSONDecodingError)
    /// A trace, span or parent span id of the wrong length (trace ids are 16 bytes, span ids 8).
    case invalidID(field: String, length: Int, expected: Int)
}

extension OTLPDecodingError: CustomStringConvertible {
    public var description: String {
        switch self {
        case let .tooLarge(size, limit):
            return "the request is \(size) bytes, over the limit of \(limit): export smaller batches "
                + "(the SDK's max_export_batch_size, the Collector's batch processor send_batch_max_size)"
        case let .malformed(.tooDeep(limit, offset)):
            return "not an OTLP ExportTraceServiceRequest: attribute values nested deeper than \(limit) "
                + "messages (offset \(offset))"
        case let .malformed(.tooManyElements(limit, offset)):
            return "the request holds more than \(limit) resources, scopes, spans, attributes and array "
                + "elements together (offset \(offset)): export smaller batches"
        case let .malformed(error):
            return "not an OTLP ExportTraceServiceRequest in protobuf: \(error)"
        case let .json(error):
            return "not an OTLP ExportTraceServiceRequest in JSON: \(error)"
        case let .invalidID(field, length, expected):
            return "a span's \(field) is \(length) bytes; OTLP ids are \(expected) bytes "
                + "(\(expected * 2) hex digits in JSON)"
        }
    }
}
