import XCTest
@testable import TopologyWire

final class VarintTests: XCTestCase {
    func testSizesAtEveryBoundary() {
        XCTAssertEqual(Varint.size(of: UInt64(0)), 1)
        for bytes in 1...9 {
            let largest = (UInt64(1) << (7 * UInt64(bytes))) - 1
            XCTAssertEqual(Varint.size(of: largest), bytes, "largest \(bytes)-byte value")
            XCTAssertEqual(Varint.size(of: largest + 1), bytes + 1, "smallest \(bytes + 1)-byte value")
        }
        XCTAssertEqual(Varint.size(of: UInt64.max), 10)
        XCTAssertEqual(Varint.size(of: Int64(-1)), 10, "negative values are sign-extended")
    }

    func testZigzagMapsSmallMagnitudesToSmallNumbers() {
        let pairs: [(Int32, UInt32)] = [(0, 0), (-1, 1), (1, 2), (-2, 3), (Int32.max, UInt32.max - 1), (Int32.min, UInt32.max)]
        for (signed, unsigned) in pairs {
            XCTAssertEqual(Varint.zigzag(signed), unsigned)
            XCTAssertEqual(Varint.unzigzag(unsigned), signed)
        }
    }

    func testProtobufGuideExample() {
        // The protobuf encoding guide's first example: field 1, varint 150 -> 08 96 01.
        assertEncodes(Status(code: StatusCode(rawValue: 150), message: ""), to: "08 9601")
    }

    func testNegativeInt32TakesTenBytes() {
        assertEncodes(Status(code: StatusCode(rawValue: -1), message: ""), to: "08 ffffffffffffffffff01")
        assertEncodes(Status(code: StatusCode(rawValue: Int32.min), message: ""), to: "08 80808080f8ffffffff01")
    }

    func testInt64AndUInt64Extremes() {
        assertEncodes(HeartbeatRequest(sequence: Int64.max), to: "10 ffffffffffffffff7f")
        assertEncodes(HeartbeatRequest(sequence: Int64.min), to: "10 80808080808080808001")
        assertEncodes(ServiceMetrics(memoryBytes: UInt64.max), to: "10 ffffffffffffffffff01")
    }

    func testAnInt32FieldTruncatesA64BitVarint() {
        // protobuf reads int32 fields as 64-bit varints and keeps the low 32 bits.
        let status = try? Status(serializedBytes: bytes("08 ffffffff0f"))
        XCTAssertEqual(status?.code, -1)
    }

    func testTenthByteBitsBeyond64AreDropped() throws {
        let metrics = try ServiceMetrics(serializedBytes: bytes("10 ffffffffffffffffff7f"))
        XCTAssertEqual(metrics.memoryBytes, UInt64.max)
    }

    // MARK: - Varint.read, the one reader every decoder uses

    /// `Varint.read` of `hexInput` from offset `start` to `end` (the whole input when nil).
    private func read(_ hexInput: String, at start: Int = 0, end: Int? = nil, maximumBytes: Int = 10,
                      limit: UInt64 = .max) -> Varint.ReadResult {
        bytes(hexInput).withUnsafeBytes { raw in
            Varint.read(raw, at: start, end: end ?? raw.count, maximumBytes: maximumBytes, limit: limit)
        }
    }

    func testReadGivesTheValueAndTheOffsetPastIt() {
        XCTAssertEqual(read("00"), .value(0, end: 1))
        XCTAssertEqual(read("9601 ff"), .value(150, end: 2), "stops at the first byte without the high bit")
        XCTAssertEqual(read("ff 9601", at: 1), .value(150, end: 3))
        XCTAssertEqual(read("ffffffff0f", maximumBytes: 5), .value(UInt64(UInt32.max), end: 5))
        XCTAssertEqual(read("ffffffffffffffffff01"), .value(UInt64.max, end: 10))
        XCTAssertEqual(read("ffffffffffffffffff7f"), .value(UInt64.max, end: 10), "bits past the 64th are dropped")
    }

    func testReadStopsAtEndAsTruncated() {
        XCTAssertEqual(read(""), .truncated)
        XCTAssertEqual(read("96"), .truncated)
        XCTAssertEqual(read("96 01", end: 1), .truncated, "the byte at `end` is not looked at")
        XCTAssertEqual(read("00", at: 1), .truncated)
    }

    func testReadRejectsAVarintLongerThanMaximumBytes() {
        XCTAssertEqual(read("80808080 00", maximumBytes: 5), .value(0, end: 5), "padded, but within 5 bytes")
        XCTAssertEqual(read("8080808080 00", maximumBytes: 5), .overlong)
        // Overlong as soon as the 5th byte says more follow, whether or not a 6th has arrived.
        XCTAssertEqual(read("8080808080", maximumBytes: 5), .overlong)
        XCTAssertEqual(read("80808080808080808080 00"), .overlong)
        XCTAssertEqual(read("8001", maximumBytes: 1), .overlong)
    }

    func testReadChecksTheLimitAtEveryByte() {
        XCTAssertEqual(read("8008", limit: 1024), .value(1024, end: 2))
        XCTAssertEqual(read("8108", limit: 1024), .overLimit(1025))
        // Over the limit at the first byte already: the value named is the same whether the rest of
        // the varint has arrived or not.
        XCTAssertEqual(read("ff ff 01", maximumBytes: 5, limit: 100), .overLimit(127))
        XCTAssertEqual(read("ff", maximumBytes: 5, limit: 100), .overLimit(127))
        XCTAssertEqual(read("8080808080", maximumBytes: 5, limit: 0), .overlong, "within the limit, then overlong")
    }
}
