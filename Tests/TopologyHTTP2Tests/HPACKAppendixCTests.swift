import Foundation
import XCTest
@testable import TopologyHTTP2

/// Every example of RFC 7541 Appendix C.2 to C.6, read from `Schema/hpack/rfc7541_appendix_c.json`
/// (the RFC's hex, also the seeds of the `hpack` fuzz target): each sequence decoded block by block
/// on one decoder, checking the header list, the dynamic table and its size after each block.
/// (C.1, the integer examples, is in HPACKIntegerTests.)
final class HPACKAppendixCTests: XCTestCase {
    struct Block: Decodable {
        var section: String
        var hex: String
        var headers: [[String]]
        var table: [[String]]
        var table_size: Int
    }

    struct Sequence: Decodable {
        var name: String
        var max_table_size: Int
        var blocks: [Block]
    }

    struct VectorFile: Decodable {
        var sequences: [Sequence]
    }

    static let path = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Tests/TopologyHTTP2Tests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository root
        .appendingPathComponent("Schema/hpack/rfc7541_appendix_c.json")

    private func sequence(_ prefix: String) throws -> Sequence {
        let file = try JSONDecoder().decode(VectorFile.self, from: Data(contentsOf: Self.path))
        return try XCTUnwrap(file.sequences.first { $0.name.hasPrefix(prefix) }, "no sequence \(prefix) in \(Self.path.path)")
    }

    private func fields(_ pairs: [[String]]) -> [HeaderField] {
        pairs.map { HeaderField($0[0], $0[1]) }
    }

    /// Decodes the blocks of the sequence whose name starts with `prefix` on one decoder.
    private func assertSequence(_ prefix: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let sequence = try sequence(prefix)
        XCTAssertFalse(sequence.blocks.isEmpty, file: file, line: line)
        var decoder = HPACKDecoder(maxDynamicTableSize: sequence.max_table_size)
        for block in sequence.blocks {
            let list = try decoder.decode(bytes(block.hex)[...], maxHeaderListSize: 16_384)
            XCTAssertEqual(list, HeaderList(fields: fields(block.headers), exceededMaxSize: false), block.section, file: file, line: line)
            XCTAssertEqual(decoder.dynamicFields, fields(block.table), block.section, file: file, line: line)
            XCTAssertEqual(decoder.table.size, block.table_size, block.section, file: file, line: line)
        }
    }

    func testC2_1LiteralWithIndexing() throws { try assertSequence("C.2.1") }
    func testC2_2LiteralWithoutIndexing() throws { try assertSequence("C.2.2") }
    func testC2_3LiteralNeverIndexed() throws { try assertSequence("C.2.3") }
    func testC2_4Indexed() throws { try assertSequence("C.2.4") }
    func testC3RequestsWithoutHuffman() throws { try assertSequence("C.3") }
    func testC4RequestsWithHuffman() throws { try assertSequence("C.4") }
    func testC5ResponsesWithEvictions() throws { try assertSequence("C.5") }
    func testC6ResponsesWithHuffmanAndEvictions() throws { try assertSequence("C.6") }

    /// The Huffman and plain sequences carry the same header lists: the strings of C.4 and C.6 are
    /// C.3's and C.5's, Huffman-coded by the RFC's authors.
    func testHuffmanSequencesDecodeToThePlainOnes() throws {
        for (plain, huffman) in [("C.3", "C.4"), ("C.5", "C.6")] {
            let a = try sequence(plain).blocks, b = try sequence(huffman).blocks
            XCTAssertEqual(a.map(\.headers), b.map(\.headers))
            XCTAssertNotEqual(a.map(\.hex), b.map(\.hex))
        }
    }
}
