import XCTest
@testable import TopologyWire

/// How the decoder treats inputs that are valid but not what an encoder would write.
final class DecodingSemanticsTests: XCTestCase {
    func testScalarGivenTwiceLastOneWins() throws {
        let request = try HeartbeatRequest(serializedBytes: bytes("10 01 10 07"))
        XCTAssertEqual(request.sequence, 7)
    }

    func testMessageFieldGivenTwiceIsMerged() throws {
        // metadata { region: "eu" } then metadata { team: "core" }: both survive.
        let request = try RegisterServiceRequest(serializedBytes: bytes("3a 04 0a02 6575   3a 06 1a04 636f7265"))
        XCTAssertEqual(request.metadata, ServiceMetadata(region: "eu", team: "core"))
    }

    func testRepeatedStringsAppend() throws {
        let query = try TopologyQuery(serializedBytes: bytes("0a 01 61  10 01  0a 01 62"))
        XCTAssertEqual(query.serviceNames, ["a", "b"])
        XCTAssertTrue(query.includeIdle)
    }

    func testPackedAndUnpackedRepeatedScalarsDecodeAlike() throws {
        let packed = try TopologyQuery(serializedBytes: bytes("a2 01 02 02 04"))
        let unpacked = try TopologyQuery(serializedBytes: bytes("a0 01 02  a0 01 04"))
        XCTAssertEqual(packed.states, [.idle, .stale])
        XCTAssertEqual(unpacked, packed)
        // Mixed forms append in order.
        let mixed = try LatencyHistogram(serializedBytes: bytes("0a 02 01 03  08 05  12 01 07  10 09"))
        XCTAssertEqual(mixed.indexes, [-1, -2, -3])
        XCTAssertEqual(mixed.counts, [7, 9])
        assertEncodes(mixed, to: "0a 03 01 03 05  12 02 07 09")
    }

    func testOneofLastMemberWinsAndSameMemberMerges() throws {
        // heartbeat_request {service_id "a"} then unregister_service_request {service_id "b"}.
        let replaced = try Frame(serializedBytes: bytes("62 03 0a0161  82 01 03 0a0162"))
        XCTAssertEqual(replaced.message, .unregisterServiceRequest(UnregisterServiceRequest(serviceId: "b")))
        // heartbeat_request {service_id "a"} then heartbeat_request {sequence 3}: merged.
        let merged = try Frame(serializedBytes: bytes("62 03 0a0161  62 02 1003"))
        XCTAssertEqual(merged.message, .heartbeatRequest(HeartbeatRequest(serviceId: "a", sequence: 3)))
    }

    func testUnknownFieldsOfEveryWireTypeAreSkipped() throws {
        let input = bytes("""
            0a 03 616263
            f8 01 96 01
            f9 01 0102030405060708
            fa 01 03 ffffff
            fd 01 01020304
            10 05
            """)
        let request = try HeartbeatRequest(serializedBytes: input)
        XCTAssertEqual(request, HeartbeatRequest(serviceId: "abc", sequence: 5))
    }

    func testKnownFieldWithAnotherWireTypeIsSkippedAsUnknown() throws {
        // service_id (a string) sent as a varint, sequence (a varint) sent as fixed32.
        let request = try HeartbeatRequest(serializedBytes: bytes("08 05  15 01000000  0a 01 78"))
        XCTAssertEqual(request, HeartbeatRequest(serviceId: "x"))
    }
}

/// Every way bytes can fail to be a message, each with its specific error.
final class MalformedInputTests: XCTestCase {
    func testTruncatedVarint() {
        assertDecodingFails(HeartbeatRequest.self, "10 96", with: .truncated(offset: 1, needed: 2, available: 1))
    }

    func testTruncatedTag() {
        assertDecodingFails(HeartbeatRequest.self, "0a 01 61 f8", with: .truncated(offset: 3, needed: 2, available: 1))
    }

    func testLengthPastTheEnd() {
        assertDecodingFails(HeartbeatRequest.self, "0a 05 6162", with: .truncated(offset: 1, needed: 5, available: 2))
    }

