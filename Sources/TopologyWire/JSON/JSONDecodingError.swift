/// Why a JSON text is not a message in the proto3 JSON mapping. `path` names the field from the
/// message down, by the names the JSON used and with array indexes:
/// `getTopologyRequest.query.states[2]`.
public enum JSONDecodingError: Error, Equatable, Sendable {
    /// The text is not JSON at all.
    case syntax(JSONParseError)
    /// The value has the wrong JSON type for its field (`found` as `JSONValue.kindDescription`).
    case wrongType(path: String, expected: String, found: String)
    /// The message has no field of this name (json_name or proto name).
    case unknownField(path: String, name: String, known: [String])
    /// One field is given twice in the object, once by its json_name and once by its proto name.
    case fieldGivenTwice(path: String, names: [String])
    /// An integer field's value has a fraction (1.5), or a string that is not a number.
    case notAnInteger(path: String, text: String)
    /// A number outside the field's range (an int32 of 2^31, a uint64 of -1, a double of 1e400).
    case outOfRange(path: String, text: String, type: String)
    /// An enum name this build does not know (numbers are always accepted: proto3 enums are open).
    case unknownEnumName(path: String, name: String, known: [String])
    /// `null` inside an array: proto3 JSON has no null elements.
    case nullInArray(path: String)
}

extension JSONDecodingError: CustomStringConvertible {
    public var description: String {
        switch self {
        case let .syntax(error):
            return "invalid JSON: \(error)"
        case let .wrongType(path, expected, found):
            return "\(path): expected \(expected), found \(found)"
        case let .unknownField(path, name, known):
            return "\(path): no field named \"\(name)\"; known fields: \(known.joined(separator: ", "))"
        case let .fieldGivenTwice(path, names):
            return "\(path): the field is given twice, as \(names.map { "\"\($0)\"" }.joined(separator: " and "))"
        case let .notAnInteger(path, text):
            return "\(path): expected an integer, found \(text)"
        case let .outOfRange(path, text, type):
            return "\(path): \(text) is out of range for \(type)"
        case let .unknownEnumName(path, name, known):
            return "\(path): unknown enum value \"\(name)\"; expected one of \(known.joined(separator: ", ")) or a number"
        case let .nullInArray(path):
            return "\(path): null is not allowed as an array element"
        }
    }
}
