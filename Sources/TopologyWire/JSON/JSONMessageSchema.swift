/// What the proto3 JSON reader needs to know of a message: its fields by json_name and proto name,
/// with their numbers and kinds. `JSONTranscoder` turns JSON into the message's binary encoding by
/// it, and the message's own binary decoder does the rest, so JSON and binary input obey one set of
/// decoding rules.
///
/// The writer needs no table (`traverse` names every field it writes); the reader must know the
/// fields that are absent too. The round-trip tests (JSONRoundTripTests) hold each table to its
/// message's `traverse`: every field, written by `JSONEncodingVisitor`, must read back.
public struct JSONMessageSchema: Sendable {
    /// The full protobuf name, e.g. `runtime.v1.RegisterServiceRequest`.
    let messageName: String
    let fields: [JSONField]

    init(_ messageName: String, _ fields: [JSONField]) {
        self.messageName = messageName
        self.fields = fields
    }

    /// The field a JSON key names: its json_name (`serviceName`) or its proto name (`service_name`),
    /// both of which proto3 JSON parsers accept.
    func field(named key: String) -> JSONField? {
        fields.first { $0.jsonName == key || $0.protoName == key }
    }

    /// The first path element of errors: the message name in lowerCamelCase (`registerServiceRequest`).
    var pathRoot: String {
        let name = messageName.split(separator: ".").last.map(String.init) ?? messageName
        return name.prefix(1).lowercased() + name.dropFirst()
    }
}

/// One field of a `JSONMessageSchema`.
struct JSONField: Sendable {
    let number: Int
    let jsonName: String
    /// The name in the .proto file; derived from `jsonName` (protoc derives json_name from it the
    /// other way, and every name of this schema is plain snake_case).
    let protoName: String
    let kind: JSONFieldKind
    let isRepeated: Bool

    init(_ number: Int, _ jsonName: String, _ kind: JSONFieldKind, repeated: Bool = false) {
        self.number = number
        self.jsonName = jsonName
        self.kind = kind
        self.isRepeated = repeated
        var snake = ""
        for character in jsonName {
            if character.isUppercase { snake += "_" + character.lowercased() } else { snake.append(character) }
        }
        self.protoName = snake
    }
}

/// A field's protobuf type, as far as JSON and the binary encoding care.
enum JSONFieldKind: Sendable {
    case string
    case bool
    case int32
    /// sint32: the same JSON as int32, zigzag on the wire.
    case sint32
    case int64
    case uint64
    case double
    /// An enum, by its value names (index = number: every enum of this schema is numbered 0, 1, ...).
    case enumeration([String])
    case message(JSONMessageSchema)
    /// `map<string, string>`: an object of strings.
    case stringMap
    /// A message of a recursive schema (OTLP's attribute values), named lazily so the tables can
    /// refer to each other.
    case recursiveMessage(@Sendable () -> JSONMessageSchema)
    /// fixed64: the same JSON as uint64, eight bytes on the wire (OTLP's timestamps).
    case fixed64
    /// bytes, as proto3 JSON writes them: base64, standard or URL-safe, padded or not.
    case base64Bytes
    /// bytes as OTLP JSON writes trace and span ids: hex digits, either case.
    case hexBytes
}
