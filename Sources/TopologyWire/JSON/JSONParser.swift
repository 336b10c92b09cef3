/// Reads one JSON text (RFC 8259) into a `JSONValue`, within limits the caller sets.
///
/// Strict, as the RFC's grammar is: whitespace is space, tab, CR and LF only; no comments, no
/// trailing commas, no NaN or Infinity literals, no leading zeros, no `+` sign, no byte order mark;
/// strings must be UTF-8 with every control character escaped, and a `\u` surrogate must be half of
/// a pair; nothing but whitespace may follow the value. Two choices the RFC leaves open: an object
/// with the same key twice is rejected (the proto3 JSON parsers reject it too, and a server should
/// not guess which one a client meant), and any value may stand at the top level.
///
/// The input is checked whole (JSON has no framing of its own; the caller finds its end, e.g. by
/// Content-Length). Memory: the tree is at most some tens of bytes per input byte, hence the
/// caller's size limit; the depth limit bounds the recursion.
public struct JSONParser: Sendable {
    /// Inputs longer than this are refused before any is read.
    public var maximumSize: Int
    /// Arrays and objects nested deeper than this are refused (64 is deep for any real message).
    public var maximumDepth: Int

    public init(maximumSize: Int, maximumDepth: Int = 64) {
        self.maximumSize = maximumSize
        self.maximumDepth = maximumDepth
    }

    public func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try bytes.withUnsafeBytes { try parse($0) }
    }

    /// Throws `JSONParseError`.
    public func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSONValue {
        guard bytes.count <= maximumSize else {
            throw JSONParseError.tooLarge(size: bytes.count, limit: maximumSize)
        }
        // Checked once for the whole text: then every string's raw bytes are valid UTF-8 too, since
        // the quotes and backslashes that delimit them are ASCII and cannot split a sequence.
        if let offset = UTF8Validation.firstInvalidOffset(bytes) {
            throw JSONParseError.invalidUTF8(offset: offset)
        }
        var reader = Reader(bytes: bytes, maximumDepth: maximumDepth)
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.index == bytes.count else { throw JSONParseError.trailingData(offset: reader.index) }
        return value
    }
}

/// The recursive-descent reader of one parse.
private struct Reader {
    let bytes: UnsafeRawBufferPointer
    let maximumDepth: Int
    var index = 0

    init(bytes: UnsafeRawBufferPointer, maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private func unexpected(_ expected: String) -> JSONParseError {
        .unexpected(expected: expected, found: current, offset: index)
    }

    mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
            index += 1
        }
    }

    /// A value, after optional whitespace; `depth` is how many arrays and objects enclose it.
    mutating func value(depth: Int) throws -> JSONValue {
        skipWhitespace()
        guard let byte = current else { throw unexpected("a value") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = index
            index = try JSONNumber.scan(bytes, from: index)
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            return .number(JSONNumber(checkedText: text))
        default:
            throw unexpected("a value")
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        for expected in UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount) {
            guard current == expected else { throw unexpected("'\(word)'") }
            index += 1
        }
    }

    /// Steps into a container at `depth`, or refuses to.
    private mutating func enter(depth: Int) throws {
        guard depth < maximumDepth else { throw JSONParseError.tooDeep(limit: maximumDepth, offset: index) }
        index += 1
        skipWhitespace()
    }

    private mutating func object(depth: Int) throws -> JSONValue {
        try enter(depth: depth)
        var members: [JSONValue.Member] = []
        if current == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        var keys = Set<String>()
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw unexpected("'\"' to start an object key") }
            let keyOffset = index
            let key = try string()
            guard keys.insert(key).inserted else { throw JSONParseError.duplicateKey(key, offset: keyOffset) }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw unexpected("':' after object key") }
            index += 1
            members.append(JSONValue.Member(key: key, value: try value(depth: depth + 1)))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; return .object(members)
            default: throw unexpected("',' or '}' after an object member")
            }
        }
    }

    private mutating func array(depth: Int) throws -> JSONValue {
        try enter(depth: depth)
        var elements: [JSONValue] = []
        if current == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            elements.append(try value(depth: depth + 1))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; return .array(elements)
            default: throw unexpected("',' or ']' after an array element")
            }
        }
    }

    /// A string, from its opening quote. Strings without escapes, the common case, are one slice.
    private mutating func string() throws -> String {
        index += 1
        let start = index
        while let byte = current, byte != UInt8(ascii: "\\") {
            if byte == UInt8(ascii: "\"") {
                index += 1
                return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index - 1]), as: UTF8.self)
            }
            if byte < 0x20 { throw JSONParseError.unescapedControlCharacter(byte, offset: index) }
            index += 1
        }
        var utf8 = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        while true {
            guard let byte = current else { throw unexpected("'\"' to end the string") }
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try escape(into: &utf8)
            case ..<0x20:
                throw JSONParseError.unescapedControlCharacter(byte, offset: index)
            default:
                utf8.append(byte)
                index += 1
            }
        }
    }

    /// One escape, from its backslash, appended to `utf8` as UTF-8.
    private mutating func escape(into utf8: inout [UInt8]) throws {
        let escapeOffset = index
        index += 1
        guard let byte = current else { throw unexpected("an escape character after '\\'") }
        let simple: UInt8
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): simple = byte
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"):
            let unit = try hexQuad()
            var scalar = unit
            if unit >= 0xD800 && unit <= 0xDBFF {
                // A high surrogate: only with a low one after it is it a character.
                guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                    throw JSONParseError.loneSurrogate(offset: escapeOffset)
                }
                index += 1
                let low = try hexQuad()
                guard low >= 0xDC00 && low <= 0xDFFF else { throw JSONParseError.loneSurrogate(offset: escapeOffset) }
                scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            } else if unit >= 0xDC00 && unit <= 0xDFFF {
                throw JSONParseError.loneSurrogate(offset: escapeOffset)
            }
            utf8.append(contentsOf: Unicode.UTF8.encode(Unicode.Scalar(scalar)!)!)
            return
        default:
            throw JSONParseError.invalidEscape(offset: escapeOffset)
        }
        utf8.append(simple)
        index += 1
    }

    /// The four hex digits after a `\u` (the reader is at the `u`), as a UTF-16 code unit.
    private mutating func hexQuad() throws -> UInt32 {
        index += 1
        var unit: UInt32 = 0
        for _ in 0..<4 {
            let digit: UInt8
            switch current {
            case let byte? where byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case let byte? where byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case let byte? where byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw unexpected("four hex digits after \\u")
            }
            unit = unit << 4 | UInt32(digit)
            index += 1
        }
        return unit
    }
}
