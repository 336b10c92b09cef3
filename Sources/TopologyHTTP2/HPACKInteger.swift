// Prefix integers (RFC 7541 §5.1): the value fills the low N bits of the first octet when it is
// below 2^N - 1; otherwise those bits are all ones and the rest, least significant 7 bits first,
// follows in octets whose high bit says "more follows".
//
//     0   1   2   3   4   5   6   7
//   +---+---+---+---+---+---+---+---+
//   | ? | ? | ? | 1   1   1   1   1 |   N = 5: prefix full
//   | 1 |    Value-(2^N-1) LSB      |   continuation
//   | 0 |    Value-(2^N-1) MSB      |   last octet
//   +---+---------------------------+

/// Encoding and decoding of prefix integers.
enum HPACKInteger {
    /// The largest value decoded. Indices, lengths and table sizes all fit far below it, and with it
    /// the sum stays in an Int whatever the platform.
    static let maxValue = Int(Int32.max)
    /// Continuation octets that can carry `maxValue` (7 bits each); a longer run is padding an
    /// attacker could make as long as the block.
    static let maxContinuationOctets = 5

    /// Decodes the integer whose prefix is the low `prefixBits` bits of `bytes[index]` and advances
    /// `index` past it. `index` must be a valid index of `bytes` (the caller read the first octet's
    /// high bits to know what follows).
    static func decode(_ bytes: ArraySlice<UInt8>, at index: inout Int, prefixBits: Int) throws(HPACKError) -> Int {
        let prefixMax = (1 << prefixBits) - 1
        var value = Int(bytes[index]) & prefixMax
        index += 1
        guard value == prefixMax else { return value }
        var shift = 0
        for _ in 0..<maxContinuationOctets {
            guard index < bytes.endIndex else { throw .truncatedInteger }
            let octet = bytes[index]
            index += 1
            value += Int(octet & 0x7f) << shift
            guard value <= maxValue else { throw .integerOverflow }
            if octet & 0x80 == 0 { return value }
            shift += 7
        }
        throw .integerOverflow
    }

    /// Appends `value` with a `prefixBits`-bit prefix; `flags` are the first octet's high bits.
    static func encode(_ value: Int, prefixBits: Int, flags: UInt8, into out: inout [UInt8]) {
        precondition(value >= 0, "HPACK integers are unsigned")
        let prefixMax = (1 << prefixBits) - 1
        guard value >= prefixMax else {
            out.append(flags | UInt8(value))
            return
        }
        out.append(flags | UInt8(prefixMax))
        var rest = value - prefixMax
        while rest >= 0x80 {
            out.append(UInt8(rest & 0x7f) | 0x80)
            rest >>= 7
        }
        out.append(UInt8(rest))
    }
}
