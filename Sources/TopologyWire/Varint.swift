/// Reading, sizes and zigzag mappings of protobuf varints: a caseless namespace, as in swift-protobuf.
///
/// A varint stores 7 bits per byte, least significant group first, with the high bit of each byte
/// set while more bytes follow. A 64-bit value takes 1 to 10 bytes. Negative int32 and int64 values
/// are sign-extended to 64 bits first, so they always take 10 bytes, exactly as protobuf does.
///
/// `package`, not `internal`, for `read` alone: the load generator's reply scanner (bench/LoadGen)
/// reads varints too, and should read them the way the server does.
package enum Varint {
    /// What `read` found where it was asked to read. Each caller maps the failures to its own
    /// errors: a field decoder, a frame's length prefix and a fast-path scanner mean different things
    /// by them.
    package enum ReadResult: Equatable {
        /// The value, and the offset just past its last byte.
        case value(UInt64, end: Int)
        /// The bytes ended before a byte without the continuation bit.
        case truncated
        /// `maximumBytes` bytes all had the continuation bit set.
        case overlong
        /// The value of the bytes read so far passed `limit`; the payload is that value, which is a
        /// lower bound when more bytes of the varint were to come.
        case overLimit(UInt64)
    }

    /// Reads the varint that starts at `start`, looking at no byte at or past `end`.
    ///
    /// - `maximumBytes` (1 to 10): 10 admits every 64-bit value; 5 every 32-bit one (tags and
    ///   lengths). The official parsers reject a varint that runs over its field's size, and so does
    ///   this one, as soon as the byte that takes it over has been seen (even when no byte follows).
    /// - `limit`: checked at every byte, not once the varint is complete, so that whether it is
    ///   over the limit (and the value named) does not depend on how many of its bytes have arrived.
    ///   Callers without a limit leave the default, and the check folds away.
    ///
    /// Bits past the 64th (in a 10th byte) are dropped, as the official libraries do.
    @inlinable @inline(__always)
    package static func read(_ bytes: UnsafeRawBufferPointer, at start: Int, end: Int,
                             maximumBytes: Int, limit: UInt64 = .max) -> ReadResult {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var offset = start
        while offset < end {
            let byte = bytes[offset]
            offset += 1
            result |= UInt64(byte & 0x7F) << shift
            if result > limit { return .overLimit(result) }
            if byte < 0x80 { return .value(result, end: offset) }
            shift += 7
            if offset - start == maximumBytes { return .overlong }
        }
        return .truncated
    }

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
