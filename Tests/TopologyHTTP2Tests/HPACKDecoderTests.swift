import XCTest
@testable import TopologyHTTP2

/// The decoder beyond the RFC's examples: every error it reports, the dynamic table's edges, and the
/// header list limit that drops fields but keeps the table in step.
final class HPACKDecoderTests: XCTestCase {
    private func decodeError(_ block: [UInt8], decoder: HPACKDecoder = HPACKDecoder(), maxHeaderListSize: Int = 1000,
                             file: StaticString = #filePath, line: UInt = #line) -> HPACKError? {
        var decoder = decoder
        return hpackError({ () throws(HPACKError) in try decoder.decode(block[...], maxHeaderListSize: maxHeaderListSize) }, file: file, line: line)
    }

    /// A literal with incremental indexing and a new name (§6.2.1, first octet 0x40).
    private func indexedLiteral(_ name: String, _ value: [UInt8]) -> [UInt8] {
        [0x40] + literal(Array(name.utf8)) + literal(value)
    }

    func testAnEmptyBlockIsAnEmptyList() throws {
        var decoder = HPACKDecoder()
        XCTAssertEqual(try decoder.decode([][...], maxHeaderListSize: 0), HeaderList(fields: [], exceededMaxSize: false))
    }

    /// The connection hands over a slice of its buffer: indices start where the slice does.
    func testABlockIsASliceOfALargerBuffer() throws {
        let buffer: [UInt8] = [0xde, 0xad] + [0x82, 0x41, 0x03] + Array("a.b".utf8) + [0xbe] + [0xbe, 0xef]
        var decoder = HPACKDecoder()
        let list = try decoder.decode(buffer[2..<(buffer.count - 2)], maxHeaderListSize: 1000)
        XCTAssertEqual(list.fields, [HeaderField(":method", "GET"), HeaderField(":authority", "a.b"), HeaderField(":authority", "a.b")])
        XCTAssertEqual(decoder.dynamicFields, [HeaderField(":authority", "a.b")])
    }

    func testIndexZeroIsOutOfRange() {
        XCTAssertEqual(decodeError([0x80]), .indexOutOfRange(index: 0, entries: 61))
    }

    func testAnIndexPastTheTablesIsOutOfRange() {
        XCTAssertEqual(decodeError([0xbe]), .indexOutOfRange(index: 62, entries: 61))
        // A literal's name index too: 63 with a 6-bit prefix.
        XCTAssertEqual(decodeError([0x7f, 0x00, 0x01, 0x61]), .indexOutOfRange(index: 63, entries: 61))
        XCTAssertTrue(HPACKError.indexOutOfRange(index: 62, entries: 61).description.contains("1...61"))
    }

    func testAnEvictedEntryIsNoLongerIndexable() throws {
        var decoder = HPACKDecoder(maxDynamicTableSize: 64)
        // Two entries of 34 octets: the second evicts the first.
        _ = try decoder.decode((indexedLiteral("a", Array("b".utf8)) + indexedLiteral("c", Array("d".utf8)))[...], maxHeaderListSize: 1000)
        XCTAssertEqual(decoder.dynamicFields, [HeaderField("c", "d")])
        XCTAssertEqual(try decoder.decode([0xbe][...], maxHeaderListSize: 1000).fields, [HeaderField("c", "d")])
        XCTAssertEqual(decodeError([0xbf], decoder: decoder), .indexOutOfRange(index: 63, entries: 62))
    }

