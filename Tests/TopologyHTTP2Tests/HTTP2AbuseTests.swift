import XCTest
@testable import TopologyHTTP2

/// The abuse cases of RFC 9113 §10.5 and the CVEs after it, each with the code it ends in. Time is
/// moved by hand through `TestClient.now`.
final class HTTP2AbuseTests: XCTestCase {
    private func calm(_ message: String) -> [HTTP2Event] {
        [.connectionError(code: .enhanceYourCalm, message: message)]
    }

    /// CVE-2023-44487: streams opened and reset at once, faster than the budget.
    func testRapidResetEndsInEnhanceYourCalm() {
        var client = TestClient()
        for index in 0..<200 {
            let id = UInt32(2 * index + 1)
            XCTAssertEqual(client.send(headersFrame(id, grpcRequest()), reset(id, .cancel)),
                           [.request(stream: id, headers: grpcRequest(), endStream: false), .streamReset(stream: id, code: .cancel)])
        }
        XCTAssertEqual(client.send(headersFrame(401, grpcRequest()), reset(401, .cancel)),
                       [.request(stream: 401, headers: grpcRequest(), endStream: false), .streamReset(stream: 401, code: .cancel)]
                       + calm("more than 200 streams reset within 30000 ms (rapid reset)"))
        XCTAssertEqual(client.written(), [goAway(401, .enhanceYourCalm, "more than 200 streams reset within 30000 ms (rapid reset)")])
        XCTAssertTrue(client.connection.isClosed)
    }

    /// At the budget's rate (one per 150 ms) cancelling goes on for ever.
    func testCancellingAtTheBudgetRateIsFine() {
        var client = TestClient()
        for index in 0..<1_000 {
            let id = UInt32(2 * index + 1)
            client.now += 150
            XCTAssertEqual(client.send(headersFrame(id, grpcRequest()), reset(id, .cancel)).count, 2)
        }
        XCTAssertFalse(client.connection.isClosed)
    }

    /// The server's own resets for the client's fault count too: malformed requests, refused streams.
    func testMalformedRequestFloodEndsInEnhanceYourCalm() {
        var client = TestClient()
        let malformed = grpcRequest() + [HeaderField("connection", "close")]
        for index in 0..<200 {
            XCTAssertEqual(client.send(headersFrame(UInt32(2 * index + 1), malformed, endStream: true)), [])
        }
        XCTAssertEqual(client.send(headersFrame(401, malformed, endStream: true)), calm("more than 200 streams reset within 30000 ms (rapid reset)"))
    }

    func testEndlessEmptyContinuationsEndInEnhanceYourCalm() {
        var client = TestClient()
        client.send(HTTP2Frame(stream: 1, .headers(HTTP2HeadersPayload(fieldBlock: [0x82], endStream: true, endHeaders: false))))
        for _ in 0..<64 {
            XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .continuation(fieldBlock: [], endHeaders: false))), [])
        }
        XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .continuation(fieldBlock: [], endHeaders: false))),
                       calm("the field block of stream 1 runs past 64 CONTINUATION frames"))
    }

    func testFieldBlockOverTheByteBoundEndsInEnhanceYourCalm() {
        var client = TestClient()
        let fragment = [UInt8](repeating: 0x82, count: 16_384)
        client.send(HTTP2Frame(stream: 1, .headers(HTTP2HeadersPayload(fieldBlock: fragment, endStream: true, endHeaders: false))))
        for _ in 0..<3 { XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .continuation(fieldBlock: fragment, endHeaders: false))), []) }
        XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .continuation(fieldBlock: [0x82], endHeaders: true))),
                       calm("the field block of stream 1 runs past 65536 bytes"))
    }

    func testPingFloodEndsInEnhanceYourCalm() {
        var client = TestClient()
        for index in 0..<100 { client.send(HTTP2Frame(stream: 0, .ping(opaqueData: UInt64(index), ack: false))) }
        XCTAssertEqual(client.written().count, 100, "each answered")
        XCTAssertEqual(client.send(HTTP2Frame(stream: 0, .ping(opaqueData: 100, ack: false))),
                       calm("more than 100 PINGs within 10000 ms while no data was sent"))
    }

    /// Keepalive pings at the budget's rate, and bandwidth probes while data flows, are fine.
    func testPingsAtTheRateOrWhileDataFlowsAreFine() {
        var client = TestClient()
        for index in 0..<500 {
            client.now += 100
            client.send(HTTP2Frame(stream: 0, .ping(opaqueData: UInt64(index), ack: false)))
        }
        XCTAssertFalse(client.connection.isClosed)
        client.send(headersFrame(1, grpcRequest(), endStream: true))
        client.connection.sendHeaders([HeaderField(":status", "200")], stream: 1, endStream: false)
        for index in 0..<1_000 {
            // No time passes: a probe after each DATA frame, as grpc-go's BDP estimator sends them.
            client.connection.sendData([1], stream: 1, endStream: false)
            _ = client.written()
            client.send(HTTP2Frame(stream: 0, .ping(opaqueData: UInt64(index), ack: false)))
        }
        XCTAssertFalse(client.connection.isClosed)
    }

    func testSettingsFloodEndsInEnhanceYourCalm() {
        var client = TestClient()  // its handshake sent the first SETTINGS
        for _ in 0..<19 { client.send(HTTP2Frame(stream: 0, .settings([]))) }
        XCTAssertEqual(client.send(HTTP2Frame(stream: 0, .settings([]))), calm("more than 20 SETTINGS frames within 10000 ms"))
    }

    /// CVE-2019-9512/-9515: control frames whose answers the client never reads.
    func testUnreadControlRepliesAreBounded() {
        var limits = HTTP2Limits()
        limits.maxQueuedControlFrames = 10
        var client = TestClient(limits: limits)
        for index in 0..<30 {
            client.send(HTTP2Frame(stream: 0, .ping(opaqueData: UInt64(index), ack: false)))
            if index % 2 == 1 { XCTAssertEqual(client.written().count, 2) }  // read every other one: fine
        }
        for index in 0..<10 { client.send(HTTP2Frame(stream: 0, .ping(opaqueData: UInt64(index), ack: false))) }
        XCTAssertEqual(client.send(HTTP2Frame(stream: 0, .ping(opaqueData: 11, ack: false))),
                       calm("more than 10 replies to control frames wait unread: the client sends without reading"))
        let written = client.written()
        XCTAssertEqual(written.count, 11, "ten answers and the GOAWAY; nothing more")
        XCTAssertEqual(written.last?.typeCode, HTTP2FrameType.goAway.rawValue)
    }

    /// However many streams come and go, the memory of closed ones stays at its bound.
    func testClosedStreamMemoryIsBounded() {
        var client = TestClient()
        for index in 0..<5_000 {
            let id = UInt32(2 * index + 1)
            client.send(headersFrame(id, grpcRequest(), endStream: true))
            client.connection.sendHeaders([HeaderField(":status", "200")], stream: id, endStream: true)
            _ = client.written()
        }
        XCTAssertEqual(client.connection.closedStreams.count, 128)
        XCTAssertEqual(client.connection.openStreamCount, 0)
        // Forgotten streams are closed(.unknown): HEADERS on one is an id going backwards.
        XCTAssertEqual(client.connection.state(of: 1), .closed(.unknown))
        XCTAssertEqual(client.connection.state(of: 9_999), .closed(.finished))
    }
}
