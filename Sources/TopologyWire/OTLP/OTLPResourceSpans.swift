// The envelopes around spans: `ResourceSpans` (who sent them) and `ScopeSpans` (which library made
// them; the scope itself is skipped, nothing here reads it).

/// A `ResourceSpans`: the spans of one resource (a service instance).
public struct OTLPResourceSpans: WireDecodable, Equatable, Sendable {
    /// The attributes of its `Resource` (`service.name`, `service.namespace`, ...).
    public var resourceAttributes: [OTLPKeyValue] = []
    public var scopeSpans: [OTLPScopeSpans] = []

    public init() {}

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1:
            // `Resource`: attributes = 1; its other fields are skipped.
            var resource: OTLPValueList<OTLPKeyValue>? = OTLPValueList(resourceAttributes)
            guard try decoder.decode(&resource), let resource else { return false }
            resourceAttributes = resource.values
            return true
        case 2: return try decoder.decode(&scopeSpans)
        default: return false
        }
    }
}

/// A `ScopeSpans`.
public struct OTLPScopeSpans: WireDecodable, Equatable, Sendable {
    public var spans: [OTLPSpan] = []

    public init() {}

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        number == 2 ? try decoder.decode(&spans) : false
    }
}
