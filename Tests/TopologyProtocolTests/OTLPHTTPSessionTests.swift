import Foundation
import TopologyCore
@testable import TopologyProtocol
import TopologyWire
import XCTest

/// OTLP/HTTP through an HTTP session: `POST /v1/traces` in protobuf and JSON, partial success, the
/// refusals (400, 405, 413, 415, 429) and that a refused request leaves the connection serving.
/// Requests are the golden vectors the official opentelemetry-proto package encoded.
final class OTLPHTTPSessionTests: XCTestCase {
    private typealias Harness = HTTPSessionTests.Harness

    /// `Schema/testdata/otlp/<name>.json`: its protobuf bytes and its OTLP JSON.
    static func vector(_ name: String) throws -> (protobuf: [UInt8], json: [UInt8]) {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Schema/testdata/otlp/\(name).json")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let hex = Array(try XCTUnwrap(object["hex"] as? String).utf8)
        let bytes = stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
        return (bytes, Array(try XCTUnwrap(object["json"] as? String).utf8))
    }

    private func post(_ h: inout Harness, _ body: [UInt8], contentType: String = "application/x-protobuf",
                      extraHeaders: String = "", path: String = "/v1/traces", chunk: Int = .max) -> (head: String, body: [UInt8]) {
        let head = "POST \(path) HTTP/1.1\r\nHost: t\r\nContent-Type: \(contentType)\r\n\(extraHeaders)Content-Length: \(body.count)\r\n\r\n"
        h.receive(Array(head.utf8) + body, chunk: chunk)
        let response = h.responseBytes()
        let split = response.indices.first { response[$0...].starts(with: Array("\r\n\r\n".utf8)) } ?? response.count
        return (String(decoding: response[..<split], as: UTF8.self), Array(response[min(split + 4, response.count)...]))
    }

    private func checkoutEdge(_ h: inout Harness) throws -> ServiceEdge {
        _ = h.topology.advance(to: h.now + 1_000)
        let node = try XCTUnwrap(h.topology.snapshot(for: TopologyQuery(), now: h.now).nodes.first { $0.serviceName == "checkout" })
        XCTAssertTrue(node.observed)
        return try XCTUnwrap(h.topology.edge(sourceId: node.serviceId, target: "payments"))
    }

    func testProtobufSpansBecomeAnEdge() throws {
        var h = Harness()
        let (head, body) = post(&h, try Self.vector("sdk_like").protobuf)
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200 OK\r\n"), head)
        XCTAssertTrue(head.contains("Content-Type: application/x-protobuf"), head)
        XCTAssertEqual(try OTLPTraceResponse(serializedBytes: body), OTLPTraceResponse(), "all spans taken: no partial_success")
        let edge = try checkoutEdge(&h)
        XCTAssertEqual(edge.totalRequests, 1)
        XCTAssertEqual(edge.totalErrors, 1)
        XCTAssertEqual(edge.avgLatencyMs, 42.5)
        XCTAssertEqual(h.metrics.otlpSpans["accepted"], 1)
    }

