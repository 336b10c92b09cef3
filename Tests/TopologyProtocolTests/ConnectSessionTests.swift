import TopologyCore
@testable import TopologyProtocol
import TopologyWire
import XCTest

/// Connect on the HTTP port through an HTTP session: unary calls in JSON and protobuf, their errors
/// as Connect error JSON with the mapped HTTP status, and WatchTopology as a stream of envelopes.
final class ConnectSessionTests: XCTestCase {
    private typealias Harness = HTTPSessionTests.Harness

    private func post(_ h: inout Harness, _ method: String, contentType: String, _ body: [UInt8], extra: String = "") -> (head: String, body: [UInt8]) {
        let head = "POST /runtime.v1.TopologyService/\(method) HTTP/1.1\r\nHost: t\r\nContent-Type: \(contentType)\r\nConnect-Protocol-Version: 1\r\n\(extra)Content-Length: \(body.count)\r\n\r\n"
        h.receive(Array(head.utf8) + body)
        let response = h.responseBytes()
        let split = response.indices.first { response[$0...].starts(with: Array("\r\n\r\n".utf8)) } ?? response.count
        return (String(decoding: response[..<split], as: UTF8.self), Array(response[min(split + 4, response.count)...]))
    }

    func testUnaryCallsInJSONAndProtobuf() throws {
        var h = Harness()
        let (head, body) = post(&h, "RegisterService", contentType: "application/json",
                                Array(#"{"serviceName":"checkout","serviceType":"SERVICE_TYPE_SERVER"}"#.utf8))
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200 OK\r\n"), head)
        XCTAssertTrue(head.contains("Content-Type: application/json"), head)
        XCTAssertTrue(String(decoding: body, as: UTF8.self).contains(#""handle":{"serviceId":""#), String(decoding: body, as: UTF8.self))
        XCTAssertEqual(h.topology.serviceCount, 1)

        let proto = post(&h, "GetTopology", contentType: "application/proto", GetTopologyRequest().serializedBytes())
        XCTAssertTrue(proto.head.contains("Content-Type: application/proto"), proto.head)
        let snapshot = try XCTUnwrap(GetTopologyResponse(serializedBytes: proto.body).snapshot)
        XCTAssertEqual(snapshot.nodes.map(\.serviceName), ["checkout"])
    }

    /// A GetTopology over the off-loop size is encoded by the server's reply encoder, in JSON and in
    /// protobuf, as `GET /api/v1/topology` is; the request after it waits for it.
    func testALargeGetTopologyIsEncodedOffTheLoop() throws {
        for contentType in ["application/json", "application/proto"] {
            var h = Harness(offLoopReplyEntries: 2)
            h.register("a")
            h.register("b")
            let body = contentType == "application/json" ? Array("{}".utf8) : GetTopologyRequest().serializedBytes()
            let (head, _) = post(&h, "GetTopology", contentType: contentType, body)
            XCTAssertEqual(head, "", "not answered on the loop")
            XCTAssertEqual(h.session.encoding, .response(keepAlive: true))
            guard case .encodeOffLoop(let encode) = try XCTUnwrap(h.takeActions().first) else { return XCTFail() }
            let bytes = encode()
            h.run { h, out in h.session.takeEncodedReply(bytes, now: h.now, h.env, topology: &h.topology, rpc: &h.rpc, &out) }
            let response = h.responseBytes()
            let split = try XCTUnwrap(response.indices.first { response[$0...].starts(with: Array("\r\n\r\n".utf8)) })
            let text = String(decoding: response[..<split], as: UTF8.self)
            XCTAssertTrue(text.hasPrefix("HTTP/1.1 200 OK\r\n") && text.contains("Content-Type: \(contentType)"), text)
            let payload = Array(response[(split + 4)...])
            if contentType == "application/json" {
                let json = String(decoding: payload, as: UTF8.self)
                XCTAssertTrue(json.contains(#""serviceName":"a""#) && json.contains(#""serviceName":"b""#), json)
            } else {
                let snapshot = try XCTUnwrap(GetTopologyResponse(serializedBytes: payload).snapshot)
                XCTAssertEqual(Set(snapshot.nodes.map(\.serviceName)), ["a", "b"])
            }
            XCTAssertTrue(h.session.wantsInput)
        }
    }

    func testErrorsAreConnectErrorJSONWithTheirHTTPStatus() {
        var h = Harness()
        let refused = post(&h, "RegisterService", contentType: "application/json", Array(#"{"serviceName":""}"#.utf8))
        XCTAssertTrue(refused.head.hasPrefix("HTTP/1.1 400 "), refused.head)
        XCTAssertEqual(String(decoding: refused.body, as: UTF8.self), #"{"code":"invalid_argument","message":"invalid service_name: must not be empty"}"#)
        let unknown = post(&h, "Nope", contentType: "application/json", Array("{}".utf8))
        XCTAssertTrue(unknown.head.hasPrefix("HTTP/1.1 501 "), unknown.head)
        XCTAssertTrue(String(decoding: unknown.body, as: UTF8.self).hasPrefix(#"{"code":"unimplemented","message":"unknown method Nope"#))
        XCTAssertTrue(post(&h, "GetTopology", contentType: "text/plain", Array("{}".utf8)).head.hasPrefix("HTTP/1.1 415 "))
        let badJSON = post(&h, "GetTopology", contentType: "application/json", Array(#"{"query":{"nope":1}}"#.utf8))
        XCTAssertTrue(badJSON.head.hasPrefix("HTTP/1.1 400 "), badJSON.head)
        XCTAssertTrue(post(&h, "Heartbeat", contentType: "application/json", Array("{}".utf8)).head.hasPrefix("HTTP/1.1 501 "))
        XCTAssertEqual(h.session.phase, .requests, "the connection serves on")
    }

    func testWatchTopologyStreamsEnvelopesAndEndsWithTheEndOfStreamMessage() throws {
        var h = Harness()
        _ = post(&h, "RegisterService", contentType: "application/json", Array(#"{"serviceName":"checkout","serviceType":"SERVICE_TYPE_SERVER"}"#.utf8))
        let request = ConnectEnvelope.encode(flags: 0, payload: Array(#"{"query":{}}"#.utf8))
        let (head, _) = post(&h, "WatchTopology", contentType: "application/connect+json", request)
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: application/connect+json\r\n"), head)
        guard case .streaming = h.session.phase else { return XCTFail("not streaming: \(h.session.phase)") }
        h.deliver()
        var decoder = ConnectEnvelopeDecoder(maximumMessageSize: 1 << 20)
        decoder.append(h.responseBytes())
        let first = try XCTUnwrap(try decoder.next())
        XCTAssertEqual(first.flags, 0)
        XCTAssertTrue(String(decoding: first.payload, as: UTF8.self).hasPrefix(#"{"update":{"type":"UPDATE_TYPE_SNAPSHOT""#))
        h.run { h, out in h.session.shutdown(now: h.now, h.env, topology: &h.topology, &out) }
        decoder.append(h.responseBytes())
        let last = try XCTUnwrap(try decoder.next())
        XCTAssertTrue(last.isEndOfStream)
        XCTAssertEqual(String(decoding: last.payload, as: UTF8.self), #"{"error":{"code":"unavailable","message":"server shutting down"}}"#)
    }

    /// Connect-Timeout-Ms: a stream ends at its deadline with deadline_exceeded, and its watch with it.
    func testAStreamEndsAtItsConnectTimeout() throws {
        var h = Harness()
        let request = ConnectEnvelope.encode(flags: 0, payload: WatchTopologyRequest().serializedBytes())
        let (head, _) = post(&h, "WatchTopology", contentType: "application/connect+proto", request, extra: "Connect-Timeout-Ms: 2500\r\n")
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200 OK"), head)
        XCTAssertEqual(h.session.nextDeadlineMs, h.now + 2_500)
        XCTAssertEqual(h.topology.watcherCount, 1)
        h.now += 2_499
        h.run { h, out in h.session.runTimers(now: h.now, h.env, topology: &h.topology, rpc: &h.rpc, &out) }
        guard case .streaming = h.session.phase else { return XCTFail("ended early: \(h.session.phase)") }
        h.now += 1
        h.run { h, out in h.session.runTimers(now: h.now, h.env, topology: &h.topology, rpc: &h.rpc, &out) }
        var decoder = ConnectEnvelopeDecoder(maximumMessageSize: 1 << 20)
        decoder.append(h.responseBytes())
        var last: ConnectEnvelope?
        while let envelope = try decoder.next() { last = envelope }
        XCTAssertEqual(last.map { String(decoding: $0.payload, as: UTF8.self) },
                       #"{"error":{"code":"deadline_exceeded","message":"the stream's deadline (Connect-Timeout-Ms) passed"}}"#)
        XCTAssertEqual(h.topology.watcherCount, 0)
        XCTAssertTrue(h.session.isClosing)
    }

    func testAMalformedConnectTimeoutIsInvalidArgument() throws {
        for value in ["0", "-5", "12345678901", "1.5", "soon"] {
            var h = Harness()
            let (head, body) = post(&h, "GetTopology", contentType: "application/json", Array("{}".utf8), extra: "Connect-Timeout-Ms: \(value)\r\n")
            XCTAssertTrue(head.hasPrefix("HTTP/1.1 400"), "\(value): \(head)")
            XCTAssertTrue(String(decoding: body, as: UTF8.self).hasPrefix(#"{"code":"invalid_argument","message":"Connect-Timeout-Ms"#), value)
        }
        var h = Harness()
        let (head, _) = post(&h, "GetTopology", contentType: "application/json", Array("{}".utf8), extra: "Connect-Timeout-Ms: 9999999999\r\n")
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200 OK"), head)
        // A stream's error is its end-of-stream message, after a 200 head; no watch is opened.
        let request = ConnectEnvelope.encode(flags: 0, payload: WatchTopologyRequest().serializedBytes())
        let stream = post(&h, "WatchTopology", contentType: "application/connect+proto", request, extra: "Connect-Timeout-Ms: soon\r\n")
        XCTAssertTrue(stream.head.hasPrefix("HTTP/1.1 200 OK"), stream.head)
        var decoder = ConnectEnvelopeDecoder(maximumMessageSize: 1 << 20)
        decoder.append(stream.body)
        let end = try XCTUnwrap(try decoder.next())
        XCTAssertTrue(end.isEndOfStream)
        XCTAssertTrue(String(decoding: end.payload, as: UTF8.self).hasPrefix(#"{"error":{"code":"invalid_argument","message":"Connect-Timeout-Ms soon"#))
        XCTAssertEqual(h.topology.watcherCount, 0)
    }

    func testAWatchRequestThatIsNotOneEnvelopeEndsAtOnceWithItsError() throws {
        var h = Harness()
        let (head, body) = post(&h, "WatchTopology", contentType: "application/connect+proto", [1, 2, 3])
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200 OK"), head)
        var decoder = ConnectEnvelopeDecoder(maximumMessageSize: 1 << 20)
        decoder.append(body)
        let end = try XCTUnwrap(try decoder.next())
        XCTAssertTrue(end.isEndOfStream)
        XCTAssertTrue(String(decoding: end.payload, as: UTF8.self).hasPrefix(#"{"error":{"code":"invalid_argument""#))
        XCTAssertEqual(h.topology.watcherCount, 0)
    }
}
