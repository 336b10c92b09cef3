/// Receives a message's fields from its `traverse`. Conformers implement the `visit` primitives,
/// which always write; the presence rules of proto3 live once, in the extension below, which is what
/// `traverse` calls.
public protocol FieldVisitor {
    mutating func visitVarint(_ value: UInt64, field: FieldID, json: JSONScalar)
    mutating func visitDouble(_ value: Double, field: FieldID)
    mutating func visitString(_ value: String, field: FieldID)
    mutating func visitEnum<E: WireEnum>(_ value: E, field: FieldID)
    mutating func visitMessage<M: WireMessage>(_ value: M, field: FieldID)
    mutating func visitRepeatedString(_ values: [String], field: FieldID)
    mutating func visitRepeatedMessage<M: WireMessage>(_ values: [M], field: FieldID)
    mutating func visitStringMap(_ map: [String: String], field: FieldID)
    mutating func visitPackedSInt32(_ values: [Int32], field: FieldID)
    mutating func visitPackedUInt64(_ values: [UInt64], field: FieldID)
    mutating func visitPackedEnum<E: WireEnum>(_ values: [E], field: FieldID)
}

/// How a varint-encoded scalar appears in JSON: the proto3 JSON mapping writes 64-bit integers as
/// strings (JavaScript numbers cannot hold them), 32-bit ones as numbers.
public enum JSONScalar: Sendable {
    case bool
    case int32
    case int64
    case uint64
}

// The binary format writes a repeated string or message as that field once per element, and a map
// as one entry message per key (in key order); JSON, which needs to see the whole list or map,
// overrides these.
extension FieldVisitor {
    public mutating func visitRepeatedString(_ values: [String], field: FieldID) {
        for value in values { visitString(value, field: field) }
    }

    public mutating func visitRepeatedMessage<M: WireMessage>(_ values: [M], field: FieldID) {
        for value in values { visitMessage(value, field: field) }
    }

    public mutating func visitStringMap(_ map: [String: String], field: FieldID) {
        for key in StringMapOrder.sortedKeys(map) {
            visitMessage(StringMapEntry(key: key, value: map[key]!), field: field)
        }
    }
}

// Proto3 presence: a field without `optional` is written only when it differs from its default; an
// `optional` field (a Swift Optional here) is written whenever it is set, even to its default.
extension FieldVisitor {
    @inlinable
    public mutating func int32(_ value: Int32, _ field: FieldID) {
        if value != 0 { visitVarint(UInt64(bitPattern: Int64(value)), field: field, json: .int32) }
    }

    @inlinable
    public mutating func int32(_ value: Int32?, _ field: FieldID) {
        if let value { visitVarint(UInt64(bitPattern: Int64(value)), field: field, json: .int32) }
    }

    @inlinable
    public mutating func int64(_ value: Int64, _ field: FieldID) {
        if value != 0 { visitVarint(UInt64(bitPattern: value), field: field, json: .int64) }
    }

    @inlinable
    public mutating func int64(_ value: Int64?, _ field: FieldID) {
        if let value { visitVarint(UInt64(bitPattern: value), field: field, json: .int64) }
    }

    @inlinable
    public mutating func uint64(_ value: UInt64, _ field: FieldID) {
        if value != 0 { visitVarint(value, field: field, json: .uint64) }
    }

    @inlinable
    public mutating func uint64(_ value: UInt64?, _ field: FieldID) {
        if let value { visitVarint(value, field: field, json: .uint64) }
    }

    @inlinable
    public mutating func bool(_ value: Bool, _ field: FieldID) {
        if value { visitVarint(1, field: field, json: .bool) }
    }

    @inlinable
    public mutating func bool(_ value: Bool?, _ field: FieldID) {
        if let value { visitVarint(value ? 1 : 0, field: field, json: .bool) }
    }

    /// Compared by bit pattern, as protobuf does: -0.0 is not the default and is written.
    @inlinable
    public mutating func double(_ value: Double, _ field: FieldID) {
        if value.bitPattern != 0 { visitDouble(value, field: field) }
    }

    @inlinable
    public mutating func string(_ value: String, _ field: FieldID) {
        if !value.isEmpty { visitString(value, field: field) }
    }

    @inlinable
    public mutating func string(_ value: String?, _ field: FieldID) {
        if let value { visitString(value, field: field) }
    }

    @inlinable
    public mutating func enumValue<E: WireEnum>(_ value: E, _ field: FieldID) {
        if value.rawValue != 0 { visitEnum(value, field: field) }
    }

    /// Singular message fields always have presence in proto3.
    @inlinable
    public mutating func message<M: WireMessage>(_ value: M?, _ field: FieldID) {
        if let value { visitMessage(value, field: field) }
    }

    @inlinable
    public mutating func repeatedString(_ values: [String], _ field: FieldID) {
        if !values.isEmpty { visitRepeatedString(values, field: field) }
    }

    @inlinable
    public mutating func repeatedMessage<M: WireMessage>(_ values: [M], _ field: FieldID) {
        if !values.isEmpty { visitRepeatedMessage(values, field: field) }
    }

    /// A map with no entries is not written (a map has no presence).
    @inlinable
    public mutating func stringMap(_ map: [String: String], _ field: FieldID) {
        if !map.isEmpty { visitStringMap(map, field: field) }
    }

    /// Repeated scalars are written packed (the proto3 default); both forms are read.
    @inlinable
    public mutating func packedSInt32(_ values: [Int32], _ field: FieldID) {
        if !values.isEmpty { visitPackedSInt32(values, field: field) }
    }

    @inlinable
    public mutating func packedUInt64(_ values: [UInt64], _ field: FieldID) {
        if !values.isEmpty { visitPackedUInt64(values, field: field) }
    }

    @inlinable
    public mutating func packedEnum<E: WireEnum>(_ values: [E], _ field: FieldID) {
        if !values.isEmpty { visitPackedEnum(values, field: field) }
    }
}
