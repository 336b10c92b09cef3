import XCTest
@testable import TopologyHTTP2

/// Field blocks, request checks, and the stream state machine (RFC 9113 §5.1, §6.2, §6.10, §8).
final class HTTP2StreamTests: XCTestCase {
    /// §5.1's transitions, as the enum has them.
    func testStateTransitions() {
        let states: [HTTP2StreamState] = [.idle, .open, .halfClosedLocal, .halfClosedRemote, .closed(.finished)]
        XCTAssertEqual(states.map(\.afterReceivingEndStream), [.idle, .halfClosedRemote, .closed(.finished), .halfClosedRemote, .closed(.finished)])
        XCTAssertEqual(states.map(\.afterSendingEndStream), [.idle, .halfClosedLocal, .halfClosedLocal, .closed(.finished), .closed(.finished)])
        XCTAssertEqual(states.map(\.peerMaySend), [false, true, true, false, false])
        XCTAssertEqual(states.map(\.mayBeSentOn), [false, true, false, true, false])
    }

    func testContinuationFramesAreReassembled() {
        var client = TestClient()
        let whole = block(grpcRequest())
        let events = client.send(
            HTTP2Frame(stream: 1, .headers(HTTP2HeadersPayload(fieldBlock: Array(whole[0..<5]), endStream: true, endHeaders: false,
                                                               priority: HTTP2Priority(exclusive: false, dependency: 0, weight: 200)))),
            HTTP2Frame(stream: 1, .continuation(fieldBlock: [], endHeaders: false)),
            HTTP2Frame(stream: 1, .continuation(fieldBlock: Array(whole[5...]), endHeaders: true)))
        XCTAssertEqual(events, [.request(stream: 1, headers: grpcRequest(), endStream: true)])
        XCTAssertEqual(client.connection.openStreamCount, 1)
    }

    func testAnyOtherFrameInsideAFieldBlockIsAProtocolError() {
        for intruder in [HTTP2Frame(stream: 0, .ping(opaqueData: 1, ack: false)), HTTP2Frame(stream: 3, .continuation(fieldBlock: [], endHeaders: true)),
                         headersFrame(3, grpcRequest())] {
            var client = TestClient()
            let events = client.send(HTTP2Frame(stream: 1, .headers(HTTP2HeadersPayload(fieldBlock: [0x83], endStream: false, endHeaders: false))), intruder)
            XCTAssertEqual(events, [.connectionError(code: .protocolError,
                                                     message: "\(intruder.summary) came while the field block of stream 1 awaited CONTINUATION (§6.10)")])
        }
    }

    func testMisSizedPriorityInsideAFieldBlockEndsTheConnection() {
        var client = TestClient()
        let events = client.receive(HTTP2Frame(stream: 1, .headers(HTTP2HeadersPayload(fieldBlock: [0x83], endStream: false, endHeaders: false))).encoded
                                    + bytes("000004 02 00 00000003 00000001"))
        XCTAssertEqual(events, [.connectionError(code: .protocolError,
            message: "a PRIORITY frame has 4 payload bytes, not 5, while the field block of stream 1 awaited CONTINUATION (§6.10)")])
        // Outside a field block it is a stream error: RST_STREAM FRAME_SIZE_ERROR, and on it goes.
        client = TestClient()
        XCTAssertEqual(client.receive(bytes("000004 02 00 00000003 00000001")), [])
        XCTAssertEqual(client.written(), [reset(3, .frameSizeError)])
    }

