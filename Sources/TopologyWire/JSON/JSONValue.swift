/// A JSON value as RFC 8259 defines it, read by `JSONParser`.
///
/// Numbers keep the text they were written as (`JSONNumber`): whether "9007199254740993" is an
/// Int64, a UInt64 or a Double is for the reader to say, and none of them loses a digit on the way.
/// Object members keep their document order; the parser rejects a key that occurs twice in one
/// object, so a key names at most one member.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object([Member])

    /// One `"key": value` of an object.
    public struct Member: Equatable, Sendable {
        public var key: String
        public var value: JSONValue

        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// The value of `key` when this is an object that has it.
    public subscript(key: String) -> JSONValue? {
        guard case let .object(members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// What kind of value this is, for error messages ("expected a string, found a number").
    public var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
