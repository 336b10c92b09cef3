/// A service id: 128 bits, shown as a UUID in canonical text form (lowercase 8-4-4-4-12 hex).
/// The dictionary key of the service table: hashing two words is cheaper than hashing 36 bytes.
struct ServiceKey: Hashable, Sendable {
    var high: UInt64
    var low: UInt64

    /// A random version-4 UUID.
    static func random<G: RandomNumberGenerator>(using generator: inout G) -> ServiceKey {
        var high = generator.next() as UInt64
        var low = generator.next() as UInt64
        high = (high & ~0x0000_0000_0000_F000) | 0x0000_0000_0000_4000  // version 4
        low = (low & ~0xC000_0000_0000_0000) | 0x8000_0000_0000_0000    // variant 10
        return ServiceKey(high: high, low: low)
    }

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Parses the canonical text form (hex digits in either case); nil for anything else.
    init?(parsing text: String) {
        let parsed: ServiceKey?? = text.utf8.withContiguousStorageIfAvailable { ServiceKey.parse($0) }
        if let parsed {
            guard let key = parsed else { return nil }
            self = key
        } else {
            guard let key = Array(text.utf8).withUnsafeBufferPointer({ ServiceKey.parse($0) }) else { return nil }
            self = key
        }
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> ServiceKey? {
        guard bytes.count == 36 else { return nil }
        var words: (UInt64, UInt64) = (0, 0)
        var digits = 0
        for position in 0..<36 {
            let byte = bytes[position]
            if position == 8 || position == 13 || position == 18 || position == 23 {
                guard byte == UInt8(ascii: "-") else { return nil }
                continue
            }
            // Arithmetic, not a lookup table: a static table costs a lazy-initialization check per use.
            let value: UInt8
            let decimal = byte &- UInt8(ascii: "0")
            if decimal < 10 {
                value = decimal
            } else {
                let letter = (byte | 0x20) &- UInt8(ascii: "a")  // either case
                guard letter < 6 else { return nil }
                value = letter &+ 10
            }
            if digits < 16 {
                words.0 = words.0 << 4 | UInt64(value)
            } else {
                words.1 = words.1 << 4 | UInt64(value)
            }
            digits += 1
        }
        return ServiceKey(high: words.0, low: words.1)
    }

    /// Canonical lowercase text.
    var text: String {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var position = 0
            func put(_ word: UInt64, _ range: Range<Int>) {
                for digit in range {
                    if position == 8 || position == 13 || position == 18 || position == 23 {
                        buffer[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    buffer[position] = hex[Int((word >> UInt64(60 - 4 * digit)) & 0xF)]
                    position += 1
                }
            }
            put(high, 0..<16)
            put(low, 0..<16)
            return 36
        }
    }
}
