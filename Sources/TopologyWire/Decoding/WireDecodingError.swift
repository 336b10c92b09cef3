/// Why bytes could not be decoded as a message. Offsets count from the first byte of the outermost
/// message being decoded (for a frame: the first byte after its length prefix).
public enum WireDecodingError: Error, Equatable, Sendable {
    /// The bytes end in the middle of a tag, a value or a length-delimited field.
    case truncated(offset: Int, needed: Int, available: Int)
    /// A varint runs over 10 bytes (no 64-bit value needs more), or a tag or length over 5 bytes.
    case malformedVarint(offset: Int)
    /// A tag has field number 0, or one above 2^29 - 1.
    case invalidFieldNumber(UInt64, offset: Int)
    /// A tag has wire type 6 or 7, which protobuf does not define.
    case invalidWireType(UInt8, field: Int, offset: Int)
    /// A tag has wire type 3 or 4 (groups): deprecated, and used by no field of this schema.
    case groupNotSupported(field: Int, offset: Int)
    /// A string field holds bytes that are not valid UTF-8 (proto3 requires it).
    case invalidUTF8(field: Int, offset: Int)
    /// Messages nested deeper than `WireDecodingLimits.maximumDepth` (only recursive schemas, OTLP's
    /// attribute values, can).
    case tooDeep(limit: Int, offset: Int)
    /// More elements of repeated message fields, all lists together, than
    /// `WireDecodingLimits.maximumElements`.
    case tooManyElements(limit: Int, offset: Int)
}

extension WireDecodingError: CustomStringConvertible {
    public var description: String {
        switch self {
        case let .truncated(offset, needed, available):
            return "truncated message: \(needed) bytes needed at offset \(offset), only \(available) left"
        case let .malformedVarint(offset):
            return "malformed varint at offset \(offset): longer than 10 bytes (5 for a tag or length)"
        case let .invalidFieldNumber(number, offset):
            return "invalid field number \(number) at offset \(offset): must be 1 to \(maximumFieldNumber)"
        case let .invalidWireType(wireType, field, offset):
            return "invalid wire type \(wireType) for field \(field) at offset \(offset): protobuf defines 0 to 5"
        case let .groupNotSupported(field, offset):
            return "group wire type for field \(field) at offset \(offset): groups are not supported"
        case let .invalidUTF8(field, offset):
            return "invalid UTF-8 in string field \(field) at offset \(offset)"
        case let .tooDeep(limit, offset):
            return "messages nested deeper than \(limit) levels at offset \(offset)"
        case let .tooManyElements(limit, offset):
            return "more than \(limit) elements of repeated message fields (offset \(offset))"
        }
    }
}
