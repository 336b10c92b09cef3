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
}
