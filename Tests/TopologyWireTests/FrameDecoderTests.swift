import XCTest
@testable import TopologyWire

/// The frame decoder fed the three ways SwiftNIO's decoder verifier feeds a decoder: everything at
/// once, one byte at a time, and many frames in one buffer. The answer must not depend on how the
/// socket happened to split the stream.
final class FrameDecoderTests: XCTestCase {
    private let frames: [Frame] = [
        Frame(callId: 1, message: .registerServiceRequest(RegisterServiceRequest(
            serviceName: "checkout", serviceType: .server, language: .swift, metadata: ServiceMetadata(region: "eu")))),
        Frame(callId: 2, message: .heartbeatRequest(HeartbeatRequest(serviceId: "7f1c", sequence: 1))),
        Frame(callId: 0),  // empty body: a zero length prefix
        Frame(callId: 3, endOfStream: true, status: Status(code: .notFound, message: "unknown service"),
              message: .heartbeatResponse(HeartbeatResponse(sequence: 9))),
        Frame(callId: 4, message: .getTopologyResponse(GetTopologyResponse(snapshot: TopologySnapshot(
            nodes: (0..<300).map { ServiceNode(serviceId: "id-\($0)", serviceName: "svc-\($0)") })))),
    ]

    private var stream: [UInt8] {
        var bytes: [UInt8] = []
        for frame in frames { frame.encodeLengthPrefixed(appendingTo: &bytes) }
        return bytes
    }

    private func drain(_ decoder: inout FrameDecoder) throws -> [Frame] {
        var out: [Frame] = []
        while let frame = try decoder.next() { out.append(frame) }
        return out
    }

    func testLengthPrefixIsAVarintBeforeTheFrame() {
        var bytes: [UInt8] = []
        Frame(callId: 1, message: .unregisterServiceRequest(UnregisterServiceRequest(serviceId: "a")))
            .encodeLengthPrefixed(appendingTo: &bytes)
        // length 8 | call_id 1 | field 16 (2-byte tag 82 01), length 3 | service_id "a"
        XCTAssertEqual(hex(bytes), "08" + "0801" + "820103" + "0a0161")
    }

    func testAllAtOnce() throws {
        var decoder = FrameDecoder(maximumFrameSize: 1 << 20)
        decoder.append(stream)
        XCTAssertEqual(try drain(&decoder), frames)
        XCTAssertEqual(decoder.bufferedByteCount, 0)
        XCTAssertNoThrow(try decoder.finish())
    }

    func testOneByteAtATime() throws {
        var decoder = FrameDecoder(maximumFrameSize: 1 << 20)
        var out: [Frame] = []
        for byte in stream {
            decoder.append(CollectionOfOne(byte))
            out += try drain(&decoder)
        }
        XCTAssertEqual(out, frames)
        XCTAssertNoThrow(try decoder.finish())
    }

    func testRandomSplitsAgree() throws {
        var generator = SplitMix64(seed: 42)
        let bytes = stream
        for _ in 0..<50 {
            var decoder = FrameDecoder(maximumFrameSize: 1 << 20)
            var out: [Frame] = []
            var index = 0
            while index < bytes.count {
                let chunk = min(bytes.count - index, Int(generator.next() % 700) + 1)
                decoder.append(bytes[index..<index + chunk])
                index += chunk
                out += try drain(&decoder)
            }
            XCTAssertEqual(out, frames)
        }
    }

    func testManyFramesInOneBuffer() throws {
        var decoder = FrameDecoder(maximumFrameSize: 1 << 20)
        var bytes: [UInt8] = []
        for _ in 0..<100 { bytes += stream }
        decoder.append(bytes)
        let out = try drain(&decoder)
        XCTAssertEqual(out.count, 100 * frames.count)
        XCTAssertEqual(Array(out.suffix(frames.count)), frames)
    }

    func testIncompleteFrameWaitsAndFinishReportsIt() throws {
        var first: [UInt8] = []
        frames[0].encodeLengthPrefixed(appendingTo: &first)
        var decoder = FrameDecoder(maximumFrameSize: 1 << 20)
        decoder.append(first.dropLast())
        XCTAssertNil(try decoder.next())
        XCTAssertThrowsError(try decoder.finish()) { error in
            XCTAssertEqual(error as? FramingError, .truncatedFrame(bufferedBytes: first.count - 1))
        }
        decoder.append(first.suffix(1))
        XCTAssertEqual(try decoder.next(), frames[0])
        XCTAssertNoThrow(try decoder.finish())
    }

    func testFrameExactlyAtTheLimitIsAccepted() throws {
        let frame = Frame(callId: 1, message: .unregisterServiceRequest(UnregisterServiceRequest(serviceId: "abc")))
        var bytes: [UInt8] = []
        frame.encodeLengthPrefixed(appendingTo: &bytes)
        var decoder = FrameDecoder(maximumFrameSize: frame.serializedSize)
        decoder.append(bytes)
        XCTAssertEqual(try decoder.next(), frame)
    }
}

final class FramingErrorTests: XCTestCase {
    private func assertFails(_ hexInput: String, limit: Int = 1024, with expected: FramingError,
                             file: StaticString = #filePath, line: UInt = #line) {
        var decoder = FrameDecoder(maximumFrameSize: limit)
        decoder.append(bytes(hexInput))
        XCTAssertThrowsError(try decoder.next(), file: file, line: line) { error in
            XCTAssertEqual(error as? FramingError, expected, file: file, line: line)
        }
    }

    func testOversizedLengthIsRefusedBeforeTheBodyArrives() {
        // Announces 1025 bytes against a 1024-byte limit; none of the body has been sent.
        assertFails("81 08", with: .frameTooLarge(length: 1025, limit: 1024))
    }

    func testIncompletePrefixAlreadyOverTheLimitIsRefused() {
        // The first two bytes of a prefix can already exceed the limit, whatever follows.
        assertFails("ff ff", with: .frameTooLarge(length: 16383, limit: 1024))
    }

    func testLengthClaiming2To63BytesIsRefused() {
        assertFails("80 80 80 80 80 80 80 80 80 01", limit: 1 << 20, with: .malformedLengthPrefix)
    }

    func testPrefixLongerThanFiveBytes() {
        assertFails("80 80 80 80 80 00", limit: Int.max, with: .malformedLengthPrefix)
    }

    func testUndecodableBodyNamesTheWireError() {
        // Length 2, body: field 1 with wire type 7.
        assertFails("02 0f 00", with: .invalidFrame(.invalidWireType(7, field: 1, offset: 0)))
    }

    func testInvalidUTF8InsideAFrame() {
        // Frame { register_service_request (10) { service_name: ff } }
        assertFails("05 52 03 0a 01 ff", with: .invalidFrame(.invalidUTF8(field: 1, offset: 2)))
    }

    func testErrorsReadForAPerson() {
        XCTAssertEqual(FramingError.frameTooLarge(length: 2_000_000, limit: 1_048_576).description,
                       "frame of 2000000 bytes is over the limit of 1048576 bytes")
    }
}
