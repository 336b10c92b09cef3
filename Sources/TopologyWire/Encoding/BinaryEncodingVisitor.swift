/// Second pass of binary encoding: writes a message into space already reserved for exactly its
/// size, taking nested message sizes from the first pass (`BinarySizeVisitor`) in the same order.
///
/// Writes go through a raw pointer because the size is known and checked up front; the final
/// precondition catches any disagreement between the two passes before the bytes are used.
struct BinaryEncodingVisitor: PackedVarintVisitor {
    private var pointer: UnsafeMutableRawPointer
    private var written = 0
    private let nestedSizes: [Int]
    private var nextNested = 0

    private init(pointer: UnsafeMutableRawPointer, nestedSizes: [Int]) {
        self.pointer = pointer
        self.nestedSizes = nestedSizes
    }

    /// Zeros to grow a buffer by: appending a contiguous slice is a `memcpy` in every build, where
    /// `repeatElement(0, count:)` went element by element through generic code in debug builds
    /// (some 0.3 µs a byte: seconds for a large snapshot, with the event loop waiting).
    private static let zeros = [UInt8](repeating: 0, count: 4096)

    /// Appends `message` (whose size pass gave `size` and `nestedSizes`) to `buffer`.
    static func write<M: WireMessage>(_ message: M, size: Int, nestedSizes: [Int], to buffer: inout [UInt8]) {
        let start = buffer.count
        var missing = size
        while missing > 0 {
            let chunk = min(missing, zeros.count)
            buffer.append(contentsOf: zeros[0..<chunk])
            missing -= chunk
        }
        guard size > 0 else { return }
        buffer.withUnsafeMutableBytes { raw in
            var visitor = BinaryEncodingVisitor(pointer: raw.baseAddress! + start, nestedSizes: nestedSizes)
            message.traverse(&visitor)
            precondition(visitor.written == size, "\(M.protoMessageName): size pass and write pass disagree")
        }
    }

    /// Appends `value` as a varint to `buffer`: the length prefix of a frame.
    static func appendVarint(_ value: UInt64, to buffer: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            buffer.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        buffer.append(UInt8(value))
    }

    @inline(__always)
    private mutating func byte(_ value: UInt8) {
        pointer.storeBytes(of: value, toByteOffset: written, as: UInt8.self)
        written += 1
    }

    @inline(__always)
    private mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            byte(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        byte(UInt8(value))
    }

    @inline(__always)
    private mutating func tag(_ field: FieldID, _ wireType: WireType) {
        varint(UInt64(field.number) << 3 | UInt64(wireType.rawValue))
    }

    mutating func visitVarint(_ value: UInt64, field: FieldID, json: JSONScalar) {
        tag(field, .varint)
        varint(value)
    }

    mutating func visitDouble(_ value: Double, field: FieldID) {
        tag(field, .fixed64)
        var bits = value.bitPattern.littleEndian
        withUnsafeBytes(of: &bits) { bytes in
            (pointer + written).copyMemory(from: bytes.baseAddress!, byteCount: 8)
        }
        written += 8
    }

    mutating func visitString(_ value: String, field: FieldID) {
        tag(field, .lengthDelimited)
        var value = value
        value.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            if let base = utf8.baseAddress {
                (pointer + written).copyMemory(from: base, byteCount: utf8.count)
            }
            written += utf8.count
        }
    }

    mutating func visitEnum<E: WireEnum>(_ value: E, field: FieldID) {
        tag(field, .varint)
        varint(UInt64(bitPattern: Int64(value.rawValue)))
    }

    mutating func visitMessage<M: WireMessage>(_ value: M, field: FieldID) {
        tag(field, .lengthDelimited)
        let size = nestedSizes[nextNested]
        nextNested += 1
        varint(UInt64(size))
        value.traverse(&self)
    }

    @inline(__always)
    mutating func packed<T>(_ values: [T], _ field: FieldID, _ toVarint: (T) -> UInt64) {
        tag(field, .lengthDelimited)
        varint(UInt64(values.reduce(0) { $0 + Varint.size(of: toVarint($1)) }))
        for value in values { varint(toVarint(value)) }
    }
}
