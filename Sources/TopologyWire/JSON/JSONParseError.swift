/// Why bytes are not one JSON text (RFC 8259) within the caller's limits. Offsets count bytes from
/// the start of the input.
public enum JSONParseError: Error, Equatable, Sendable {
    /// The input is longer than the caller allows; nothing of it was read.
    case tooLarge(size: Int, limit: Int)
    /// The bytes at `offset` are not well-formed UTF-8 (RFC 8259 §8.1 requires UTF-8).
    case invalidUTF8(offset: Int)
    /// The grammar wants `expected` at `offset`, and finds another byte (`found`) or the end (nil).
    case unexpected(expected: String, found: UInt8?, offset: Int)
    /// Arrays and objects nest deeper than the caller allows.
    case tooDeep(limit: Int, offset: Int)
    /// A backslash in a string is followed by something JSON does not define as an escape.
    case invalidEscape(offset: Int)
    /// A `\u` escape names a UTF-16 surrogate that is not half of a high-then-low pair.
    case loneSurrogate(offset: Int)
    /// A string holds a control character (U+0000 to U+001F) unescaped.
    case unescapedControlCharacter(UInt8, offset: Int)
    /// A number breaks the grammar in a way worth naming (a leading zero, a `.` without digits).
    case invalidNumber(reason: String, offset: Int)
    /// An object has `key` twice; which one was meant is not for the reader to guess.
    case duplicateKey(String, offset: Int)
    /// A complete JSON value is followed by more than whitespace.
    case trailingData(offset: Int)
}

extension JSONParseError: CustomStringConvertible {
    public var description: String {
        switch self {
        case let .tooLarge(size, limit):
            return "JSON text of \(size) bytes is over the limit of \(limit) bytes"
        case let .invalidUTF8(offset):
            return "invalid UTF-8 at byte \(offset): JSON text must be UTF-8"
        case let .unexpected(expected, found, offset):
            return "expected \(expected) at byte \(offset), found \(Self.describe(found))"
        case let .tooDeep(limit, offset):
            return "arrays and objects nested more than \(limit) deep at byte \(offset)"
        case let .invalidEscape(offset):
            return #"invalid escape at byte \#(offset): JSON knows \" \\ \/ \b \f \n \r \t and \uXXXX"#
        case let .loneSurrogate(offset):
            return "lone UTF-16 surrogate in \\u escape at byte \(offset): a high surrogate (D800-DBFF) must be followed by a \\u low one (DC00-DFFF)"
        case let .unescapedControlCharacter(byte, offset):
            return "control character \(Self.describe(byte)) in a string at byte \(offset): write it as \\u00XX"
        case let .invalidNumber(reason, offset):
            return "invalid number at byte \(offset): \(reason)"
        case let .duplicateKey(key, offset):
            return "duplicate key \"\(key)\" at byte \(offset): each key may occur once per object"
        case let .trailingData(offset):
            return "unexpected data after the JSON value at byte \(offset)"
        }
    }

    /// A byte as a person would name it: `'}'` when printable, `0x0A` when not.
    private static func describe(_ byte: UInt8?) -> String {
        guard let byte else { return "the end of the input" }
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        let digits = Array("0123456789ABCDEF")
        return "byte 0x\(digits[Int(byte >> 4)])\(digits[Int(byte & 0xF)])"
    }
}