    func testAnEntryLargerThanTheTableEmptiesIt() throws {
        var decoder = HPACKDecoder(maxDynamicTableSize: 64)
        _ = try decoder.decode(indexedLiteral("a", Array("b".utf8))[...], maxHeaderListSize: 1000)
        // 1 + 40 + 32 = 73 octets > 64: no error, the field is in the list, the table is empty.
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: 40)
        let list = try decoder.decode(indexedLiteral("a", big)[...], maxHeaderListSize: 1000)
        XCTAssertEqual(list.fields, [HeaderField("a", String(repeating: "x", count: 40))])
        XCTAssertEqual(decoder.dynamicFields, [])
        XCTAssertEqual(decoder.table.size, 0)
    }

    func testASizeUpdateAboveTheAdvertisedSizeIsRefused() {
        // 4096 = 31 + 0x61 + (0x1f << 7) is allowed; 4097 is not.
        XCTAssertEqual(decodeError([0x3f, 0xe2, 0x1f]), .tableSizeUpdateTooLarge(requested: 4097, limit: 4096))
        XCTAssertEqual(decodeError([0x21], decoder: HPACKDecoder(maxDynamicTableSize: 0)),
                       .tableSizeUpdateTooLarge(requested: 1, limit: 0))
    }

    func testASizeUpdateAfterAFieldIsRefused() {
        XCTAssertEqual(decodeError([0x82, 0x20]), .tableSizeUpdateNotAtStart)
    }

    func testSizeUpdatesAtTheStartEvictAndLimitInsertions() throws {
        var decoder = HPACKDecoder()
        _ = try decoder.decode((indexedLiteral("a", Array("b".utf8)) + indexedLiteral("c", Array("d".utf8)))[...], maxHeaderListSize: 1000)
        XCTAssertEqual(decoder.table.size, 68)
        // Down to 40 (one entry left), then a field: its block may start with a size update, as
        // the next block after the one with the fields.
        XCTAssertEqual(try decoder.decode([0x3f, 0x09, 0x82][...], maxHeaderListSize: 1000).fields, [HeaderField(":method", "GET")])
        XCTAssertEqual(decoder.dynamicFields, [HeaderField("c", "d")])
        XCTAssertEqual(decoder.table.maxSize, 40)
        // Two updates in one block (RFC 7541 §4.2: the smallest, then the final size): 0 empties the
        // table, 4096 restores the size.
        _ = try decoder.decode([0x20, 0x3f, 0xe1, 0x1f][...], maxHeaderListSize: 1000)
        XCTAssertEqual(decoder.dynamicFields, [])
        XCTAssertEqual(decoder.table.maxSize, 4096)
        // At 0, a literal with indexing is decoded but not kept.
        _ = try decoder.decode(([0x20] + indexedLiteral("a", Array("b".utf8)))[...], maxHeaderListSize: 1000)
        XCTAssertEqual(decoder.dynamicFields, [])
    }

    func testABlockCutInsideAFieldIsRefused() {
        XCTAssertEqual(decodeError([0xff]), .truncatedInteger)
        XCTAssertEqual(decodeError([0x40]), .truncatedField)
        XCTAssertEqual(decodeError([0x41]), .truncatedField)
        XCTAssertEqual(decodeError([0x40, 0x01, 0x61]), .truncatedField)
        XCTAssertEqual(decodeError([0x40, 0x0a, 0x61]), .truncatedString(length: 10, available: 1))
        // A huge length is compared with the block, not allocated.
        XCTAssertEqual(decodeError([0x04, 0x7f, 0x80, 0xff, 0xff, 0xff, 0x07]),
                       .truncatedString(length: HPACKInteger.maxValue, available: 0))
    }

    func testAStringLongerThanTheListLimitIsRefused() {
        let long = [UInt8](repeating: UInt8(ascii: "a"), count: 200)
        XCTAssertEqual(decodeError([0x04] + literal(long), maxHeaderListSize: 100), .stringTooLong(length: 200, limit: 100))
        // Huffman-coded, the limit applies to the decoded octets: 200 'a's take 125 octets coded.
        XCTAssertEqual(decodeError([0x04] + huffmanLiteral(long), maxHeaderListSize: 150), .stringTooLong(length: 151, limit: 150))
        XCTAssertEqual(decodeError([0x00] + literal(long) + literal([]), maxHeaderListSize: 100), .stringTooLong(length: 200, limit: 100))
    }

    func testHuffmanErrorsReachTheCaller() {
        XCTAssertEqual(decodeError([0x04, 0x84, 0xff, 0xff, 0xff, 0xff]), .huffmanEOS)
        XCTAssertEqual(decodeError([0x04, 0x81, 0x06]), .huffmanPaddingNotOnes)
        XCTAssertEqual(decodeError([0x04, 0x82, 0x07, 0xff]), .huffmanPaddingTooLong(bits: 11))
    }

    /// RFC 9113 §6.5.2: the list's size past the limit drops the fields beyond it, but the block is
    /// decoded to the end: the entry inserted after the limit is in the table, and the next block
    /// that references it decodes as the peer's encoder meant.
    func testPastTheListLimitFieldsAreDroppedAndTheTableStaysInStep() throws {
        var decoder = HPACKDecoder()
        let block = [0x82, 0x86]                                             // :method GET (42), :scheme http (43)
            + indexedLiteral("custom-key", Array("custom-value".utf8))       // 54: over 100
            + [0x84]                                                         // :path / (38): small, still dropped
        let list = try decoder.decode(block[...], maxHeaderListSize: 100)
        XCTAssertEqual(list, HeaderList(fields: [HeaderField(":method", "GET"), HeaderField(":scheme", "http")], exceededMaxSize: true))
        XCTAssertEqual(decoder.dynamicFields, [HeaderField("custom-key", "custom-value")])
        let next = try decoder.decode([0x82, 0xbe][...], maxHeaderListSize: 100)
        XCTAssertEqual(next, HeaderList(fields: [HeaderField(":method", "GET"), HeaderField("custom-key", "custom-value")], exceededMaxSize: false))
    }

    func testAListExactlyAtTheLimitIsKept() throws {
        var decoder = HPACKDecoder()
        XCTAssertEqual(try decoder.decode([0x82, 0x86][...], maxHeaderListSize: 85),
                       HeaderList(fields: [HeaderField(":method", "GET"), HeaderField(":scheme", "http")], exceededMaxSize: false))
        XCTAssertTrue(try decoder.decode([0x82, 0x86][...], maxHeaderListSize: 84).exceededMaxSize)
    }

    /// Invalid UTF-8 becomes U+FFFD, but sizes count the octets as sent, as the peer's encoder does:
    /// otherwise the table would evict at other times than the peer's.
    func testInvalidUTF8IsReplacedAndSizedAsSent() throws {
        var decoder = HPACKDecoder(maxDynamicTableSize: 68)
        let list = try decoder.decode(indexedLiteral("x", [0xff])[...], maxHeaderListSize: 34)
        XCTAssertEqual(list, HeaderList(fields: [HeaderField("x", "\u{FFFD}")], exceededMaxSize: false))
        XCTAssertEqual(decoder.table.size, 34)
        // A second entry of 34 fits beside it only if the first counts 34, not 36.
        _ = try decoder.decode(indexedLiteral("y", [0xfe])[...], maxHeaderListSize: 34)
        XCTAssertEqual(decoder.dynamicFields, [HeaderField("y", "\u{FFFD}"), HeaderField("x", "\u{FFFD}")])
        // A name taken from an entry is sized as sent too: one invalid octet, so "a" makes 34.
        _ = try decoder.decode(([0x40] + literal([0xfe]) + literal(Array("v".utf8)))[...], maxHeaderListSize: 34)
        XCTAssertEqual(try decoder.decode([0x0f, 0x2f, 0x01, 0x61][...], maxHeaderListSize: 34),
                       HeaderList(fields: [HeaderField("\u{FFFD}", "a")], exceededMaxSize: false))
    }

    func testNeverIndexedAndNotIndexedLiteralsLeaveTheTableAlone() throws {
        var decoder = HPACKDecoder()
        let block: [UInt8] = [0x10] + literal(Array("k".utf8)) + literal(Array("v".utf8)) + [0x04] + literal(Array("/x".utf8))
        XCTAssertEqual(try decoder.decode(block[...], maxHeaderListSize: 1000).fields, [HeaderField("k", "v"), HeaderField(":path", "/x")])
        XCTAssertEqual(decoder.dynamicFields, [])
    }

    func testEveryErrorSaysWhatWentWrong() {
        let errors: [HPACKError] = [
            .truncatedInteger, .integerOverflow, .truncatedField, .truncatedString(length: 10, available: 1),
            .stringTooLong(length: 200, limit: 100), .indexOutOfRange(index: 0, entries: 61), .huffmanEOS,
            .huffmanPaddingTooLong(bits: 8), .huffmanPaddingNotOnes, .tableSizeUpdateTooLarge(requested: 4097, limit: 4096),
            .tableSizeUpdateNotAtStart,
        ]
        let descriptions = errors.map(\.description)
        XCTAssertEqual(Set(descriptions).count, errors.count)
        for description in descriptions { XCTAssertTrue(description.hasPrefix("HPACK: "), description) }
    }
}
