/// The OTLP JSON field tables of what `OTLPTraceRequest` reads, for `JSONTranscoder`. Field numbers
/// as in opentelemetry-proto; keys in lowerCamelCase (the proto names are accepted too). Fields
/// not listed are ignored, as OTLP requires of receivers.
enum OTLPJSONSchema {
    static let request: JSONMessageSchema = JSONMessageSchema(OTLPTraceRequest.protoMessageName, [
        JSONField(1, "resourceSpans", .message(resourceSpans), repeated: true),
    ])

    static let resourceSpans: JSONMessageSchema = JSONMessageSchema("opentelemetry.proto.trace.v1.ResourceSpans", [
        JSONField(1, "resource", .message(resource)),
        JSONField(2, "scopeSpans", .message(scopeSpans), repeated: true),
    ])

    static let resource: JSONMessageSchema = JSONMessageSchema("opentelemetry.proto.resource.v1.Resource", [
        JSONField(1, "attributes", .message(keyValue), repeated: true),
    ])

    static let scopeSpans: JSONMessageSchema = JSONMessageSchema("opentelemetry.proto.trace.v1.ScopeSpans", [
        JSONField(2, "spans", .message(span), repeated: true),
    ])

    static let span: JSONMessageSchema = JSONMessageSchema("opentelemetry.proto.trace.v1.Span", [
        JSONField(1, "traceId", .hexBytes), JSONField(2, "spanId", .hexBytes),
        JSONField(4, "parentSpanId", .hexBytes), JSONField(5, "name", .string),
        JSONField(6, "kind", .enumeration(OTLPSpanKind.protoNames)),
        JSONField(7, "startTimeUnixNano", .fixed64), JSONField(8, "endTimeUnixNano", .fixed64),
        JSONField(9, "attributes", .message(keyValue), repeated: true),
        JSONField(15, "status", .message(status)),
    ])

    static let status: JSONMessageSchema = JSONMessageSchema("opentelemetry.proto.trace.v1.Status", [
        JSONField(2, "message", .string), JSONField(3, "code", .enumeration(OTLPStatusCode.protoNames)),
    ])

    static let keyValue: JSONMessageSchema = JSONMessageSchema("opentelemetry.proto.common.v1.KeyValue", [
        JSONField(1, "key", .string), JSONField(2, "value", .message(anyValue)),
    ])

    // The recursion: a value holds lists of values. The lists name their element lazily, or these
    // tables would be infinite.
    static let anyValue: JSONMessageSchema = JSONMessageSchema("opentelemetry.proto.common.v1.AnyValue", [
        JSONField(1, "stringValue", .string), JSONField(2, "boolValue", .bool),
        JSONField(3, "intValue", .int64), JSONField(4, "doubleValue", .double),
        JSONField(5, "arrayValue", .recursiveMessage { OTLPJSONSchema.arrayValue }),
        JSONField(6, "kvlistValue", .recursiveMessage { OTLPJSONSchema.keyValueList }),
        JSONField(7, "bytesValue", .base64Bytes),
    ])

    static let arrayValue: JSONMessageSchema = JSONMessageSchema("opentelemetry.proto.common.v1.ArrayValue", [
        JSONField(1, "values", .message(anyValue), repeated: true),
    ])

    static let keyValueList: JSONMessageSchema = JSONMessageSchema("opentelemetry.proto.common.v1.KeyValueList", [
        JSONField(1, "values", .message(keyValue), repeated: true),
    ])
}
