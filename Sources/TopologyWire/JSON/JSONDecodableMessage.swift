/// A message that can be read from the proto3 JSON mapping (the request messages of the six RPCs and
/// what they contain: Connect's `application/json`, the reporter API).
public protocol JSONDecodableMessage: WireMessage {
    /// Its fields as JSON names them (see `JSONMessageSchema`).
    static var jsonSchema: JSONMessageSchema { get }
}

/// Limits and leniency of `JSONDecodableMessage.init(jsonUTF8:options:)`.
public struct JSONDecodingOptions: Sendable {
    /// Longer inputs are refused unread (the caller's request body limit, typically).
    public var maximumSize: Int
    /// Arrays and objects nested deeper are refused, known fields or not.
    public var maximumDepth: Int
    /// Whether keys that name no field are skipped. Off by default, as in the official parsers
    /// (`json_format.Parse`, protojson) and in connect-go's JSON codec, which uses protojson's
    /// defaults: a misspelt field is then an error, not silently a default.
    public var ignoreUnknownFields: Bool

    public init(maximumSize: Int, maximumDepth: Int = 64, ignoreUnknownFields: Bool = false) {
        self.maximumSize = maximumSize
        self.maximumDepth = maximumDepth
        self.ignoreUnknownFields = ignoreUnknownFields
    }
}

extension JSONDecodableMessage {
    /// Reads the message from a JSON text in the proto3 JSON mapping. Throws `JSONDecodingError`.
    public init(jsonUTF8 bytes: [UInt8], options: JSONDecodingOptions) throws {
        let value: JSONValue
        do {
            value = try JSONParser(maximumSize: options.maximumSize, maximumDepth: options.maximumDepth).parse(bytes)
        } catch let error as JSONParseError {
            throw JSONDecodingError.syntax(error)
        }
        try self.init(json: value, ignoreUnknownFields: options.ignoreUnknownFields)
    }

    /// Reads the message from a parsed JSON value. Throws `JSONDecodingError`.
    public init(json value: JSONValue, ignoreUnknownFields: Bool = false) throws {
        var binary: [UInt8] = []
        let schema = Self.jsonSchema
        try JSONTranscoder(ignoreUnknownFields: ignoreUnknownFields)
            .encodeMessage(value, schema, path: schema.pathRoot, into: &binary)
        // Well-formed by construction, with strings already valid Unicode: the binary decoder adds
        // its value rules (open enums, presence), not errors.
        try self.init(serializedBytes: binary)
    }
}
