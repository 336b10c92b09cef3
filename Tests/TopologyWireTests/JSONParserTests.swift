@testable import TopologyWire
import XCTest

/// RFC 8259, edge by edge: what `JSONParser` accepts, what it refuses, and the error it names.
final class JSONParserTests: XCTestCase {
    private let parser = JSONParser(maximumSize: 1 << 20)

    private func parse(_ text: String, _ parser: JSONParser? = nil) throws -> JSONValue {
        try (parser ?? self.parser).parse(Array(text.utf8))
    }

    private func assertFails(_ text: String, _ expected: JSONParseError, parser: JSONParser? = nil,
                             file: StaticString = #filePath, line: UInt = #line) {
        assertFails(Array(text.utf8), expected, parser: parser, file: file, line: line)
    }

    private func assertFails(_ input: [UInt8], _ expected: JSONParseError, parser: JSONParser? = nil,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try (parser ?? self.parser).parse(input), file: file, line: line) { error in
            XCTAssertEqual(error as? JSONParseError, expected, file: file, line: line)
        }
    }

    private func number(_ text: String) -> JSONValue { .number(JSONNumber(text)!) }

    // MARK: - Values

    func testScalarsAtTheTopLevel() throws {
        XCTAssertEqual(try parse("true"), .bool(true))
        XCTAssertEqual(try parse("false"), .bool(false))
        XCTAssertEqual(try parse("null"), .null)
        XCTAssertEqual(try parse("\"x\""), .string("x"))
        XCTAssertEqual(try parse("-12.5e3"), number("-12.5e3"))
    }

    func testObjectsAndArraysKeepTheirOrder() throws {
        let value = try parse(#" { "b" : [1, "two", null, {}, []], "a": {"c": false} } "#)
        XCTAssertEqual(value, .object([
            .init(key: "b", value: .array([number("1"), .string("two"), .null, .object([]), .array([])])),
            .init(key: "a", value: .object([.init(key: "c", value: .bool(false))])),
        ]))
        XCTAssertEqual(value["a"]?["c"], .bool(false))
        XCTAssertNil(value["missing"])
        XCTAssertNil(JSONValue.array([])["a"])
    }

    func testWhitespaceIsOnlyTheFourOfTheRFC() throws {
        XCTAssertEqual(try parse("\t\r\n [ \n1\t,\r2 ] \n"), .array([number("1"), number("2")]))
        assertFails("[1,\u{0C}2]", .unexpected(expected: "a value", found: 0x0C, offset: 3))
        assertFails("[1,\u{0B}2]", .unexpected(expected: "a value", found: 0x0B, offset: 3))
        // A no-break space (C2 A0) is valid UTF-8 but not JSON whitespace.
        assertFails("[\u{A0}1]", .unexpected(expected: "a value", found: 0xC2, offset: 1))
        // A byte order mark is refused, not skipped.
        assertFails([0xEF, 0xBB, 0xBF] + Array("{}".utf8), .unexpected(expected: "a value", found: 0xEF, offset: 0))
    }

    func testLiteralsMustBeExact() {
        assertFails("tru", .unexpected(expected: "'true'", found: nil, offset: 3))
        assertFails("nul1", .unexpected(expected: "'null'", found: UInt8(ascii: "1"), offset: 3))
        assertFails("True", .unexpected(expected: "a value", found: UInt8(ascii: "T"), offset: 0))
        assertFails("NaN", .unexpected(expected: "a value", found: UInt8(ascii: "N"), offset: 0))
        assertFails("Infinity", .unexpected(expected: "a value", found: UInt8(ascii: "I"), offset: 0))
        assertFails("-Infinity", .unexpected(expected: "a digit", found: UInt8(ascii: "I"), offset: 1))
    }

    // MARK: - Strings

    func testEveryEscape() throws {
        XCTAssertEqual(try parse(#""\" \\ \/ \b \f \n \r \t""#), .string("\" \\ / \u{08} \u{0C} \n \r \t"))
        XCTAssertEqual(try parse(#""\u0041\u00e9\u20AC\u0000\uFFFF""#), .string("Aé€\u{0}\u{FFFF}"))
        XCTAssertEqual(try parse(#""plain then \n and more""#), .string("plain then \n and more"))
        // Raw UTF-8 passes through; DEL (7F) is no control character for JSON.
        XCTAssertEqual(try parse("\"é😀\u{7F}\u{2028}\""), .string("é😀\u{7F}\u{2028}"))
    }

    func testSurrogatePairsMakeOneCharacter() throws {
        XCTAssertEqual(try parse(#""\uD83D\uDE00""#), .string("😀"))
        XCTAssertEqual(try parse(#""\udbff\udfff""#), .string("\u{10FFFF}"))
        XCTAssertEqual(try parse(#""a\uD800\uDC00b""#), .string("a\u{10000}b"))
    }

    func testLoneSurrogatesAreRefused() {
        assertFails(#""\uD800""#, .loneSurrogate(offset: 1))
        assertFails(#""x\uD800y""#, .loneSurrogate(offset: 2))
        assertFails(#""\uD800\n""#, .loneSurrogate(offset: 1))
        assertFails(#""\uD800\uD800""#, .loneSurrogate(offset: 1))
        assertFails(#""\uDC00""#, .loneSurrogate(offset: 1))
        assertFails(#""\uDFFF\uD800""#, .loneSurrogate(offset: 1))
        assertFails(#""\uD800\u0041""#, .loneSurrogate(offset: 1))
        assertFails(#""\uD800\"#, .loneSurrogate(offset: 1))
    }

    func testInvalidEscapes() {
        assertFails(#""\x41""#, .invalidEscape(offset: 1))
        assertFails(#""\'""#, .invalidEscape(offset: 1))
        assertFails(#""\U0041""#, .invalidEscape(offset: 1))
        assertFails(#""\u12""#, .unexpected(expected: "four hex digits after \\u", found: UInt8(ascii: "\""), offset: 5))
        assertFails(#""\u12G4""#, .unexpected(expected: "four hex digits after \\u", found: UInt8(ascii: "G"), offset: 5))
        assertFails(#""\"#, .unexpected(expected: "an escape character after '\\'", found: nil, offset: 2))
        assertFails(#""\uD83D\uDE0""#, .unexpected(expected: "four hex digits after \\u", found: UInt8(ascii: "\""), offset: 12))
    }

    func testControlCharactersMustBeEscaped() {
        assertFails("\"a\u{01}\"", .unescapedControlCharacter(0x01, offset: 2))
        assertFails("\"tab\there\"", .unescapedControlCharacter(0x09, offset: 4))
        assertFails("\"line\nbreak\"", .unescapedControlCharacter(0x0A, offset: 5))
        assertFails("\"\u{1F}\"", .unescapedControlCharacter(0x1F, offset: 1))
        assertFails([0x22, 0x00, 0x22], .unescapedControlCharacter(0x00, offset: 1))
        // After an escape, too (the slow path).
        assertFails("\"\\n\u{01}\"", .unescapedControlCharacter(0x01, offset: 3))
    }

    func testUnterminatedStrings() {
        assertFails("\"abc", .unexpected(expected: "'\"' to end the string", found: nil, offset: 4))
        assertFails("\"a\\nbc", .unexpected(expected: "'\"' to end the string", found: nil, offset: 6))
    }

    func testInvalidUTF8IsRefusedWithItsOffset() {
        assertFails([0x22, 0x61, 0xFF, 0x22], .invalidUTF8(offset: 2))
        assertFails([0x22, 0xC0, 0x80, 0x22], .invalidUTF8(offset: 1))  // overlong NUL
        assertFails([0x22, 0xED, 0xA0, 0x80, 0x22], .invalidUTF8(offset: 1))  // a surrogate in UTF-8
        assertFails([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], .invalidUTF8(offset: 1))  // above U+10FFFF
        assertFails([0x22, 0x61, 0xE2, 0x82], .invalidUTF8(offset: 2))  // cut sequence at the end
        // Outside strings as well: the whole text is checked first.
        assertFails(Array("[1,".utf8) + [0x80] + Array("]".utf8), .invalidUTF8(offset: 3))
    }

    // MARK: - Numbers

    func testNumbersKeepTheirText() throws {
        for text in ["0", "-0", "1", "-1", "10", "1.5", "-0.0", "1e400", "1E+2", "1e-2", "-1.5e-3", "123456789012345678901234567890"] {
            XCTAssertEqual(try parse(text), number(text), text)
            XCTAssertEqual(JSONNumber(text)?.text, text)
        }
    }

    func testNumberGrammarErrors() {
        assertFails("01", .invalidNumber(reason: "leading zeros are not allowed", offset: 0))
        assertFails("-01", .invalidNumber(reason: "leading zeros are not allowed", offset: 1))
        assertFails("[00]", .invalidNumber(reason: "leading zeros are not allowed", offset: 1))
        assertFails("1.", .unexpected(expected: "a digit after '.'", found: nil, offset: 2))
        assertFails("1.e5", .unexpected(expected: "a digit after '.'", found: UInt8(ascii: "e"), offset: 2))
        assertFails(".5", .unexpected(expected: "a value", found: UInt8(ascii: "."), offset: 0))
        assertFails("-", .unexpected(expected: "a digit", found: nil, offset: 1))
        assertFails("-a", .unexpected(expected: "a digit", found: UInt8(ascii: "a"), offset: 1))
        assertFails("+1", .unexpected(expected: "a value", found: UInt8(ascii: "+"), offset: 0))
        assertFails("1e", .unexpected(expected: "a digit in the exponent", found: nil, offset: 2))
        assertFails("1e+", .unexpected(expected: "a digit in the exponent", found: nil, offset: 3))
        assertFails("0x10", .trailingData(offset: 1))
        assertFails("1 2", .trailingData(offset: 2))
    }

    func testJSONNumberFromTextIsTheSameGrammar() {
        for bad in ["", " 1", "1 ", "+1", "01", "1.", "0x1", "1_000", "NaN", "Infinity", "--1", "1e"] {
            XCTAssertNil(JSONNumber(bad), bad)
        }
    }

    // MARK: - Structure

    func testStructureErrorsNameWhatWasExpectedAndWhere() {
        assertFails(#"{"a" 1}"#, .unexpected(expected: "':' after object key", found: UInt8(ascii: "1"), offset: 5))
        XCTAssertEqual(JSONParseError.unexpected(expected: "':' after object key", found: UInt8(ascii: "1"), offset: 17).description,
                       "expected ':' after object key at byte 17, found '1'")
        assertFails(#"{"a":1,}"#, .unexpected(expected: "'\"' to start an object key", found: UInt8(ascii: "}"), offset: 7))
        assertFails(#"{a:1}"#, .unexpected(expected: "'\"' to start an object key", found: UInt8(ascii: "a"), offset: 1))
        assertFails(#"{"a":1 "b":2}"#, .unexpected(expected: "',' or '}' after an object member", found: UInt8(ascii: "\""), offset: 7))
        assertFails(#"{"a":}"#, .unexpected(expected: "a value", found: UInt8(ascii: "}"), offset: 5))
        assertFails(#"{"a":1"#, .unexpected(expected: "',' or '}' after an object member", found: nil, offset: 6))
        assertFails("[1,]", .unexpected(expected: "a value", found: UInt8(ascii: "]"), offset: 3))
        assertFails("[1 2]", .unexpected(expected: "',' or ']' after an array element", found: UInt8(ascii: "2"), offset: 3))
        assertFails("[", .unexpected(expected: "a value", found: nil, offset: 1))
        assertFails("[1", .unexpected(expected: "',' or ']' after an array element", found: nil, offset: 2))
        assertFails("", .unexpected(expected: "a value", found: nil, offset: 0))
        assertFails(" \n ", .unexpected(expected: "a value", found: nil, offset: 3))
        assertFails("{} x", .trailingData(offset: 3))
        assertFails("[1]]", .trailingData(offset: 3))
        assertFails("{}{}", .trailingData(offset: 2))
        assertFails("// comment\n{}", .unexpected(expected: "a value", found: UInt8(ascii: "/"), offset: 0))
    }

    func testDuplicateKeysAreRefused() throws {
        assertFails(#"{"a":1,"a":2}"#, .duplicateKey("a", offset: 7))
        // The same key after its escapes are read.
        assertFails(#"{"a":1,"\u0061":2}"#, .duplicateKey("a", offset: 7))
        // The same key in different objects is fine.
        XCTAssertNoThrow(try parse(#"{"a":{"a":1},"b":{"a":2}}"#))
    }

    // MARK: - Limits

    func testNestingDepthLimit() throws {
        let limit = 64
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        XCTAssertNoThrow(try parse(deepest))
        let tooDeep = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        assertFails(tooDeep, .tooDeep(limit: limit, offset: limit))
        assertFails(String(repeating: #"{"a":"#, count: 3) + "1}}}", .tooDeep(limit: 2, offset: 10),
                    parser: JSONParser(maximumSize: 100, maximumDepth: 2))
        // A hostile depth costs no stack: refused at the limit.
        assertFails(String(repeating: "[", count: 200_000), .tooDeep(limit: limit, offset: limit))
        XCTAssertEqual(JSONParseError.tooDeep(limit: 64, offset: 64).description,
                       "arrays and objects nested more than 64 deep at byte 64")
    }

    func testSizeLimitIsCheckedBeforeReading() {
        let parser = JSONParser(maximumSize: 10)
        XCTAssertNoThrow(try parser.parse(Array("[1,2,3,45]".utf8)))
        // Over the limit, even though it is not JSON at all: nothing was read.
        assertFails(Array(repeating: 0xFF, count: 11), .tooLarge(size: 11, limit: 10), parser: parser)
    }

    func testErrorDescriptionsAreReadable() {
        XCTAssertEqual(JSONParseError.unexpected(expected: "a value", found: nil, offset: 0).description,
                       "expected a value at byte 0, found the end of the input")
        XCTAssertEqual(JSONParseError.unexpected(expected: "a value", found: 0x0C, offset: 3).description,
                       "expected a value at byte 3, found byte 0x0C")
        XCTAssertEqual(JSONParseError.duplicateKey("a", offset: 7).description,
                       "duplicate key \"a\" at byte 7: each key may occur once per object")
        XCTAssertEqual(JSONParseError.invalidUTF8(offset: 2).description, "invalid UTF-8 at byte 2: JSON text must be UTF-8")
        XCTAssertEqual(JSONParseError.tooLarge(size: 11, limit: 10).description,
                       "JSON text of 11 bytes is over the limit of 10 bytes")
        XCTAssertEqual(JSONParseError.unescapedControlCharacter(0x0A, offset: 5).description,
                       "control character byte 0x0A in a string at byte 5: write it as \\u00XX")
        XCTAssertTrue(JSONParseError.loneSurrogate(offset: 1).description.hasPrefix("lone UTF-16 surrogate in \\u escape at byte 1"))
        XCTAssertTrue(JSONParseError.invalidEscape(offset: 1).description.hasPrefix("invalid escape at byte 1"))
        XCTAssertEqual(JSONParseError.invalidNumber(reason: "leading zeros are not allowed", offset: 0).description,
                       "invalid number at byte 0: leading zeros are not allowed")
        XCTAssertEqual(JSONParseError.trailingData(offset: 3).description, "unexpected data after the JSON value at byte 3")
    }
}
