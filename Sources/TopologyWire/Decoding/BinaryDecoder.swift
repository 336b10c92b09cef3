/// Reads protobuf binary fields from a byte buffer, within the bounds of the message being decoded.
///
/// Every length read from the input is checked against the bytes that remain before anything is
/// sliced or allocated from it, so hostile input can cost at most its own size. Topology's schema has
/// no recursive messages; OTLP's has (an attribute value holds arrays of values), so nesting depth is
/// bounded by `limits`, as is the number of message elements (each costs far more memory decoded
/// than the two bytes an empty one takes on the wire). Groups, the one other way to nest, are
/// rejected.
public struct BinaryDecoder {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0
    private let limits: WireDecodingLimits
    /// Length-delimited messages entered and not yet left.
    private var depth = 0
    /// Elements of repeated message fields decoded so far.
    private var elements = 0
    /// End of the message currently being decoded (a nested message ends before the buffer does).
    private var end: Int
    /// Wire type and start of the field `decodeField` is being asked about.
    private var wireType = WireType.varint
    private var fieldNumber = 0
    private var fieldOffset = 0

    init(_ bytes: UnsafeRawBufferPointer, limits: WireDecodingLimits = WireDecodingLimits()) {
        self.bytes = bytes
        self.end = bytes.count
        self.limits = limits
    }

    /// Decodes fields until the current message's end, handing each to `message.decodeField` and
    /// skipping those it does not claim.
    mutating func decodeFields<M: WireDecodable>(into message: inout M) throws {
        while offset < end {
            fieldOffset = offset
            let key = try readVarint(maximumBytes: 5)
            let number = key >> 3
            guard number >= 1, number <= UInt64(maximumFieldNumber) else {
                throw WireDecodingError.invalidFieldNumber(number, offset: fieldOffset)
            }
            fieldNumber = Int(number)
            guard let type = WireType(rawValue: UInt8(key & 7)) else {
                throw WireDecodingError.invalidWireType(UInt8(key & 7), field: fieldNumber, offset: fieldOffset)
            }
            if type == .startGroup || type == .endGroup {
                throw WireDecodingError.groupNotSupported(field: fieldNumber, offset: fieldOffset)
            }
            wireType = type
            if try !message.decodeField(fieldNumber, &self) {
                try skipField()
            }
        }
    }

    // MARK: - Primitives

    /// Reads a varint of at most `maximumBytes` bytes: 10 for values (no 64-bit value needs more), 5
    /// for tags and lengths, which are 32-bit: the official parsers (upb, C++) reject longer ones, so
    /// padded encodings that they would call corrupt are not accepted here either.
    @inline(__always)
    private mutating func readVarint(maximumBytes: Int = 10) throws -> UInt64 {
        // Most tags, lengths and enum values fit in one byte.
        if offset < end, bytes[offset] < 0x80 {
            offset += 1
            return UInt64(bytes[offset - 1])
        }
        return try readMultiByteVarint(maximumBytes: maximumBytes)
    }

    private mutating func readMultiByteVarint(maximumBytes: Int) throws -> UInt64 {
        let start = offset
        switch Varint.read(bytes, at: start, end: end, maximumBytes: maximumBytes) {
        case .value(let value, let next):
            offset = next
            return value
        case .truncated:
            throw WireDecodingError.truncated(offset: start, needed: end - start + 1, available: end - start)
        case .overlong, .overLimit:
            throw WireDecodingError.malformedVarint(offset: start)
        }
    }

    /// Reads a length prefix and checks it against what remains of the current message.
    private mutating func readLength() throws -> Int {
        let lengthOffset = offset
        let length = try readVarint(maximumBytes: 5)
        let available = end - offset
        guard length <= UInt64(available) else {
            throw WireDecodingError.truncated(
                offset: lengthOffset, needed: Int(clamping: length), available: available)
        }
        return Int(length)
    }

    private mutating func readFixed64() throws -> UInt64 {
        guard end - offset >= 8 else {
            throw WireDecodingError.truncated(offset: offset, needed: 8, available: end - offset)
        }
        let value = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        offset += 8
        return value
    }

    private mutating func skipField() throws {
        switch wireType {
        case .varint: _ = try readVarint()
        case .fixed64: _ = try readFixed64()
        case .lengthDelimited: offset += try readLength()
        case .fixed32:
            guard end - offset >= 4 else {
                throw WireDecodingError.truncated(offset: offset, needed: 4, available: end - offset)
            }
            offset += 4
        case .startGroup, .endGroup:
            preconditionFailure("groups are rejected before fields are dispatched")
        }
    }

    /// Runs `body` with the decoder bounded to the next length-delimited payload.
    private mutating func withLengthDelimited<T>(_ body: (inout BinaryDecoder) throws -> T) throws -> T {
        let startOffset = fieldOffset
        let length = try readLength()
        guard depth < limits.maximumDepth else {
            throw WireDecodingError.tooDeep(limit: limits.maximumDepth, offset: startOffset)
        }
        let outerEnd = end
        end = offset + length
        depth += 1
        defer {
            end = outerEnd
            depth -= 1
        }
        let result = try body(&self)
        offset = end
        return result
    }

    // MARK: - Fields
    //
    // Each returns false, consuming nothing, when the field arrived with a wire type other than its
    // own: the caller then skips it as an unknown field, as the official libraries do.

    private mutating func varintField() throws -> UInt64? {
        wireType == .varint ? try readVarint() : nil
    }

    public mutating func decode(_ value: inout Int32) throws -> Bool {
        guard let raw = try varintField() else { return false }
        value = Int32(truncatingIfNeeded: raw)
        return true
    }

