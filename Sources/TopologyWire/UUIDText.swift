/// UUIDs in canonical text form (8-4-4-4-12 hex digits, 36 bytes) and their 128 bits: a caseless
/// namespace. Service ids travel as this text; the server keys its service table by the bits.
public enum UUIDText {
    /// The 128 bits of `bytes` if they are a UUID in canonical text form (hex digits in either case:
    /// RFC 9562 section 4 makes the text case-insensitive on input); nil for anything else.
    ///
    /// Eight digits at a time in a 64-bit word (SWAR): the five groups are read as four words
    /// (8 | 4+4 | 4+4 | 8 digits), each checked and converted with a few dozen bit operations, no
    /// branch per character and no table.
    @inline(__always)
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> (high: UInt64, low: UInt64)? {
        guard bytes.count == 36 else { return nil }
        let dash = UInt8(ascii: "-")
        guard bytes[8] == dash, bytes[13] == dash, bytes[18] == dash, bytes[23] == dash else { return nil }
        @inline(__always) func word(_ offset: Int) -> UInt64 {
            UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }
        @inline(__always) func half(_ offset: Int) -> UInt64 {
            UInt64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        }
        var invalid: UInt64 = 0
        let high = digits(word(0), &invalid) << 32 | digits(half(9) | half(14) << 32, &invalid)
        let low = digits(half(19) | half(24) << 32, &invalid) << 32 | digits(word(28), &invalid)
        return invalid == 0 ? (high, low) : nil
    }

    /// The value of eight hex digits, the first in the lowest byte of `word`; a byte that is not a
    /// hex digit sets its top bit in `invalid`.
    @inline(__always)
    private static func digits(_ word: UInt64, _ invalid: inout UInt64) -> UInt64 {
        // Per-byte constants (x * 0x0101...: the byte x in all eight bytes).
        let ones: UInt64 = 0x0101_0101_0101_0101
        let (b03, b06, b09, b0F, b10, b40, b7F, b80) = (3 &* ones, 6 &* ones, 9 &* ones, 0x0F &* ones,
                                                        0x10 &* ones, 0x40 &* ones, 0x7F &* ones, 0x80 &* ones)
        // Either case: fold A-F to a-f, only in bytes with bit 6 set (so 0x11 does not become '1').
        let x = word | (word & b40) >> 1
        let high = (x >> 4) & b0F
        let low = x & b0F
        @inline(__always) func isZero(_ t: UInt64) -> UInt64 {  // 0x80 in each byte of t that is 0
            ~(((t & b7F) &+ b7F) | t) & b80
        }
        let lowAtMost9 = ~(low &+ b06) & b10                    // 0x10 in each byte where low <= 9
        let lowIn1To6 = (low &+ b0F) & ~(low &+ b09) & b10      // ... where 1 <= low <= 6
        let digit = isZero(high ^ b03) & (lowAtMost9 << 3)      // 0-9: 0x30-0x39
        let letter = isZero(high ^ b06) & (lowIn1To6 << 3)      // a-f: 0x61-0x66
        invalid |= ~(digit | letter) & b80
        // Byte values 0-15, then pairs, quads and the eight packed, the first digit highest.
        var v = low &+ (letter >> 7) &* 9  // a-f: 1-6, plus 9
        v = ((v << 4) | (v >> 8)) & 0x00FF_00FF_00FF_00FF
        v = ((v << 8) | (v >> 16)) & 0x0000_FFFF_0000_FFFF
        return ((v << 16) | (v >> 32)) & 0xFFFF_FFFF
    }

    /// `parse` of a string's UTF-8.
    public static func parse(_ text: String) -> (high: UInt64, low: UInt64)? {
        var text = text
        return text.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    /// Canonical lowercase text of the 128 bits.
    public static func format(high: UInt64, low: UInt64) -> String {
        String(unsafeUninitializedCapacity: 36) { buffer in
            var position = 0
            @inline(__always) func put(_ word: UInt64, digits: Range<Int>) {
                for digit in digits {
                    let nibble = UInt8(truncatingIfNeeded: word >> UInt64(60 - 4 * digit)) & 0xF
                    buffer[position] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") - 10 + nibble
                    position += 1
                }
            }
            let dash = UInt8(ascii: "-")
            put(high, digits: 0..<8)
            buffer[position] = dash; position += 1
            put(high, digits: 8..<12)
            buffer[position] = dash; position += 1
            put(high, digits: 12..<16)
            buffer[position] = dash; position += 1
            put(low, digits: 0..<4)
            buffer[position] = dash; position += 1
            put(low, digits: 4..<16)
            return 36
        }
    }
}
