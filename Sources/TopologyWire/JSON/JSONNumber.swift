/// A JSON number, kept as the text it was written as.
///
/// JSON sets no precision; protobuf's 64-bit integers need all of theirs, so a number becomes an
/// Int64, UInt64 or Double only when read as one, exactly: `int64`/`uint64` are nil unless the text
/// is exactly an integer in range ("1.0", "1e2" and "-0" are; "1.5" and "1e400" are not), `double`
/// is the nearest Double, nil when out of its range.
public struct JSONNumber: Equatable, Sendable {
    /// The number as written, in RFC 8259 §6 grammar.
    public let text: String

    init(checkedText: String) {
        text = checkedText
    }

    /// `text` when all of it is one JSON number (no sign `+`, no spaces, no leading zeros).
    public init?(_ text: String) {
        var text = text
        let isNumber = text.withUTF8 { utf8 in
            let end = try? Self.scan(UnsafeRawBufferPointer(utf8), from: 0)
            return end == utf8.count
        }
        guard isNumber else { return nil }
        self.text = text
    }

    public var int64: Int64? {
        guard case let .integer(negative, magnitude) = integerValue else { return nil }
        if negative {
            return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    public var uint64: UInt64? {
        guard case let .integer(negative, magnitude) = integerValue, !negative || magnitude == 0 else { return nil }
        return magnitude
    }

    /// The nearest Double (the standard library's conversion rounds correctly); nil when the number
    /// is beyond Double's range (1e400), which JSON cannot spell as infinity.
    public var double: Double? {
        guard let value = Double(text), value.isFinite else { return nil }
        return value
    }

    /// What the number is as an integer, worked out on its digits: no Double in between.
    enum IntegerValue: Equatable {
        case integer(negative: Bool, magnitude: UInt64)
        /// Not a whole number (1.5, 1e-1).
        case fraction
        /// A whole number beyond UInt64's range.
        case tooLarge
    }

    var integerValue: IntegerValue {
        var negative = false
        var digits: [UInt8] = []
        var fractionDigits = 0
        var exponent = 0
        var exponentNegative = false
        var part = 0  // 0: integer digits, 1: fraction digits, 2: exponent
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "-"): if part == 2 { exponentNegative = true } else { negative = true }
            case UInt8(ascii: "+"): break
            case UInt8(ascii: "."): part = 1
            case UInt8(ascii: "e"), UInt8(ascii: "E"): part = 2
            default:
                let digit = byte &- UInt8(ascii: "0")
                if part == 2 {
                    // Saturates: any exponent past a million says the same as a million.
                    exponent = min(exponent * 10 + Int(digit), 1_000_000)
                } else {
                    if part == 1 { fractionDigits += 1 }
                    if !digits.isEmpty || digit != 0 { digits.append(digit) }
                }
            }
        }
        // digits × 10^scale, with the zeros at the end of the digits moved into the scale.
        var scale = (exponentNegative ? -exponent : exponent) - fractionDigits
        while digits.last == 0 {
            digits.removeLast()
            scale += 1
        }
        if digits.isEmpty { return .integer(negative: negative, magnitude: 0) }
        if scale < 0 { return .fraction }
        // UInt64.max has 20 digits.
        guard digits.count + scale <= 20 else { return .tooLarge }
        var magnitude: UInt64 = 0
        for digit in digits + [UInt8](repeating: 0, count: scale) {
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            if overflow1 || overflow2 { return .tooLarge }
            magnitude = sum
        }
        return .integer(negative: negative, magnitude: magnitude)
    }

    /// Reads the number grammar from `start`; returns where the number ends. The parser and
    /// `init?(_:)` share it, so a number in a string ("123" for an int64 field) obeys the same rules.
    static func scan(_ bytes: UnsafeRawBufferPointer, from start: Int) throws -> Int {
        let count = bytes.count
        var index = start
        func isDigit(_ at: Int) -> Bool {
            at < count && bytes[at] >= UInt8(ascii: "0") && bytes[at] <= UInt8(ascii: "9")
        }
        func requireDigit(_ expected: String) throws {
            guard isDigit(index) else {
                throw JSONParseError.unexpected(expected: expected, found: index < count ? bytes[index] : nil, offset: index)
            }
        }
        if index < count && bytes[index] == UInt8(ascii: "-") { index += 1 }
        try requireDigit("a digit")
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if isDigit(index) {
                throw JSONParseError.invalidNumber(reason: "leading zeros are not allowed", offset: index - 1)
            }
        } else {
            while isDigit(index) { index += 1 }
        }
        if index < count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            try requireDigit("a digit after '.'")
            while isDigit(index) { index += 1 }
        }
        if index < count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            index += 1
            if index < count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) { index += 1 }
            try requireDigit("a digit in the exponent")
            while isDigit(index) { index += 1 }
        }
        return index
    }
}