    func testHugeLengthDoesNotAllocate() {
        // A length of 4 GiB must be refused from the bytes at hand, not attempted.
        assertDecodingFails(
            HeartbeatRequest.self, "0a ffffffff0f", with: .truncated(offset: 1, needed: 4_294_967_295, available: 0))
    }

    func testTagOrLengthPaddedPastFiveBytes() {
        // Tags and lengths are 32-bit; like the official parsers, a padded 6-byte one is corrupt.
        assertDecodingFails(HeartbeatResponse.self, "88 80 80 80 80 00 01", with: .malformedVarint(offset: 0))
        assertDecodingFails(UnregisterServiceRequest.self, "0a 83 80 80 80 80 00 616263", with: .malformedVarint(offset: 1))
        assertDecodingFails(HeartbeatRequest.self, "0a 80808080808080808001", with: .malformedVarint(offset: 1))
    }

    func testSubmessageLengthPastItsParent() {
        // metrics claims 4 bytes, but the outer message holds only 2 more.
        assertDecodingFails(HeartbeatRequest.self, "1a 04 1001", with: .truncated(offset: 1, needed: 4, available: 2))
    }

    func testFieldInsideSubmessageRunsPastItsEnd() {
        // metrics is 2 bytes long, but its string-less varint field needs a third.
        assertDecodingFails(HeartbeatRequest.self, "1a 02 10 96  01", with: .truncated(offset: 3, needed: 2, available: 1))
    }

    func testTruncatedFixed64() {
        assertDecodingFails(ServiceMetrics.self, "09 000000", with: .truncated(offset: 1, needed: 8, available: 3))
    }

    func testTruncatedFixed32InUnknownField() {
        assertDecodingFails(ServiceMetrics.self, "fd 01 0102", with: .truncated(offset: 2, needed: 4, available: 2))
    }

    func testVarintLongerThanTenBytes() {
        assertDecodingFails(HeartbeatRequest.self, "10 ffffffffffffffffffff01", with: .malformedVarint(offset: 1))
    }

    func testUndefinedWireTypes() {
        assertDecodingFails(HeartbeatRequest.self, "0e", with: .invalidWireType(6, field: 1, offset: 0))
        assertDecodingFails(HeartbeatRequest.self, "0a 01 61 17", with: .invalidWireType(7, field: 2, offset: 3))
    }

    func testGroupsAreRejected() {
        assertDecodingFails(HeartbeatRequest.self, "0b 0c", with: .groupNotSupported(field: 1, offset: 0))
        assertDecodingFails(HeartbeatRequest.self, "0c", with: .groupNotSupported(field: 1, offset: 0))
    }

    func testFieldNumberZero() {
        assertDecodingFails(HeartbeatRequest.self, "00 00", with: .invalidFieldNumber(0, offset: 0))
    }

    func testFieldNumberAboveTheMaximum() {
        // Tag of field 2^29 (one past the maximum), wire type 0.
        assertDecodingFails(HeartbeatRequest.self, "80 80 80 80 10 00", with: .invalidFieldNumber(1 << 29, offset: 0))
    }

    func testInvalidUTF8() {
        assertDecodingFails(HeartbeatRequest.self, "0a 02 c328", with: .invalidUTF8(field: 1, offset: 0))
        // An unpaired surrogate encoded in UTF-8 (CESU style) is invalid too.
        assertDecodingFails(RegisterServiceRequest.self, "0a 03 eda080", with: .invalidUTF8(field: 1, offset: 0))
    }

    func testInvalidUTF8InNestedMessageReportsItsOwnOffset() {
        // Frame { heartbeat_request { service_id: c3 28 } }: the string starts at byte 2.
        assertDecodingFails(Frame.self, "62 04 0a 02 c328", with: .invalidUTF8(field: 1, offset: 2))
    }

    func testErrorsReadForAPerson() {
        XCTAssertEqual(
            WireDecodingError.invalidWireType(7, field: 2, offset: 3).description,
            "invalid wire type 7 for field 2 at offset 3: protobuf defines 0 to 5")
        XCTAssertEqual(
            WireDecodingError.truncated(offset: 1, needed: 5, available: 2).description,
            "truncated message: 5 bytes needed at offset 1, only 2 left")
    }
}
