/// The protobuf wire types: the low three bits of every field tag, saying how the value that follows
/// is laid out (varint, 8 bytes, length-prefixed, 4 bytes). Groups (3 and 4) are obsolete and not used
/// by this schema; 6 and 7 are undefined.
enum WireType: UInt8 {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case startGroup = 3
    case endGroup = 4
    case fixed32 = 5
}

/// A field's number and its name in the protobuf JSON mapping (lowerCamelCase), as a message's
/// `traverse` hands them to a visitor.
public struct FieldID: Sendable {
    public let number: Int
    public let jsonName: StaticString

    @inlinable
    public init(_ number: Int, _ jsonName: StaticString) {
        self.number = number
        self.jsonName = jsonName
    }
}

/// The largest field number protobuf allows (2^29 - 1).
let maximumFieldNumber = 536_870_911
