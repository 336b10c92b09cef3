import XCTest
@testable import TopologyHTTP2

/// The Huffman code (RFC 7541 §5.2, Appendix B): the table's shape, every symbol, and the strings a
/// decoder must refuse. (Appendix C.4 and C.6, in HPACKAppendixCTests, decode the RFC's own strings.)
final class HPACKHuffmanTests: XCTestCase {
    private func decodeError(_ input: [UInt8], limit: Int = 1000, file: StaticString = #filePath, line: UInt = #line) -> HPACKError? {
        hpackError({ () throws(HPACKError) in try HPACKHuffman.decode(input[...], limit: limit) }, file: file, line: line)
    }

    func testTheTableIsCompleteAndCanonical() {
        let codes = HPACKHuffman.codes
        XCTAssertEqual(codes.count, 257)
        // Complete (Kraft's sum is exactly 1): no bit string is left over, so only padding and EOS
        // can be invalid.
        XCTAssertEqual(codes.reduce(UInt64(0)) { $0 + (UInt64(1) << (30 - UInt64($1.bits))) }, UInt64(1) << 30)
        // Canonical: ordered by (length, symbol), each code is the previous one plus 1, shifted to
        // its length. A mistyped code or length breaks the chain.
        let order = codes.indices.sorted { (codes[$0].bits, $0) < (codes[$1].bits, $1) }
        var expected: UInt32 = 0
        for (position, symbol) in order.enumerated() {
            if position > 0 {
                let previous = codes[order[position - 1]]
                expected = (expected + 1) << UInt32(codes[symbol].bits - previous.bits)
            }
            XCTAssertEqual(codes[symbol].code, expected, "symbol \(symbol)")
        }
        XCTAssertEqual(codes[HPACKHuffman.eos].code, 0x3fff_ffff)
        XCTAssertEqual(codes[HPACKHuffman.eos].bits, 30)
    }

    func testSpotChecksAgainstTheAppendix() {
        XCTAssertTrue(HPACKHuffman.codes[Int(UInt8(ascii: "0"))] == (0x0, 5))
        XCTAssertTrue(HPACKHuffman.codes[Int(UInt8(ascii: "a"))] == (0x3, 5))
        XCTAssertTrue(HPACKHuffman.codes[Int(UInt8(ascii: "\\"))] == (0x7fff0, 19))
        XCTAssertTrue(HPACKHuffman.codes[255] == (0x3ffffee, 26))
    }

    func testEverySymbolDecodes() throws {
        let all = (0...255).map { UInt8($0) }
        XCTAssertEqual(try HPACKHuffman.decode(huffmanEncode(all)[...], limit: 256), all)
        for octet in all {
            XCTAssertEqual(try HPACKHuffman.decode(huffmanEncode([octet])[...], limit: 1), [octet], "symbol \(octet)")
        }
    }

    func testTheEmptyStringDecodes() throws {
        XCTAssertEqual(try HPACKHuffman.decode([][...], limit: 0), [])
    }

    func testTheEOSSymbolIsRefused() {
        // EOS alone, padded with ones to 32 bits.
        XCTAssertEqual(decodeError([0xff, 0xff, 0xff, 0xff]), .huffmanEOS)
        // After a symbol: "0" (00000), then EOS's 30 ones, then a padding one.
        XCTAssertEqual(decodeError([0x07, 0xff, 0xff, 0xff, 0xff]), .huffmanEOS)
    }

    func testPaddingOfAnOctetOrMoreIsRefused() {
        // "0" (00000) + 111: valid. One more octet of ones makes 11 bits of padding.
        XCTAssertEqual(try HPACKHuffman.decode([0x07][...], limit: 1), Array("0".utf8))
        XCTAssertEqual(decodeError([0x07, 0xff]), .huffmanPaddingTooLong(bits: 11))
        XCTAssertEqual(decodeError([0xff]), .huffmanPaddingTooLong(bits: 8))
    }

    func testPaddingThatIsNotAllOnesIsRefused() {
        // "0" (00000) + 110.
        XCTAssertEqual(decodeError([0x06]), .huffmanPaddingNotOnes)
        // "0" then 101: the padding's first bit one, a later one zero.
        XCTAssertEqual(decodeError([0x05]), .huffmanPaddingNotOnes)
    }

    func testDecodingStopsAtTheLimit() throws {
        let coded = huffmanEncode(Array("www.example.com".utf8))
        XCTAssertEqual(try HPACKHuffman.decode(coded[...], limit: 15), Array("www.example.com".utf8))
        XCTAssertEqual(decodeError(coded, limit: 14), .stringTooLong(length: 15, limit: 14))
    }
}
