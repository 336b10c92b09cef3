import XCTest
@testable import TopologyHTTP2

/// The frame codec: exact wire images, every frame type decoded back to itself however the bytes
/// are split, and the frame-level rules of RFC 9113 §4 and §6 with their error codes.
final class HTTP2FrameTests: XCTestCase {
    /// One frame of every type, including padding, priority fields and an unknown type.
    private let everyType: [HTTP2Frame] = [
        HTTP2Frame(stream: 1, .data([1, 2, 3], endStream: false)),
        HTTP2Frame(stream: 1, .data([4], endStream: true, padding: 4)),
        HTTP2Frame(stream: 3, .headers(HTTP2HeadersPayload(fieldBlock: [0x82, 0x86], endStream: true, endHeaders: false,
                                                            priority: HTTP2Priority(exclusive: true, dependency: 1, weight: 15), padding: 3))),
        HTTP2Frame(stream: 3, .continuation(fieldBlock: [0x84], endHeaders: true)),
        HTTP2Frame(stream: 5, .priority(HTTP2Priority(exclusive: false, dependency: 3, weight: 255))),
        HTTP2Frame(stream: 5, .rstStream(errorCode: 0x8)),
        HTTP2Frame(stream: 0, .settings([HTTP2Setting(HTTP2Setting.maxFrameSize, 20_000), HTTP2Setting(0x99, 7)])),
        HTTP2Frame(stream: 0, .settingsAck),
        HTTP2Frame(stream: 1, .pushPromise(promisedStream: 2, fieldBlock: [0x88], endHeaders: true, padding: 2)),
        HTTP2Frame(stream: 0, .ping(opaqueData: 0x0102_0304_0506_0708, ack: true)),
        HTTP2Frame(stream: 0, .goAway(lastStream: 7, errorCode: 0xb, debugData: Array("calm".utf8))),
        HTTP2Frame(stream: 0, .windowUpdate(increment: 1)),
        HTTP2Frame(stream: 7, .windowUpdate(increment: 0x7fff_ffff)),
        HTTP2Frame(stream: 9, .unknown(type: 0xfa, flags: 0x3, payload: [9, 9])),
    ]

    func testHeaderLayoutIsLengthTypeFlagsStream() {
        XCTAssertEqual(hex(HTTP2Frame(stream: 0, .settings([HTTP2Setting(HTTP2Setting.maxConcurrentStreams, 100)])).encoded),
                       "000006" + "04" + "00" + "00000000" + "0003" + "00000064")
        XCTAssertEqual(hex(HTTP2Frame(stream: 0, .settingsAck).encoded), "000000" + "04" + "01" + "00000000")
        XCTAssertEqual(hex(HTTP2Frame(stream: 0, .ping(opaqueData: 0xdead_beef, ack: true)).encoded),
                       "000008" + "06" + "01" + "00000000" + "00000000deadbeef")
        XCTAssertEqual(hex(HTTP2Frame(stream: 3, .windowUpdate(increment: 65_535)).encoded), "000004" + "08" + "00" + "00000003" + "0000ffff")
        XCTAssertEqual(hex(HTTP2Frame(stream: 3, .data(Array("hi".utf8), endStream: true)).encoded), "000002" + "00" + "01" + "00000003" + "6869")
        XCTAssertEqual(hex(HTTP2Frame(stream: 3, .rstStream(errorCode: HTTP2ErrorCode.refusedStream.rawValue)).encoded),
                       "000004" + "03" + "00" + "00000003" + "00000007")
        XCTAssertEqual(hex(HTTP2Frame(stream: 0, .goAway(lastStream: 5, errorCode: 0, debugData: [])).encoded),
                       "000008" + "07" + "00" + "00000000" + "00000005" + "00000000")
        // HEADERS with END_STREAM|END_HEADERS, then a CONTINUATION.
        XCTAssertEqual(hex(HTTP2Frame(stream: 1, .headers(HTTP2HeadersPayload(fieldBlock: [0x88], endStream: true, endHeaders: true))).encoded),
                       "000001" + "01" + "05" + "00000001" + "88")
        XCTAssertEqual(hex(HTTP2Frame(stream: 1, .continuation(fieldBlock: [0xbe], endHeaders: false)).encoded), "000001" + "09" + "00" + "00000001" + "be")
    }