    func testContinuationWithoutHeadersIsAProtocolError() {
        var client = TestClient()
        XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .continuation(fieldBlock: [0x82], endHeaders: true))),
                       [.connectionError(code: .protocolError, message: "a CONTINUATION frame on stream 1 follows no HEADERS (§6.10)")])
    }

    /// One decoder for the connection: an entry the first block adds is what the second refers to.
    func testOneHPACKDecoderIsFedInFrameOrder() {
        var client = TestClient()
        let indexed = [0x40, 6] + Array("x-user".utf8) + [3] + Array("ann".utf8)  // literal with incremental indexing: index 62
        let first = client.send(HTTP2Frame(stream: 1, .headers(HTTP2HeadersPayload(fieldBlock: block(grpcRequest()) + indexed, endStream: true, endHeaders: true))))
        let second = client.send(HTTP2Frame(stream: 3, .headers(HTTP2HeadersPayload(fieldBlock: block(grpcRequest()) + [0xbe], endStream: true, endHeaders: true))))
        XCTAssertEqual(first, [.request(stream: 1, headers: grpcRequest() + [HeaderField("x-user", "ann")], endStream: true)])
        XCTAssertEqual(second, [.request(stream: 3, headers: grpcRequest() + [HeaderField("x-user", "ann")], endStream: true)])
    }

    func testUndecodableBlockIsACompressionError() {
        var client = TestClient()
        let events = client.send(HTTP2Frame(stream: 1, .headers(HTTP2HeadersPayload(fieldBlock: [0x80], endStream: true, endHeaders: true))))
        XCTAssertEqual(events.count, 1)
        guard case let .connectionError(code, message) = events.first else { return XCTFail("\(events)") }
        XCTAssertEqual(code, .compressionError)
        XCTAssertTrue(message.hasPrefix("the field block of stream 1 does not decode: "), message)
        XCTAssertEqual(client.written().map(\.typeCode), [HTTP2FrameType.goAway.rawValue])
    }

    func testMalformedRequestsAreResetAndTheConnectionGoesOn() {
        let base = grpcRequest()
        let cases: [([HeaderField], String)] = [
            (base.filter { $0.name != ":method" }, "the request has no :method (§8.3.1)"),
            (base.filter { $0.name != ":scheme" }, "the request has no :scheme (§8.3.1)"),
            (base.filter { $0.name != ":path" }, "the request has no :path (§8.3.1)"),
            (base + [HeaderField(":path", "/x")], "pseudo-header :path comes after a regular field; they must come first (§8.3)"),
            ([HeaderField(":path", "/x")] + base, "pseudo-header :path appears twice (§8.3)"),
            ([HeaderField(":status", "200")] + base, ":status is not a request pseudo-header (§8.3.1)"),
            (base + [HeaderField("Content-Type", "x")], "field name \"Content-Type\" has an octet not allowed in HTTP/2 names (0x43): lowercase tokens only (§8.2.1)"),
            (base + [HeaderField("connection", "keep-alive")], "connection-specific field connection is not allowed in HTTP/2 (§8.2.2)"),
            (base + [HeaderField("transfer-encoding", "chunked")], "connection-specific field transfer-encoding is not allowed in HTTP/2 (§8.2.2)"),
            (base.filter { $0.name != "te" } + [HeaderField("te", "gzip")], "te is \"gzip\"; only \"trailers\" is allowed (§8.2.2)"),
            (base + [HeaderField("x-a", "b\r\nc")], "the value of x-a contains NUL, CR or LF (§8.2.1)"),
            (base + [HeaderField("x-a", " b")], "the value of x-a starts or ends with whitespace (§8.2.1)"),
            (base.map { $0.name == ":path" ? HeaderField(":path", "") : $0 }, "the request's :path is empty (§8.3.1)"),
            ([HeaderField(":method", "CONNECT"), HeaderField(":path", "/")], "a CONNECT request has :authority and neither :scheme nor :path (§8.5)"),
        ]
        for (fields, problem) in cases {
            var client = TestClient()
            XCTAssertEqual(client.send(headersFrame(1, fields, endStream: true)), [], problem)
            XCTAssertEqual(client.written(), [reset(1, .protocolError)], problem)
            XCTAssertEqual(HTTP2FieldRules.requestProblem(fields), problem)
            XCTAssertEqual(client.send(headersFrame(3, base, endStream: true)), [.request(stream: 3, headers: base, endStream: true)], problem)
        }
        XCTAssertNil(HTTP2FieldRules.requestProblem([HeaderField(":method", "CONNECT"), HeaderField(":authority", "a:1")]))
    }

    func testTrailersEndTheStream() {
        var client = TestClient()
        client.send(headersFrame(1, grpcRequest()))
        XCTAssertEqual(client.send(headersFrame(1, [HeaderField("x-checksum", "1")], endStream: true)), [.endStream(stream: 1)])
        XCTAssertEqual(client.connection.state(of: 1), .halfClosedRemote)
        // Malformed trailers: the stream is reset, and the application told.
        client.send(headersFrame(3, grpcRequest()))
        XCTAssertEqual(client.send(headersFrame(3, [HeaderField(":path", "/")], endStream: true)), [.streamReset(stream: 3, code: .protocolError)])
        client.send(headersFrame(5, grpcRequest()))
        XCTAssertEqual(client.send(headersFrame(5, [HeaderField("x-a", "1")])), [.streamReset(stream: 5, code: .protocolError)])
        XCTAssertEqual(client.written(), [reset(3, .protocolError), reset(5, .protocolError)])
    }

    func testStreamIdsMustBeOddAndIncreasing() {
        var client = TestClient()
        XCTAssertEqual(client.send(headersFrame(2, grpcRequest())),
                       [.connectionError(code: .protocolError, message: "HEADERS on stream 2: streams a client opens have odd ids (§5.1.1)")])
        client = TestClient()
        client.send(headersFrame(5, grpcRequest(), endStream: true))
        XCTAssertEqual(client.send(headersFrame(3, grpcRequest())), [.connectionError(code: .protocolError,
            message: "HEADERS on stream 3, not above the last stream the client opened (5): stream ids must increase (§5.1.1)")])
        XCTAssertEqual(client.written(), [goAway(5, .protocolError, "HEADERS on stream 3, not above the last stream the client opened (5): stream ids must increase (§5.1.1)")])
    }

    func testFramesOnIdleStreamsAreProtocolErrors() {
        for (frame, message) in [(HTTP2Frame(stream: 1, .data([1], endStream: false)), "DATA on stream 1, which the client never opened (§5.1)"),
                                 (reset(1, .cancel), "RST_STREAM on stream 1, which the client never opened (§6.4)"),
                                 (HTTP2Frame(stream: 1, .windowUpdate(increment: 1)), "WINDOW_UPDATE on stream 1, which the client never opened (§5.1)")] {
            var client = TestClient()
            XCTAssertEqual(client.send(frame), [.connectionError(code: .protocolError, message: message)])
        }
    }

    func testFramesOnClosedStreams() {
        var client = TestClient()
        // Stream 1 ended both ways.
        client.send(headersFrame(1, grpcRequest(), endStream: true))
        client.connection.sendHeaders([HeaderField(":status", "200")], stream: 1, endStream: true)
        XCTAssertEqual(client.connection.state(of: 1), .closed(.finished))
        // WINDOW_UPDATE, RST_STREAM and PRIORITY may cross the END_STREAM: ignored.
        XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .windowUpdate(increment: 5)), reset(1, .cancel),
                                   HTTP2Frame(stream: 1, .priority(HTTP2Priority(exclusive: false, dependency: 0, weight: 1)))), [])
        _ = client.written()
        // DATA after the client's END_STREAM: stream error STREAM_CLOSED.
        XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .data([1], endStream: false))), [])
        XCTAssertEqual(client.written(), [reset(1, .streamClosed)])
        // HEADERS on a stream that ended both ways: connection error STREAM_CLOSED.
        client.send(headersFrame(3, grpcRequest(), endStream: true))
        client.connection.sendHeaders([HeaderField(":status", "200")], stream: 3, endStream: true)
        XCTAssertEqual(client.send(headersFrame(3, [HeaderField("x", "y")], endStream: true)),
                       [.connectionError(code: .streamClosed, message: "HEADERS on stream 3, which is closed (§5.1)")])
    }

    func testFramesInFlightAfterThisSideResetAreIgnored() {
        var client = TestClient()
        client.send(headersFrame(1, grpcRequest()))
        client.connection.resetStream(1, code: .cancel)
        XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .data([1, 2], endStream: false)), headersFrame(1, [HeaderField("x", "y")], endStream: true)), [])
        XCTAssertEqual(client.written(), [reset(1, .cancel)])
        XCTAssertFalse(client.connection.isClosed)
    }

    func testPeerResetTellsTheApplicationAndLaterDataIsStreamClosed() {
        var client = TestClient()
        client.send(headersFrame(1, grpcRequest()))
        client.connection.sendHeaders([HeaderField(":status", "200")], stream: 1, endStream: false)
        client.connection.sendData([1, 2, 3], stream: 1, endStream: false)
        XCTAssertEqual(client.send(reset(1, .cancel)), [.streamReset(stream: 1, code: .cancel)])
        XCTAssertEqual(client.connection.queuedBytes(stream: 1), 0, "queued data is dropped with the stream")
        XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .data([1], endStream: false))), [])
        XCTAssertEqual(client.written(), [headersFrame(1, [HeaderField(":status", "200")]), reset(1, .streamClosed)])
        // An unknown error code is taken as INTERNAL_ERROR (§7).
        client.send(headersFrame(3, grpcRequest()))
        XCTAssertEqual(client.send(HTTP2Frame(stream: 3, .rstStream(errorCode: 0xffff))), [.streamReset(stream: 3, code: .internalError)])
    }

    func testPriorityOnItselfIsAStreamError() {
        var client = TestClient()
        client.send(headersFrame(1, grpcRequest()))
        XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .priority(HTTP2Priority(exclusive: false, dependency: 1, weight: 1)))),
                       [.streamReset(stream: 1, code: .protocolError)])
        let selfDependent = HTTP2Frame(stream: 3, .headers(HTTP2HeadersPayload(fieldBlock: block(grpcRequest()), endStream: true, endHeaders: true,
                                                                                priority: HTTP2Priority(exclusive: true, dependency: 3, weight: 1))))
        XCTAssertEqual(client.send(selfDependent), [])
        XCTAssertEqual(client.written(), [reset(1, .protocolError), reset(3, .protocolError)])
    }

    func testStreamsOverTheConcurrencyLimitAreRefused() {
        var limits = HTTP2Limits()
        limits.maxConcurrentStreams = 2
        var client = TestClient(limits: limits)
        client.send(headersFrame(1, grpcRequest()), headersFrame(3, grpcRequest()))
        XCTAssertEqual(client.send(headersFrame(5, grpcRequest())), [])
        XCTAssertEqual(client.written(), [reset(5, .refusedStream)])
        XCTAssertEqual(client.connection.openStreamCount, 2)
        client.connection.resetStream(1, code: .cancel)
        XCTAssertEqual(client.send(headersFrame(7, grpcRequest())), [.request(stream: 7, headers: grpcRequest(), endStream: false)])
    }

    /// Over SETTINGS_MAX_HEADER_LIST_SIZE: `:status 431`, and the decoder stays in step, so the
    /// next request can use the entry the oversized block added.
    func testOversizedHeaderListIsAnswered431AndTheTableStaysInStep() {
        var limits = HTTP2Limits()
        limits.maxHeaderListSize = 1_000
        var client = TestClient(limits: limits)
        // grpcRequest() is 429 bytes by the §6.5.2 count; x-big, indexed, adds 5 + 600 + 32.
        let bigValue = String(repeating: "a", count: 600)
        let big = [0x40] + literal(Array("x-big".utf8)) + literal(Array(bigValue.utf8))
        XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .headers(HTTP2HeadersPayload(fieldBlock: block(grpcRequest()) + big, endStream: false, endHeaders: true)))), [])
        XCTAssertEqual(client.written(), [headersFrame(1, [HeaderField(":status", "431")], endStream: true), reset(1, .noError)])
        // The entry went into the table all the same: index 62 is x-big in a small request.
        let small: [UInt8] = [0x83, 0x86, 0x84, 0xbe]  // :method POST, :scheme http, :path /, entry 62
        let expected = [HeaderField(":method", "POST"), HeaderField(":scheme", "http"), HeaderField(":path", "/"), HeaderField("x-big", bigValue)]
        XCTAssertEqual(client.send(HTTP2Frame(stream: 3, .headers(HTTP2HeadersPayload(fieldBlock: small, endStream: true, endHeaders: true)))),
                       [.request(stream: 3, headers: expected, endStream: true)])
        // DATA the client had in flight on the refused stream is dropped.
        XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .data([1], endStream: true))), [])
        XCTAssertFalse(client.connection.isClosed)
    }

    /// §8.1: a response complete before its request is followed by RST_STREAM NO_ERROR; what the
    /// client still sends on the stream is ignored, and the application hears no more of it.
    func testResponseBeforeTheRequestEndsResetsWithNoError() {
        var client = TestClient()
        client.send(headersFrame(1, grpcRequest()))
        client.connection.sendHeaders([HeaderField(":status", "200"), HeaderField("grpc-status", "12")], stream: 1, endStream: true)
        XCTAssertEqual(client.written(), [headersFrame(1, [HeaderField(":status", "200"), HeaderField("grpc-status", "12")], endStream: true), reset(1, .noError)])
        XCTAssertEqual(client.connection.openStreamCount, 0)
        XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .data([1], endStream: true))), [])
        XCTAssertEqual(client.written(), [])
        // The same after queued data and trailers.
        client.send(headersFrame(3, grpcRequest()))
        client.connection.sendHeaders([HeaderField(":status", "200")], stream: 3, endStream: false)
        client.connection.sendData([7], stream: 3, endStream: false)
        client.connection.sendTrailers([HeaderField("grpc-status", "0")], stream: 3)
        XCTAssertEqual(client.written(), [headersFrame(3, [HeaderField(":status", "200")]), HTTP2Frame(stream: 3, .data([7], endStream: false)),
                                          headersFrame(3, [HeaderField("grpc-status", "0")], endStream: true), reset(3, .noError)])
    }

    /// §8.1.1: DATA must add up to the content-length, if the request has one.
    func testContentLengthMustMatchTheData() {
        var client = TestClient()
        let declaring = { (length: String) in grpcRequest() + [HeaderField("content-length", length)] }
        client.send(headersFrame(1, declaring("3")))
        XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .data([1, 2, 3], endStream: true))), [.data(stream: 1, bytes: [1, 2, 3], endStream: true)])
        client.send(headersFrame(3, declaring("3")))
        XCTAssertEqual(client.send(HTTP2Frame(stream: 3, .data([1, 2], endStream: false)), HTTP2Frame(stream: 3, .data([3, 4], endStream: false))),
                       [.data(stream: 3, bytes: [1, 2], endStream: false), .streamReset(stream: 3, code: .protocolError)])
        client.send(headersFrame(5, declaring("3")))
        XCTAssertEqual(client.send(HTTP2Frame(stream: 5, .data([1], endStream: false)), headersFrame(5, [HeaderField("x", "y")], endStream: true)),
                       [.data(stream: 5, bytes: [1], endStream: false), .streamReset(stream: 5, code: .protocolError)])
        XCTAssertEqual(client.send(headersFrame(7, declaring("3"), endStream: true)), [])
        XCTAssertEqual(client.send(headersFrame(9, declaring("0"), endStream: true)), [.request(stream: 9, headers: declaring("0"), endStream: true)])
        XCTAssertEqual(client.written(), [reset(3, .protocolError), reset(5, .protocolError), reset(7, .protocolError)])
        XCTAssertEqual(HTTP2Stream(state: .open, sendWindow: 1, receiveWindow: 1, contentLength: 3).contentLengthProblem(7, ended: true),
                       "stream 7 carries 0 bytes of DATA, not its content-length of 3 (§8.1.1)")
        for bad in ["-1", "1x", "", "1234567890123456789"] {
            XCTAssertEqual(HTTP2FieldRules.requestProblem(declaring(bad)), "content-length is \"\(bad)\", not one decimal number (§8.1.1)")
        }
        XCTAssertEqual(HTTP2FieldRules.requestProblem(declaring("1") + [HeaderField("content-length", "2")]),
                       "content-length is \"1\", \"2\", not one decimal number (§8.1.1)")
        XCTAssertNil(HTTP2FieldRules.requestProblem(declaring("1") + [HeaderField("content-length", "1")]))
    }

    /// DATA queued on a stream with nothing waiting is kept as it is (not copied); what follows it
    /// is queued behind it, and the bytes come out in order.
    func testDataQueuedOnAnIdleStreamIsNotCopied() {
        var stream = HTTP2Stream(state: .open, sendWindow: 65_535, receiveWindow: 65_535, contentLength: nil)
        let large = [UInt8](repeating: 7, count: 100_000)
        stream.enqueue(large)
        XCTAssertEqual(stream.dequeue(0).count, 0)
        var taken: [UInt8] = []
        taken += stream.dequeue(60_000)
        stream.enqueue([1, 2, 3])
        taken += stream.dequeue(stream.queuedBytes)
        XCTAssertEqual(taken, large + [1, 2, 3])
        XCTAssertEqual(stream.queuedBytes, 0)
        stream.enqueue(large)
        XCTAssertEqual(stream.queue.withUnsafeBytes { $0.baseAddress }, large.withUnsafeBytes { $0.baseAddress }, "the same storage")
    }
}
