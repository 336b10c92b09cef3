/// First pass of binary encoding: the encoded size of a message, and the size of every nested
/// message in the order `traverse` reaches them (pre-order). The second pass reads those sizes back
/// in the same order, so each nested message is sized once however deep it sits.
struct BinarySizeVisitor: PackedVarintVisitor {
    var size = 0
    var nestedSizes: [Int] = []

    mutating func visitVarint(_ value: UInt64, field: FieldID, json: JSONScalar) {
        size += Varint.tagSize(field.number) + Varint.size(of: value)
    }

    mutating func visitDouble(_ value: Double, field: FieldID) {
        size += Varint.tagSize(field.number) + 8
    }

    mutating func visitString(_ value: String, field: FieldID) {
        let length = value.utf8.count
        size += Varint.tagSize(field.number) + Varint.size(of: UInt64(length)) + length
    }

    mutating func visitEnum<E: WireEnum>(_ value: E, field: FieldID) {
        size += Varint.tagSize(field.number) + Varint.size(of: Int64(value.rawValue))
    }

    mutating func visitMessage<M: WireMessage>(_ value: M, field: FieldID) {
        let slot = nestedSizes.count
        if slot == 0 { nestedSizes.reserveCapacity(8) }  // one allocation for typical frames
        nestedSizes.append(0)
        let outer = size
        size = 0
        value.traverse(&self)
        let inner = size
        nestedSizes[slot] = inner
        size = outer + Varint.tagSize(field.number) + Varint.size(of: UInt64(inner)) + inner
    }

    @inline(__always)
    mutating func packed<T>(_ values: [T], _ field: FieldID, _ toVarint: (T) -> UInt64) {
        let payload = values.reduce(0) { $0 + Varint.size(of: toVarint($1)) }
        size += Varint.tagSize(field.number) + Varint.size(of: UInt64(payload)) + payload
    }
}