    func testPaddedDataIsPadLengthBytesThenZeros() throws {
        let frame = HTTP2Frame(stream: 1, .data([0xaa], endStream: false, padding: 3))
        XCTAssertEqual(hex(frame.encoded), "000004" + "00" + "08" + "00000001" + "02" + "aa" + "0000")
        XCTAssertEqual(try decodeAll(frame.encoded), [frame])
    }

    func testEveryTypeDecodesBackHoweverSplit() throws {
        let stream = everyType.flatMap(\.encoded)
        for chunks in chunkings(of: stream) {
            var decoder = HTTP2FrameDecoder(maxFrameSize: HTTP2Frame.defaultMaxFrameSize)
            var frames: [HTTP2Frame] = []
            for chunk in chunks {
                decoder.append(chunk)
                while let frame = try decoder.next() { frames.append(frame) }
            }
            XCTAssertEqual(frames, everyType)
            XCTAssertEqual(decoder.bufferedByteCount, 0)
        }
    }

    func testReservedBitsAreIgnored() throws {
        // Stream id 0x80000001 is stream 1; a WINDOW_UPDATE increment's top bit is reserved too.
        XCTAssertEqual(try decodeAll(bytes("000004 08 00 80000001 80000010")), [HTTP2Frame(stream: 1, .windowUpdate(increment: 16))])
    }

    func testUnknownTypeIsKeptOnlyToBeIgnored() throws {
        XCTAssertEqual(try decodeAll(bytes("000000 20 ff 00000000")), [HTTP2Frame(stream: 0, .unknown(type: 0x20, flags: 0xff, payload: []))])
    }

    func testOverTheAdvertisedMaxFrameSizeFailsOnTheHeaderAlone() {
        var decoder = HTTP2FrameDecoder(maxFrameSize: HTTP2Frame.defaultMaxFrameSize)
        decoder.append(bytes("004001 00 00 00000001")[...])  // 16,385 bytes announced, none sent
        XCTAssertThrowsError(try decoder.next()) { error in
            XCTAssertEqual(error as? HTTP2Violation, .connection(.frameSizeError,
                "a frame of type 0 has 16385 payload bytes, over the SETTINGS_MAX_FRAME_SIZE of 16384"))
        }
        var exact = HTTP2FrameDecoder(maxFrameSize: HTTP2Frame.defaultMaxFrameSize)
        exact.append((bytes("004000 00 00 00000001") + [UInt8](repeating: 7, count: 16_384))[...])
        XCTAssertEqual(try exact.next(), HTTP2Frame(stream: 1, .data([UInt8](repeating: 7, count: 16_384), endStream: false)))
    }

    func testFixedSizesAreFrameSizeErrors() {
        let cases: [(String, String)] = [
            ("000007 06 00 00000000 00000000000000", "a PING frame has 7 payload bytes, not 8"),
            ("000003 08 00 00000001 000001", "a WINDOW_UPDATE frame has 3 payload bytes, not 4"),
            ("000005 03 00 00000001 0000000800", "a RST_STREAM frame has 5 payload bytes, not 4"),
            ("000005 04 00 00000000 0001000010", "a SETTINGS frame has 5 payload bytes, not a multiple of 6"),
            ("000006 04 01 00000000 000100001000", "a SETTINGS frame with ACK must be empty"),
            ("000007 07 00 00000000 00000000000000", "a GOAWAY frame has 7 payload bytes, fewer than 8"),
            ("000000 00 08 00000001", "a DATA frame has 0 payload bytes, too few for its fixed fields"),
            ("000005 01 28 00000001 0000000001", "a HEADERS frame has 5 payload bytes, too few for its fixed fields"),
        ]
        assertConnectionErrors(cases, .frameSizeError)
    }