    public mutating func decode(_ value: inout Int32?) throws -> Bool {
        guard let raw = try varintField() else { return false }
        value = Int32(truncatingIfNeeded: raw)
        return true
    }

    public mutating func decode(_ value: inout Int64) throws -> Bool {
        guard let raw = try varintField() else { return false }
        value = Int64(bitPattern: raw)
        return true
    }

    public mutating func decode(_ value: inout Int64?) throws -> Bool {
        guard let raw = try varintField() else { return false }
        value = Int64(bitPattern: raw)
        return true
    }

    public mutating func decode(_ value: inout UInt64) throws -> Bool {
        guard let raw = try varintField() else { return false }
        value = raw
        return true
    }

    public mutating func decode(_ value: inout UInt64?) throws -> Bool {
        guard let raw = try varintField() else { return false }
        value = raw
        return true
    }

    public mutating func decode(_ value: inout Bool) throws -> Bool {
        guard let raw = try varintField() else { return false }
        value = raw != 0
        return true
    }

    public mutating func decode(_ value: inout Bool?) throws -> Bool {
        guard let raw = try varintField() else { return false }
        value = raw != 0
        return true
    }

    public mutating func decode(_ value: inout Double) throws -> Bool {
        guard wireType == .fixed64 else { return false }
        value = Double(bitPattern: try readFixed64())
        return true
    }

    /// A `fixed64` field (OTLP's timestamps): eight bytes, not a varint.
    public mutating func decodeFixed64(_ value: inout UInt64) throws -> Bool {
        guard wireType == .fixed64 else { return false }
        value = try readFixed64()
        return true
    }

    /// A `bytes` field: copied out, its length checked against the message first.
    public mutating func decode(_ value: inout [UInt8]) throws -> Bool {
        guard wireType == .lengthDelimited else { return false }
        let length = try readLength()
        value = Array(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]))
        offset += length
        return true
    }

    public mutating func decode<E: WireEnum>(_ value: inout E) throws -> Bool {
        guard let raw = try varintField() else { return false }
        value = E(rawValue: Int32(truncatingIfNeeded: raw))
        return true
    }

    public mutating func decode(_ value: inout String) throws -> Bool {
        guard wireType == .lengthDelimited else { return false }
        value = try readString()
        return true
    }

    public mutating func decode(_ value: inout String?) throws -> Bool {
        guard wireType == .lengthDelimited else { return false }
        value = try readString()
        return true
    }

    public mutating func decode(_ values: inout [String]) throws -> Bool {
        guard wireType == .lengthDelimited else { return false }
        values.append(try readString())
        return true
    }

    /// A message field that occurs more than once is merged into what came before, as protobuf does.
    public mutating func decode<M: WireDecodable>(_ value: inout M?) throws -> Bool {
        guard wireType == .lengthDelimited else { return false }
        var message = value ?? M()
        try withLengthDelimited { try $0.decodeFields(into: &message) }
        value = message
        return true
    }

    public mutating func decode<M: WireDecodable>(_ values: inout [M]) throws -> Bool {
        guard wireType == .lengthDelimited else { return false }
        guard elements < limits.maximumElements else {
            throw WireDecodingError.tooManyElements(limit: limits.maximumElements, offset: fieldOffset)
        }
        elements += 1
        var message = M()
        try withLengthDelimited { try $0.decodeFields(into: &message) }
        values.append(message)
        return true
    }

    /// A map field: each occurrence is one entry; a key seen before gets the later value, as
    /// protobuf says. Entries go into a dictionary as they come, so hostile input with many keys
    /// costs time in proportion to its size.
    public mutating func decode(_ map: inout [String: String]) throws -> Bool {
        guard wireType == .lengthDelimited else { return false }
        var entry = StringMapEntry()
        try withLengthDelimited { try $0.decodeFields(into: &entry) }
        map[entry.key] = entry.value
        return true
    }

    // Repeated scalars: packed (one length-delimited run) and unpacked (one varint per element) are
    // both accepted, whichever the sender chose.

    public mutating func decodeSInt32s(_ values: inout [Int32]) throws -> Bool {
        try decodeRepeatedVarints(&values) { Varint.unzigzag(UInt32(truncatingIfNeeded: $0)) }
    }

    public mutating func decode(_ values: inout [UInt64]) throws -> Bool {
        try decodeRepeatedVarints(&values) { $0 }
    }

    public mutating func decode<E: WireEnum>(_ values: inout [E]) throws -> Bool {
        try decodeRepeatedVarints(&values) { E(rawValue: Int32(truncatingIfNeeded: $0)) }
    }

    private mutating func decodeRepeatedVarints<T>(_ values: inout [T], _ convert: (UInt64) -> T) throws -> Bool {
        switch wireType {
        case .varint:
            values.append(convert(try readVarint()))
            return true
        case .lengthDelimited:
            try withLengthDelimited { decoder in
                while decoder.offset < decoder.end {
                    values.append(convert(try decoder.readVarint()))
                }
            }
            return true
        default:
            return false
        }
    }

    private mutating func readString() throws -> String {
        let stringOffset = fieldOffset
        let length = try readLength()
        let utf8 = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])
        offset += length
        guard UTF8Validation.isValid(utf8) else {
            throw WireDecodingError.invalidUTF8(field: fieldNumber, offset: stringOffset)
        }
        // Valid input, so this initializer has nothing to repair.
        return String(decoding: utf8, as: UTF8.self)
    }

    /// For oneof members: decodes the field's message, merging into `existing` when the same member
    /// occurred before (a different member replaces it, as protobuf does).
    public mutating func decodeOneofMessage<M: WireDecodable>(_ existing: M?) throws -> M? {
        var value = existing
        return try decode(&value) ? value : nil
    }
}
