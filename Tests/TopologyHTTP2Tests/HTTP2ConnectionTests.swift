import XCTest
@testable import TopologyHTTP2

/// The connection's start, SETTINGS, PING, GOAWAY both ways, and input split any way.
final class HTTP2ConnectionTests: XCTestCase {
    func testServerPrefaceIsSettingsThenTheConnectionWindowRaised() {
        let client = TestClient(handshake: false)
        XCTAssertEqual(client.serverPreface, [
            HTTP2Frame(stream: 0, .settings([HTTP2Setting(HTTP2Setting.maxConcurrentStreams, 100), HTTP2Setting(HTTP2Setting.initialWindowSize, 1 << 20),
                                             HTTP2Setting(HTTP2Setting.maxFrameSize, 16_384), HTTP2Setting(HTTP2Setting.maxHeaderListSize, 16_384)])),
            HTTP2Frame(stream: 0, .windowUpdate(increment: (1 << 20) - 65_535)),
        ])
    }

    func testWrongPrefaceIsAProtocolErrorAtTheFirstWrongByte() {
        var client = TestClient(handshake: false)
        XCTAssertEqual(client.receive(Array("PRI * HTTP/2".utf8)), [])
        XCTAssertEqual(client.receive(Array(".1".utf8)), [.connectionError(code: .protocolError,
            message: "the connection does not start with the HTTP/2 client preface (RFC 9113 §3.4)")])
        XCTAssertEqual(client.written(), [goAway(0, .protocolError, "the connection does not start with the HTTP/2 client preface (RFC 9113 §3.4)")])
        XCTAssertTrue(client.connection.isClosed)
        XCTAssertEqual(client.send(HTTP2Frame(stream: 0, .settings([]))), [], "nothing is read after a connection error")
        XCTAssertEqual(client.written(), [])
    }

    func testFirstFrameMustBeSettings() {
        var client = TestClient(handshake: false)
        let events = client.receive(HTTP2Connection.clientPreface + HTTP2Frame(stream: 0, .ping(opaqueData: 1, ack: false)).encoded)
        XCTAssertEqual(events, [.connectionError(code: .protocolError, message: "the client's first frame is a PING frame on stream 0, not SETTINGS (§3.4)")])
    }

    func testSettingsAppliedAndAcknowledgedUnknownIdsIgnored() {
        var client = TestClient()
        XCTAssertEqual(client.send(HTTP2Frame(stream: 0, .settings([HTTP2Setting(HTTP2Setting.maxFrameSize, 32_768), HTTP2Setting(0xf0f0, 1),
                                                                    HTTP2Setting(HTTP2Setting.enablePush, 0), HTTP2Setting(HTTP2Setting.headerTableSize, 0)]))), [])
        XCTAssertEqual(client.written(), [HTTP2Frame(stream: 0, .settingsAck)])
        XCTAssertEqual(client.connection.peerSettings.maxFrameSize, 32_768)
        // Their ACK of our SETTINGS is taken without a reply.
        XCTAssertEqual(client.send(HTTP2Frame(stream: 0, .settingsAck)), [])
        XCTAssertEqual(client.written(), [])
    }