    /// The same request read whole, byte by byte and in 7-byte reads: the same answer and edge.
    func testTheRequestMayArriveInAnyReads() throws {
        for chunk in [Int.max, 1, 7] {
            var h = Harness()
            let (head, body) = post(&h, try Self.vector("sdk_like").protobuf, chunk: chunk)
            XCTAssertTrue(head.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(chunk): \(head)")
            XCTAssertEqual(body, [])
            XCTAssertEqual(try checkoutEdge(&h).totalRequests, 1, "\(chunk)")
        }
    }

    func testJSONSpansBecomeTheSameEdge() throws {
        var h = Harness()
        let (head, body) = post(&h, try Self.vector("sdk_like").json, contentType: "application/json; charset=utf-8")
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200 OK\r\n"), head)
        XCTAssertTrue(head.contains("Content-Type: application/json"), head)
        XCTAssertEqual(String(decoding: body, as: UTF8.self), "{}")
        XCTAssertEqual(try checkoutEdge(&h).avgLatencyMs, 42.5)
    }

    func testRefusedSpansArePartialSuccess() throws {
        var h = Harness()
        let json = #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a"},{"name":"b"}]}]},"#
            + #"{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"ok"}}]},"scopeSpans":[{"spans":[{"name":"c"}]}]}]}"#
        let (head, body) = post(&h, Array(json.utf8), contentType: "application/json")
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200 OK\r\n"), head)
        XCTAssertEqual(String(decoding: body, as: UTF8.self),
                       #"{"partialSuccess":{"rejectedSpans":"2","errorMessage":"invalid resource.attributes[service.name]: missing: set OTEL_SERVICE_NAME, or the service.name resource attribute, in the exporting service"}}"#)
        XCTAssertEqual(h.metrics.otlpSpans, ["accepted": 1, "rejected": 2, "refused": 0])
    }

    func testMalformedRequestsGet400AndTheConnectionServesOn() throws {
        var h = Harness()
        let truncated = Array(try Self.vector("sdk_like").protobuf.dropLast(30))
        let (head, body) = post(&h, truncated)
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), head)
        let status = try Status(serializedBytes: body)
        XCTAssertEqual(status.statusCode, .invalidArgument)
        XCTAssertTrue(status.message.hasPrefix("not an OTLP ExportTraceServiceRequest in protobuf: truncated message"), status.message)

        let badID = post(&h, Array(#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abcd"}]}]}]}"#.utf8), contentType: "application/json")
        XCTAssertTrue(badID.head.hasPrefix("HTTP/1.1 400 "), badID.head)
        XCTAssertEqual(String(decoding: badID.body, as: UTF8.self),
                       #"{"code":3,"message":"a span's trace_id is 2 bytes; OTLP ids are 16 bytes (32 hex digits in JSON)"}"#)
        XCTAssertEqual(h.topology.serviceCount, 0)

        XCTAssertTrue(post(&h, try Self.vector("sdk_like").protobuf).head.hasPrefix("HTTP/1.1 200 "), "the same connection, next request")
        XCTAssertEqual(h.metrics.otlpRequests[ServerMetrics.OTLPRequestKey(transport: "http", result: "invalid")], 2)
        XCTAssertFalse(describeCloses(h.takeActions()))
    }

    private func describeCloses(_ actions: [HTTPAction]) -> Bool {
        actions.contains { if case .closeNow = $0 { return true }; return false }
    }

    func testMediaTypesEncodingsAndMethods() throws {
        var h = Harness()
        let text = post(&h, Array("x".utf8), contentType: "text/plain")
        XCTAssertTrue(text.head.hasPrefix("HTTP/1.1 415 Unsupported Media Type\r\n"), text.head)
        XCTAssertTrue(try Status(serializedBytes: text.body).message.contains("send application/x-protobuf or application/json"))

        let gzip = post(&h, [0x1F, 0x8B, 0x08], contentType: "application/json", extraHeaders: "Content-Encoding: gzip\r\n")
        XCTAssertTrue(gzip.head.hasPrefix("HTTP/1.1 415 "), gzip.head)
        XCTAssertTrue(String(decoding: gzip.body, as: UTF8.self).contains("OTEL_EXPORTER_OTLP_COMPRESSION=none"))

        h.receive("GET /v1/traces HTTP/1.1\r\nHost: t\r\n\r\n")
        let get = h.response()
        XCTAssertTrue(get.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"), get)
        XCTAssertTrue(get.contains("Allow: POST\r\n"), get)
    }

    /// OTLP bodies may pass the 256 KiB of other POSTs, up to their own bound.
    func testOTLPBodiesHaveTheirOwnBound() throws {
        var h = Harness()
        let padded = Array("{}".utf8) + [UInt8](repeating: 0x20, count: 300 * 1024)
        XCTAssertTrue(post(&h, padded, contentType: "application/json").head.hasPrefix("HTTP/1.1 200 "))
        let register = post(&h, padded, contentType: "application/json", path: "/runtime.v1.TopologyService/RegisterService")
        XCTAssertTrue(register.head.hasPrefix("HTTP/1.1 413 "), register.head)

        var small = Harness()
        small.env.limits.maxOTLPBodyBytes = 1024
        small.session = HTTPSession(peer: "p", limits: small.env.limits, now: small.now, requestTimeoutMs: 10_000)
        XCTAssertTrue(post(&small, [UInt8](repeating: 0x20, count: 300 * 1024), contentType: "application/json").head.hasPrefix("HTTP/1.1 413 "))
    }

    func testOverTheSpanRateIs429WithRetryAfter() throws {
        var h = Harness()
        h.rpc.configuration.otlpMaxSpansPerSecond = 1
        let body = try Self.vector("sdk_like").protobuf
        XCTAssertTrue(post(&h, body).head.hasPrefix("HTTP/1.1 200 "))
        let throttled = post(&h, body)
        XCTAssertTrue(throttled.head.hasPrefix("HTTP/1.1 429 Too Many Requests\r\n"), throttled.head)
        XCTAssertTrue(throttled.head.contains("Retry-After: 1\r\n"), throttled.head)
        XCTAssertEqual(try Status(serializedBytes: throttled.body).statusCode, .unavailable)
        XCTAssertEqual(h.metrics.otlpSpans["refused"], 1)
        h.now += 1_000
        XCTAssertTrue(post(&h, body).head.hasPrefix("HTTP/1.1 200 "), "a second later the bucket holds a span again")
    }
}
