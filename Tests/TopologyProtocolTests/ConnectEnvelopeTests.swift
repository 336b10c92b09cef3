@testable import TopologyProtocol
import XCTest

/// Connect envelopes: the exact bytes, and the decoder fed all at once, byte by byte, and many
/// envelopes in one buffer; its limit and its errors.
final class ConnectEnvelopeTests: XCTestCase {
    private let first = ConnectEnvelope(flags: 0, payload: Array(#"{"query":{}}"#.utf8))
    private let empty = ConnectEnvelope(flags: 0, payload: [])
    private let last = ConnectEnvelope(flags: ConnectEnvelope.endOfStream, payload: Array("{}".utf8))

    private func bytes(_ envelopes: [ConnectEnvelope]) -> [UInt8] {
        envelopes.flatMap { ConnectEnvelope.encode(flags: $0.flags, payload: $0.payload) }
    }

    private func drain(_ decoder: inout ConnectEnvelopeDecoder) throws -> [ConnectEnvelope] {
        var out: [ConnectEnvelope] = []
        while let envelope = try decoder.next() { out.append(envelope) }
        return out
    }

    func testEncodingIsFlagsThenBigEndianLengthThenPayload() {
        XCTAssertEqual(ConnectEnvelope.encode(flags: 0, payload: [0xAB]), [0x00, 0x00, 0x00, 0x00, 0x01, 0xAB])
        let payload = [UInt8](repeating: 7, count: 0x01_02_03)
        XCTAssertEqual(Array(ConnectEnvelope.encode(flags: 0x02, payload: payload).prefix(5)), [0x02, 0x00, 0x01, 0x02, 0x03])
        XCTAssertEqual(ConnectEnvelope.encode(flags: 0x01, payload: []), [0x01, 0, 0, 0, 0])
        XCTAssertTrue(last.isEndOfStream)
        XCTAssertFalse(last.isCompressed)
        XCTAssertTrue(ConnectEnvelope(flags: 0x03, payload: []).isCompressed)
    }

    func testAllAtOnceByteByByteAndManyInOneBuffer() throws {
        let envelopes = [first, empty, first, last]
        let stream = bytes(envelopes)

        var whole = ConnectEnvelopeDecoder(maximumMessageSize: 64)
        whole.append(stream)
        XCTAssertEqual(try drain(&whole), envelopes)
        XCTAssertEqual(whole.bufferedCount, 0)

        var byByte = ConnectEnvelopeDecoder(maximumMessageSize: 64)
        var out: [ConnectEnvelope] = []
        for byte in stream {
            byByte.append([byte])
            out += try drain(&byByte)
        }
        XCTAssertEqual(out, envelopes)
        XCTAssertEqual(byByte.bufferedCount, 0)

        // Split at every point: the same envelopes.
        for split in 0...stream.count {
            var decoder = ConnectEnvelopeDecoder(maximumMessageSize: 64)
            decoder.append(stream[..<split])
            var got = try drain(&decoder)
            decoder.append(stream[split...])
            got += try drain(&decoder)
            XCTAssertEqual(got, envelopes, "split at \(split)")
        }
    }

    func testIncompleteEnvelopesWaitAndStayBuffered() throws {
        var decoder = ConnectEnvelopeDecoder(maximumMessageSize: 64)
        let stream = bytes([first])
        decoder.append(stream.dropLast())
        XCTAssertNil(try decoder.next())
        XCTAssertEqual(decoder.bufferedCount, stream.count - 1)
        decoder.append(stream.suffix(1))
        XCTAssertEqual(try decoder.next(), first)
        XCTAssertNil(try decoder.next())
    }

    func testThePayloadLimitIsCheckedFromThePrefix() throws {
        var decoder = ConnectEnvelopeDecoder(maximumMessageSize: 12)
        decoder.append(bytes([first]))  // exactly 12 bytes of payload
        XCTAssertEqual(try decoder.next(), first)
        // A 4 GiB announcement is refused from its five bytes, with nothing of it buffered.
        decoder.append([0x00, 0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertThrowsError(try decoder.next()) { error in
            XCTAssertEqual(error as? ConnectEnvelopeError, .tooLarge(length: UInt32.max, limit: 12))
        }
        XCTAssertEqual(decoder.bufferedCount, 0)
        // And the decoder stays failed.
        decoder.append(bytes([empty]))
        XCTAssertThrowsError(try decoder.next()) { error in
            XCTAssertEqual(error as? ConnectEnvelopeError, .tooLarge(length: UInt32.max, limit: 12))
        }
        var justOver = ConnectEnvelopeDecoder(maximumMessageSize: 11)
        justOver.append(bytes([first]).prefix(5))
        XCTAssertThrowsError(try justOver.next()) { error in
            XCTAssertEqual(error as? ConnectEnvelopeError, .tooLarge(length: 12, limit: 11))
        }
    }

    func testUnknownFlagsAreRefused() {
        for flags: UInt8 in [0x04, 0x80, 0xFF, 0x06] {
            var decoder = ConnectEnvelopeDecoder(maximumMessageSize: 64)
            decoder.append([flags, 0, 0, 0, 0])
            XCTAssertThrowsError(try decoder.next(), "\(flags)") { error in
                XCTAssertEqual(error as? ConnectEnvelopeError, .unknownFlags(flags, allowed: 3))
            }
        }
    }

    func testErrorDescriptions() {
        XCTAssertEqual(ConnectEnvelopeError.tooLarge(length: 100, limit: 12).description,
                       "message of 100 bytes is over the limit of 12 bytes")
        XCTAssertEqual(ConnectEnvelopeError.unknownFlags(4, allowed: 3).description,
                       "message flags 0x4 set bits other than the defined 0x3")
    }

    func testBufferIsCompactedAsEnvelopesAreTaken() throws {
        var decoder = ConnectEnvelopeDecoder(maximumMessageSize: 64)
        // Many envelopes over time, each taken as it completes: what stays buffered is bounded.
        for _ in 0..<1_000 {
            decoder.append(bytes([first]))
            XCTAssertEqual(try decoder.next(), first)
        }
        XCTAssertEqual(decoder.bufferedCount, 0)
    }
}