    /// RFC 7541 §4.2: after the peer lowers SETTINGS_HEADER_TABLE_SIZE, the next field block starts
    /// with a size update (to 0: the encoder uses no dynamic table); the blocks after it do not.
    func testHeaderTableSizeSettingIsAnsweredWithASizeUpdate() {
        var client = TestClient()
        // The default size, or more, changes nothing.
        client.send(HTTP2Frame(stream: 0, .settings([HTTP2Setting(HTTP2Setting.headerTableSize, 4_096), HTTP2Setting(HTTP2Setting.headerTableSize, 65_536)])))
        XCTAssertFalse(client.connection.peerSettings.owesTableSizeUpdate)
        client.send(HTTP2Frame(stream: 0, .settings([HTTP2Setting(HTTP2Setting.headerTableSize, 100)])),
                    HTTP2Frame(stream: 0, .settings([HTTP2Setting(HTTP2Setting.headerTableSize, 0)])),
                    headersFrame(1, grpcRequest(), endStream: true), headersFrame(3, grpcRequest(), endStream: true))
        client.connection.sendHeaders([HeaderField(":status", "200")], stream: 1, endStream: true)
        client.connection.sendHeaders([HeaderField(":status", "200")], stream: 3, endStream: true)
        XCTAssertEqual(client.written(), [
            HTTP2Frame(stream: 0, .settingsAck), HTTP2Frame(stream: 0, .settingsAck), HTTP2Frame(stream: 0, .settingsAck),
            HTTP2Frame(stream: 1, .headers(HTTP2HeadersPayload(fieldBlock: [0x20, 0x88], endStream: true, endHeaders: true))),
            HTTP2Frame(stream: 3, .headers(HTTP2HeadersPayload(fieldBlock: [0x88], endStream: true, endHeaders: true))),
        ])
        // The update is a valid start of a block for a decoder whose table limit is 0.
        var decoder = HPACKDecoder(maxDynamicTableSize: 0)
        XCTAssertEqual(try decoder.decode([0x20, 0x88][...], maxHeaderListSize: 100).fields, [HeaderField(":status", "200")])
    }

    func testInvalidSettingsAreConnectionErrors() {
        let cases: [(HTTP2Setting, HTTP2ErrorCode, String)] = [
            (HTTP2Setting(HTTP2Setting.enablePush, 2), .protocolError, "SETTINGS_ENABLE_PUSH is 2; only 0 and 1 are allowed"),
            (HTTP2Setting(HTTP2Setting.initialWindowSize, 1 << 31), .flowControlError, "SETTINGS_INITIAL_WINDOW_SIZE is 2147483648, over the largest window, 2^31-1"),
            (HTTP2Setting(HTTP2Setting.maxFrameSize, 16_383), .protocolError, "SETTINGS_MAX_FRAME_SIZE is 16383; it must be between 16384 and 16777215"),
            (HTTP2Setting(HTTP2Setting.maxFrameSize, 1 << 24), .protocolError, "SETTINGS_MAX_FRAME_SIZE is 16777216; it must be between 16384 and 16777215"),
        ]
        for (setting, code, message) in cases {
            var client = TestClient()
            XCTAssertEqual(client.send(HTTP2Frame(stream: 0, .settings([setting]))), [.connectionError(code: code, message: message)])
            XCTAssertEqual(client.written(), [goAway(0, code, message)])
        }
    }

    func testPingIsAnsweredWithTheSamePayload() {
        var client = TestClient()
        XCTAssertEqual(client.send(HTTP2Frame(stream: 0, .ping(opaqueData: 0x0102_0304_0506_0708, ack: false))), [])
        XCTAssertEqual(client.written(), [HTTP2Frame(stream: 0, .ping(opaqueData: 0x0102_0304_0506_0708, ack: true))])
        // An ACK (of a ping this side never sent) gets no answer.
        client.send(HTTP2Frame(stream: 0, .ping(opaqueData: 5, ack: true)))
        XCTAssertEqual(client.written(), [])
    }