    func testPaddingLongerThanThePayloadIsAProtocolError() throws {
        // Pad Length 3 with 3 bytes after it is allowed (an empty body); 4 is not.
        XCTAssertEqual(try decodeAll(bytes("000004 00 08 00000001 03 000000")), [HTTP2Frame(stream: 1, .data([], endStream: false, padding: 4))])
        XCTAssertThrowsError(try decodeAll(bytes("000004 00 08 00000001 04 000000"))) { error in
            XCTAssertEqual(error as? HTTP2Violation, .connection(.protocolError, "a DATA frame's padding (4 bytes) is longer than the 3 bytes left for it"))
        }
        // HEADERS: padding may not eat into the priority fields.
        XCTAssertThrowsError(try decodeAll(bytes("000007 01 28 00000001 02 0000000310 00"))) { error in
            XCTAssertEqual(error as? HTTP2Violation, .connection(.protocolError, "a HEADERS frame's padding (2 bytes) is longer than the 1 bytes left for it"))
        }
    }

    func testStreamZeroRules() {
        let cases: [(String, String)] = [
            ("000000 00 01 00000000", "a DATA frame on stream 0: it must name a stream"),
            ("000001 01 04 00000000 88", "a HEADERS frame on stream 0: it must name a stream"),
            ("000005 02 00 00000000 0000000110", "a PRIORITY frame on stream 0: it must name a stream"),
            ("000004 03 00 00000000 00000008", "a RST_STREAM frame on stream 0: it must name a stream"),
            ("000000 09 04 00000000", "a CONTINUATION frame on stream 0: it must name a stream"),
            ("000000 04 00 00000001", "a SETTINGS frame on stream 1: it belongs to the connection, stream 0"),
            ("000008 06 00 00000003 0000000000000000", "a PING frame on stream 3: it belongs to the connection, stream 0"),
            ("000008 07 00 00000001 0000000000000000", "a GOAWAY frame on stream 1: it belongs to the connection, stream 0"),
        ]
        assertConnectionErrors(cases, .protocolError)
    }

    func testWrongSizePriorityIsAStreamErrorAndDecodingGoesOn() throws {
        var decoder = HTTP2FrameDecoder(maxFrameSize: HTTP2Frame.defaultMaxFrameSize)
        decoder.append(bytes("000004 02 00 00000003 00000001" + "000008 06 00 00000000 0000000000000001")[...])
        XCTAssertThrowsError(try decoder.next()) { error in
            XCTAssertEqual(error as? HTTP2Violation, .stream(3, .frameSizeError, "a PRIORITY frame has 4 payload bytes, not 5"))
        }
        XCTAssertEqual(try decoder.next(), HTTP2Frame(stream: 0, .ping(opaqueData: 1, ack: false)))
    }

    /// Each frame (hex) fails to decode with `code` and its message.
    private func assertConnectionErrors(_ cases: [(frame: String, message: String)], _ code: HTTP2ErrorCode,
                                        file: StaticString = #filePath, line: UInt = #line) {
        for (frame, message) in cases {
            XCTAssertThrowsError(try decodeAll(bytes(frame)), frame, file: file, line: line) { error in
                XCTAssertEqual(error as? HTTP2Violation, .connection(code, message), file: file, line: line)
            }
        }
    }

    private func decodeAll(_ stream: [UInt8]) throws -> [HTTP2Frame] {
        var decoder = HTTP2FrameDecoder(maxFrameSize: HTTP2Frame.defaultMaxFrameSize)
        decoder.append(stream[...])
        var frames: [HTTP2Frame] = []
        while let frame = try decoder.next() { frames.append(frame) }
        XCTAssertEqual(decoder.bufferedByteCount, 0, "bytes left over")
        return frames
    }
}
