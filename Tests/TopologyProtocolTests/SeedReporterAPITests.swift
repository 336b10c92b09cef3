import TopologyCore
@testable import TopologyProtocol
import TopologyWire
import XCTest

/// The seed runtime's reporter API through an HTTP session: its clients' exact requests (the C++
/// client's register body, the Rust reporter's nulls) and the answers they parse.
final class SeedReporterAPITests: XCTestCase {
    private typealias Harness = HTTPSessionTests.Harness

    /// Sends a POST with `body`; returns the status code and the response body.
    private func post(_ h: inout Harness, _ path: String, _ body: String) -> (Int, String) {
        h.receive("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1:50055\r\nAccept: */*\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        return parse(h.response())
    }

    private func parse(_ response: String) -> (Int, String) {
        let status = Int(response.split(separator: " ")[1]) ?? 0
        let body = response.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return (status, body)
    }

    private func register(_ h: inout Harness) throws -> String {
        // The C++ client's body, byte for byte (apps/calculator-client-cpp/src/main.cpp).
        let body = "{\n      \"serviceName\": \"calculator-client-cpp\",\n      \"serviceType\": \"SERVICE_TYPE_CLIENT\",\n      \"language\": \"SERVICE_LANGUAGE_CPP\",\n      \"version\": \"1.0.0\",\n      \"enableActivity\": true\n    }"
        XCTAssertEqual(body.utf8.count, 194)
        let (status, answer) = post(&h, "/register", body)
        XCTAssertEqual(status, 200)
        // The C++ client finds the id by searching for `"serviceId":"`.
        let id = try XCTUnwrap(answer.components(separatedBy: #""serviceId":""#).dropFirst().first?.split(separator: "\"").first)
        XCTAssertEqual(answer, #"{"serviceId":"\#(id)","heartbeatIntervalMs":\#(TopologyConfiguration().heartbeatIntervalMs)}"#)
        return String(id)
    }

    func testRegisterAsTheCppClientSendsItAndItsNodeAsTheSeedMakesIt() throws {
        var h = Harness()
        let id = try register(&h)
        let node = try XCTUnwrap(h.topology.node(id: id))
        XCTAssertEqual(node.serviceType, .client)
        XCTAssertEqual(node.language, .cpp)
        XCTAssertEqual(node.version, "1.0.0")
        XCTAssertEqual(node.metadata, ServiceMetadata(), "present and empty, as the seed's proxy sends it")
    }

    func testRegisterRefusalsAreTheSeedsWords() {
        var h = Harness()
        XCTAssertEqual(post(&h, "/register", #"{"serviceName":"x","serviceType":"SERVICE_TYPE_SERVER"}"#).1,
                       #"{"error":"Missing required fields: serviceName, serviceType, language"}"#)
        XCTAssertEqual(post(&h, "/register", #"{"serviceName":"x","serviceType":"SERVICE_TYPE_SERVER","language":"SERVICE_LANGUAGE_UNKNOWN"}"#).0, 400)
        XCTAssertEqual(post(&h, "/register", #"{"serviceName":"x","serviceType":"SERVICE_TYPE_SERVER","language":"SERVICE_LANGUAGE_UNKNOWN"}"#).1,
                       #"{"error":"Invalid serviceType or language"}"#)
        let (status, body) = post(&h, "/register", "{nope")
        XCTAssertEqual(status, 400)
        XCTAssertTrue(body.hasPrefix(#"{"error":"Invalid JSON: "#), body)
        h.receive("GET /register HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(parse(h.response()).1, #"{"error":"Method not allowed"}"#)
        XCTAssertEqual(h.topology.serviceCount, 0)
    }

    func testHeartbeatActivityUnregisterAndHealth() throws {
        var h = Harness()
        let id = try register(&h)
        XCTAssertEqual(post(&h, "/heartbeat", #"{"serviceId":"\#(id)"}"#).1, #"{"status":"ok"}"#)
        XCTAssertEqual(h.topology.node(id: id)?.state, .idle, "a real heartbeat")
        XCTAssertEqual(post(&h, "/heartbeat", #"{"serviceId":"7d3c1f4e-0000-4000-8000-000000000000"}"#).1, #"{"error":"Service not found"}"#)
        XCTAssertEqual(post(&h, "/heartbeat", "{}").1, #"{"error":"Missing required field: serviceId"}"#)

        // The Rust reporter sends null for what it does not have.
        let activity = #"{"serviceId":"\#(id)","targetService":"calculator.v1.CalculatorService::default@127.0.0.1:5556","type":"ACTIVITY_TYPE_REQUEST_SENT","timestampMs":null,"latencyMs":12,"method":"CalculatorService/Calculate","success":true,"errorMessage":null}"#
        XCTAssertEqual(post(&h, "/activity", activity).1, #"{"status":"ok"}"#)
        XCTAssertEqual(h.rpc.metrics.activityEvents, 1)
        XCTAssertEqual(post(&h, "/activity", #"{"serviceId":"\#(id)","targetService":"x","type":"ACTIVITY_TYPE_NOPE"}"#).1,
                       #"{"error":"Invalid activity type"}"#)
        XCTAssertEqual(post(&h, "/activity", #"{"serviceId":"\#(id)"}"#).1, #"{"error":"Missing required fields: serviceId, targetService, type"}"#)

        h.receive("GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(parse(h.response()).1, #"{"status":"healthy","services":1}"#)
        XCTAssertEqual(post(&h, "/unregister", #"{"serviceId":"\#(id)"}"#).1, #"{"status":"ok"}"#)
        let again = post(&h, "/unregister", #"{"serviceId":"\#(id)"}"#)
        XCTAssertEqual(again.0, 404)
        XCTAssertEqual(again.1, #"{"error":"Service not found"}"#)
    }

    func testActivityKeepsTheReportingServiceAlive() throws {
        var h = Harness()
        let id = try register(&h)
        let interval = Int64(TopologyConfiguration().heartbeatIntervalMs)
        for _ in 0..<10 {
            h.now += interval
            _ = h.topology.advance(to: h.now)
            XCTAssertEqual(post(&h, "/activity", #"{"serviceId":"\#(id)","targetService":"payments","type":"ACTIVITY_TYPE_REQUEST_SENT"}"#).0, 200)
        }
        XCTAssertNotNil(h.topology.node(id: id), "still there after 10 intervals without a heartbeat")
        XCTAssertNotEqual(h.topology.node(id: id)?.state, .stale)
        XCTAssertNotEqual(h.topology.node(id: id)?.state, .dead)
    }
}