    func testUnknownFrameTypesAreIgnored() {
        var client = TestClient()
        XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .unknown(type: 0xbb, flags: 0xff, payload: [1, 2, 3]))), [])
        XCTAssertEqual(client.written(), [])
        XCTAssertFalse(client.connection.isClosed)
    }

    func testPushPromiseFromAClientIsAProtocolError() {
        var client = TestClient()
        XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .pushPromise(promisedStream: 2, fieldBlock: [0x82], endHeaders: true))),
                       [.connectionError(code: .protocolError, message: "the client sent PUSH_PROMISE; only servers push (§8.4)")])
    }

    func testGracefulGoAwayServesOpenStreamsAndIgnoresNewer() {
        var client = TestClient()
        client.send(headersFrame(1, grpcRequest()), headersFrame(3, grpcRequest()))
        _ = client.written()
        client.connection.goAway(code: .noError, message: "shutting down")
        XCTAssertEqual(client.written(), [goAway(3, .noError, "shutting down")])
        // Stream 5 is not served, nor its DATA; 3 still is.
        XCTAssertEqual(client.send(headersFrame(5, grpcRequest()), HTTP2Frame(stream: 5, .data([1], endStream: true))), [])
        XCTAssertEqual(client.written(), [], "ignored, not reset")
        XCTAssertEqual(client.send(HTTP2Frame(stream: 3, .data([1], endStream: true))), [.data(stream: 3, bytes: [1], endStream: true)])
        client.connection.resetStream(1, code: .cancel)
        XCTAssertFalse(client.connection.isClosed)
        client.connection.sendHeaders([HeaderField(":status", "200")], stream: 3, endStream: true)
        XCTAssertTrue(client.connection.isClosed, "drained: no stream left")
        XCTAssertEqual(client.written(), [reset(1, .cancel), headersFrame(3, [HeaderField(":status", "200")], endStream: true)])
    }

    /// §6.8: a later GOAWAY never names a higher last stream, though newer streams came meanwhile.
    func testLaterGoAwayDoesNotRaiseTheLastStream() {
        var client = TestClient()
        client.send(headersFrame(1, grpcRequest()))
        client.connection.goAway(code: .noError, message: "draining")
        client.send(headersFrame(3, grpcRequest()))
        XCTAssertEqual(client.send(HTTP2Frame(stream: 0, .windowUpdate(increment: 0))),
                       [.connectionError(code: .protocolError, message: "a WINDOW_UPDATE of 0 for the connection (§6.9)")])
        XCTAssertEqual(client.written(), [goAway(1, .noError, "draining"), goAway(1, .protocolError, "a WINDOW_UPDATE of 0 for the connection (§6.9)")])
    }

    func testGoAwayFromThePeerIsNoted() {
        var client = TestClient()
        XCTAssertEqual(client.send(goAway(0, .noError, "bye")), [])
        XCTAssertTrue(client.connection.peerWentAway)
    }

    /// A whole exchange, fed every way a socket could split it: the same events and bytes out.
    func testAnswersDoNotDependOnHowTheInputIsSplit() {
        let stream = HTTP2Connection.clientPreface
            + [HTTP2Frame(stream: 0, .settings([HTTP2Setting(HTTP2Setting.initialWindowSize, 1_000)])),
               HTTP2Frame(stream: 1, .headers(HTTP2HeadersPayload(fieldBlock: Array(block(grpcRequest()).prefix(10)), endStream: false, endHeaders: false, padding: 5))),
               HTTP2Frame(stream: 1, .continuation(fieldBlock: Array(block(grpcRequest()).dropFirst(10)), endHeaders: true)),
               HTTP2Frame(stream: 0, .ping(opaqueData: 9, ack: false)),
               HTTP2Frame(stream: 1, .data([0, 0, 0, 0, 2, 8, 1], endStream: false, padding: 3)),
               HTTP2Frame(stream: 1, .data([], endStream: true)),
               HTTP2Frame(stream: 0, .windowUpdate(increment: 0))].flatMap(\.encoded)
        let expectedEvents: [HTTP2Event] = [
            .request(stream: 1, headers: grpcRequest(), endStream: false),
            .data(stream: 1, bytes: [0, 0, 0, 0, 2, 8, 1], endStream: false),
            .endStream(stream: 1),
            .connectionError(code: .protocolError, message: "a WINDOW_UPDATE of 0 for the connection (§6.9)"),
        ]
        for chunks in chunkings(of: stream) {
            var client = TestClient(handshake: false)
            var events: [HTTP2Event] = []
            for chunk in chunks { events += client.receive(Array(chunk)) }
            XCTAssertEqual(events, expectedEvents)
            XCTAssertEqual(client.written(), [HTTP2Frame(stream: 0, .settingsAck), HTTP2Frame(stream: 0, .ping(opaqueData: 9, ack: true)),
                                              goAway(1, .protocolError, "a WINDOW_UPDATE of 0 for the connection (§6.9)")])
        }
    }
}
