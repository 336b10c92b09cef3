/// An OTLP `ExportTraceServiceRequest` (opentelemetry/proto/collector/trace/v1/trace_service.proto),
/// the body of `POST /v1/traces` and of the gRPC `TraceService/Export`.
///
/// Decoded by the same `BinaryDecoder` as Topology's own messages, with `OTLPDecodingLimits`: unknown
/// fields are skipped (OTLP grows by adding fields), ids must have their length, and the recursive
/// attribute values are bounded in depth and count.
public struct OTLPTraceRequest: WireDecodable, Equatable, Sendable {
    public static let protoMessageName = "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest"

    public var resourceSpans: [OTLPResourceSpans] = []

    public init() {}

    public init(resourceSpans: [OTLPResourceSpans]) {
        self.resourceSpans = resourceSpans
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        number == 1 ? try decoder.decode(&resourceSpans) : false
    }

    /// Spans in the request, all resources and scopes together.
    public var spanCount: Int {
        resourceSpans.reduce(0) { total, resource in resource.scopeSpans.reduce(total) { $0 + $1.spans.count } }
    }

    /// Decodes the protobuf encoding (`application/x-protobuf`, gRPC). Throws `OTLPDecodingError`.
    public init(protobuf bytes: UnsafeRawBufferPointer, limits: OTLPDecodingLimits) throws {
        self.init()
        guard bytes.count <= limits.maximumBytes else {
            throw OTLPDecodingError.tooLarge(size: bytes.count, limit: limits.maximumBytes)
        }
        var decoder = BinaryDecoder(bytes, limits: limits.wireLimits)
        do {
            try decoder.decodeFields(into: &self)
        } catch let error as WireDecodingError {
            throw OTLPDecodingError.malformed(error)
        }
    }

    public init(protobuf bytes: [UInt8], limits: OTLPDecodingLimits) throws {
        self = try bytes.withUnsafeBytes { try OTLPTraceRequest(protobuf: $0, limits: limits) }
    }

    /// Decodes the OTLP JSON encoding (`application/json`): the proto3 JSON mapping with OTLP's
    /// differences (ids in hex, not base64; enums as numbers, names accepted too; unknown keys
    /// ignored, as the OTLP specification requires of receivers). Read by the shared `JSONParser`,
    /// turned into protobuf bytes by `JSONTranscoder`, then decoded as protobuf: one set of rules and
    /// limits for both. Throws `OTLPDecodingError`.
    public init(json bytes: [UInt8], limits: OTLPDecodingLimits) throws {
        let value: JSONValue
        do {
            // JSON spends up to two levels (an object and an array) per message level; the binary
            // decoder below holds the request to `maximumDepth` itself.
            value = try JSONParser(maximumSize: limits.maximumBytes, maximumDepth: 2 * limits.maximumDepth).parse(bytes)
        } catch let error as JSONParseError {
            throw OTLPDecodingError.json(.syntax(error))
        }
        var binary: [UInt8] = []
        do {
            let schema = OTLPJSONSchema.request
            try JSONTranscoder(ignoreUnknownFields: true).encodeMessage(value, schema, path: schema.pathRoot, into: &binary)
        } catch let error as JSONDecodingError {
            throw OTLPDecodingError.json(error)
        }
        // The binary form of a JSON body can be longer than the body (a "1" becomes eight bytes of
        // fixed64); the element and depth limits, not the size, bound what JSON can cost.
        var binaryLimits = limits
        binaryLimits.maximumBytes = .max
        try self.init(protobuf: binary, limits: binaryLimits)
    }
}

/// How much an OTLP request may hold. Every bound is checked while decoding, before the memory is
/// spent.
public struct OTLPDecodingLimits: Sendable, Equatable {
    /// Bytes of the encoded request (for JSON, of the JSON text).
    public var maximumBytes: Int
    /// Messages nested in one another (binary) or arrays and objects (JSON). A span's attribute sits
    /// at depth 5; each level of array or key-value list inside an attribute value adds 2.
    public var maximumDepth: Int
    /// Resources, scopes, spans, attributes and array elements, all together. A span costs a few
    /// hundred bytes decoded and can take two on the wire; this bounds the memory a request costs by
    /// a figure that does not grow with the body limit.
    public var maximumElements: Int

    public init(maximumBytes: Int, maximumDepth: Int = 32, maximumElements: Int = 262_144) {
        self.maximumBytes = maximumBytes
        self.maximumDepth = maximumDepth
        self.maximumElements = maximumElements
    }

    var wireLimits: WireDecodingLimits {
        WireDecodingLimits(maximumDepth: maximumDepth, maximumElements: maximumElements)
    }
}
