/// A visitor that treats the three packed kinds alike: each element is a varint, so all it needs is
/// one `packed` that takes the elements and how to make each a varint. The two binary passes (size,
/// then write) are such visitors; JSON, which writes each kind differently, is not.
protocol PackedVarintVisitor: FieldVisitor {
    /// Packed repeated scalars: one tag, the payload length, then the varints back to back.
    mutating func packed<T>(_ values: [T], _ field: FieldID, _ toVarint: (T) -> UInt64)
}

extension PackedVarintVisitor {
    mutating func visitPackedSInt32(_ values: [Int32], field: FieldID) {
        packed(values, field) { UInt64(Varint.zigzag($0)) }
    }

    mutating func visitPackedUInt64(_ values: [UInt64], field: FieldID) {
        packed(values, field) { $0 }
    }

    mutating func visitPackedEnum<E: WireEnum>(_ values: [E], field: FieldID) {
        packed(values, field) { UInt64(bitPattern: Int64($0.rawValue)) }
    }
}
