import XCTest
@testable import TopologyHTTP2

/// Prefix integers (RFC 7541 §5.1): the examples of Appendix C.1, the boundaries, and the bounds.
final class HPACKIntegerTests: XCTestCase {
    /// Asserts that `value` encodes to exactly `expected` with the prefix, and decodes back from it.
    private func assertInteger(_ value: Int, prefixBits: Int, flags: UInt8 = 0, _ expected: [UInt8],
                               file: StaticString = #filePath, line: UInt = #line) {
        var out: [UInt8] = []
        HPACKInteger.encode(value, prefixBits: prefixBits, flags: flags, into: &out)
        XCTAssertEqual(out, expected, "encoding \(value)", file: file, line: line)
        var index = expected.startIndex
        XCTAssertEqual(try HPACKInteger.decode(expected[...], at: &index, prefixBits: prefixBits), value, file: file, line: line)
        XCTAssertEqual(index, expected.endIndex, "decoding \(value) left octets unread", file: file, line: line)
    }

    private func decodeError(_ input: [UInt8], prefixBits: Int, file: StaticString = #filePath, line: UInt = #line) -> HPACKError? {
        var index = 0
        return hpackError({ () throws(HPACKError) in try HPACKInteger.decode(input[...], at: &index, prefixBits: prefixBits) }, file: file, line: line)
    }

    func testAppendixC1Examples() {
        assertInteger(10, prefixBits: 5, [0x0a])                 // C.1.1
        assertInteger(1337, prefixBits: 5, [0x1f, 0x9a, 0x0a])   // C.1.2
        assertInteger(42, prefixBits: 8, [0x2a])                 // C.1.3
    }

    func testPrefixBoundariesAndFlags() {
        assertInteger(30, prefixBits: 5, flags: 0x20, [0x3e])
        assertInteger(31, prefixBits: 5, flags: 0x20, [0x3f, 0x00])
        assertInteger(31 + 127, prefixBits: 5, [0x1f, 0x7f])
        assertInteger(31 + 128, prefixBits: 5, [0x1f, 0x80, 0x01])
        assertInteger(0, prefixBits: 7, flags: 0x80, [0x80])
        assertInteger(127, prefixBits: 7, flags: 0x80, [0xff, 0x00])
        assertInteger(HPACKInteger.maxValue, prefixBits: 7, [0x7f, 0x80, 0xff, 0xff, 0xff, 0x07])
    }

    func testTheFlagBitsAboveThePrefixAreNotPartOfTheValue() throws {
        var index = 0
        XCTAssertEqual(try HPACKInteger.decode([0xea][...], at: &index, prefixBits: 5), 10)
    }

    func testDecodingStartsAtTheIndexOfASlice() throws {
        // A slice keeps its parent's indices: the integer is at 1..<4 of the whole.
        let whole: [UInt8] = [0xff, 0x1f, 0x9a, 0x0a, 0xff]
        var index = 1
        XCTAssertEqual(try HPACKInteger.decode(whole[1..<4], at: &index, prefixBits: 5), 1337)
        XCTAssertEqual(index, 4)
    }

    func testContinuationPastTheEndIsTruncated() {
        XCTAssertEqual(decodeError([0x1f], prefixBits: 5), .truncatedInteger)
        XCTAssertEqual(decodeError([0x1f, 0x9a], prefixBits: 5), .truncatedInteger)
    }

    func testAValueOverTheMaximumOverflows() {
        // maxValue + 1: 127 + 0x7fffff81, the last octet one higher than above.
        XCTAssertEqual(decodeError([0x7f, 0x81, 0xff, 0xff, 0xff, 0x07], prefixBits: 7), .integerOverflow)
        XCTAssertEqual(decodeError([0x7f, 0xff, 0xff, 0xff, 0xff, 0x7f], prefixBits: 7), .integerOverflow)
    }

    func testMoreContinuationOctetsThanTheMaximumNeedsOverflow() {
        // Zero padding: the value stays small, but a sixth continuation octet is refused rather
        // than read on for as long as the block goes.
        XCTAssertEqual(decodeError([0x1f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], prefixBits: 5), .integerOverflow)
        // Five, however padded, are accepted.
        var index = 0
        XCTAssertEqual(try HPACKInteger.decode([0x1f, 0x81, 0x80, 0x80, 0x80, 0x00][...], at: &index, prefixBits: 5), 32)
    }
}
