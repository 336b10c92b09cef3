/// Sizes and zigzag mappings of protobuf varints: a caseless namespace, as in swift-protobuf.
///
/// A varint stores 7 bits per byte, least significant group first, with the high bit of each byte
/// set while more bytes follow. A 64-bit value takes 1 to 10 bytes. Negative int32 and int64 values
/// are sign-extended to 64 bits first, so they always take 10 bytes, exactly as protobuf does.
enum Varint {
    /// Bytes taken by `value` as a varint.
    @inline(__always)
    static func size(of value: UInt64) -> Int {
        // 1 byte per started group of 7 significant bits; 0 still takes one byte.
        let significantBits = 64 - (value | 1).leadingZeroBitCount
        return (significantBits + 6) / 7
    }

    /// Bytes taken by an int32 or int64 field: negative values are sign-extended to 64 bits.
    @inline(__always)
    static func size(of value: Int64) -> Int {
        size(of: UInt64(bitPattern: value))
    }

    /// Bytes taken by the tag of field `number` (number << 3 | wire type).
    @inline(__always)
    static func tagSize(_ number: Int) -> Int {
        size(of: UInt64(number) << 3)
    }

    /// Writes `value` as a varint at `position` (which must have room: up to 10 bytes) and moves
    /// `position` past it.
    @inline(__always)
    static func store(_ value: UInt64, to raw: UnsafeMutableRawBufferPointer, at position: inout Int) {
        var value = value
        while value >= 0x80 {
            raw[position] = UInt8(truncatingIfNeeded: value) | 0x80
            value >>= 7
            position += 1
        }
        raw[position] = UInt8(value)
        position += 1
    }

    /// Zigzag maps signed to unsigned so small magnitudes stay small: 0, -1, 1, -2 -> 0, 1, 2, 3.
    @inline(__always)
    static func zigzag(_ value: Int32) -> UInt32 {
        UInt32(bitPattern: (value << 1) ^ (value >> 31))
    }

    @inline(__always)
    static func unzigzag(_ value: UInt32) -> Int32 {
        Int32(bitPattern: value >> 1) ^ -Int32(bitPattern: value & 1)
    }
}
