import TopologyCore
@testable import TopologyProtocol
import TopologyWire
import XCTest

/// `GET /api/v1/events`: the event log through an `HTTPSession`, read back with the JSON parser.
final class EventsRouteTests: XCTestCase {
    private func get(_ h: inout HTTPSessionTests.Harness, _ target: String) -> (status: String, body: String) {
        h.receive("GET \(target) HTTP/1.1\r\nHost: t\r\n\r\n")
        let response = h.response()
        let parts = response.components(separatedBy: "\r\n\r\n")
        return (parts[0].components(separatedBy: "\r\n")[0], parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    private func json(_ text: String) throws -> JSONValue {
        try JSONParser(maximumSize: 1 << 20).parse(Array(text.utf8))
    }

    private func strings(_ value: JSONValue?, _ key: String) -> [String] {
        guard case .array(let items)? = value?["events"] else { return [] }
        return items.compactMap { if case .string(let s)? = $0[key] { s } else { nil } }
    }

    func testEventsAreServedFromARevisionOnWithTheLogsCounters() throws {
        var h = HTTPSessionTests.Harness()
        h.register("checkout")
        h.register("pay\"ments")
        let (status, body) = get(&h, "/api/v1/events")
        XCTAssertEqual(status, "HTTP/1.1 200 OK")
        let all = try json(body)
        XCTAssertEqual(strings(all, "type"), ["registered", "registered"])
        XCTAssertEqual(strings(all, "serviceName"), ["checkout", "pay\"ments"])
        XCTAssertEqual(strings(all, "revision"), ["1", "2"])
        XCTAssertEqual(all["more"], .bool(false))
        XCTAssertEqual(all["missed"], .bool(false))
        XCTAssertEqual(all["evicted"], .string("0"))
        XCTAssertEqual(all["revision"], .string("2"))
        XCTAssertEqual(all["serverEpoch"], .string(ProtocolHarness.epoch))

        let after = try json(get(&h, "/api/v1/events?since=1").body)
        XCTAssertEqual(strings(after, "serviceName"), ["pay\"ments"])
        let limited = try json(get(&h, "/api/v1/events?since=0&limit=1").body)
        XCTAssertEqual(strings(limited, "serviceName"), ["checkout"])
        XCTAssertEqual(limited["more"], .bool(true))
        XCTAssertEqual(strings(try json(get(&h, "/api/v1/events?since=2").body), "type"), [])
    }

    func testAStateChangeCarriesFromAndTo() throws {
        var h = HTTPSessionTests.Harness()
        let id = try h.topology.register(RegisterServiceRequest(serviceName: "a", serviceType: .server, language: .swift), now: h.now).handle!.serviceId
        _ = try h.topology.heartbeat(HeartbeatRequest(serviceId: id, sequence: 1, health: ApplicationHealth(state: .unhealthy)), now: h.now)
        let page = try json(get(&h, "/api/v1/events?since=1").body)
        XCTAssertEqual(strings(page, "type"), ["state", "health"])
        XCTAssertEqual(strings(page, "from"), ["SERVICE_STATE_REGISTERED", "HEALTH_STATE_UNKNOWN"])
        XCTAssertEqual(strings(page, "to"), ["SERVICE_STATE_IDLE", "HEALTH_STATE_UNHEALTHY"])
        XCTAssertEqual(strings(page, "serviceId"), [id, id])
    }

    func testBadParametersAre400sThatSayWhatIsAccepted() {
        for (target, message) in [
            ("/api/v1/events?since=-1", "since must be a revision"),
            ("/api/v1/events?since=abc", "since must be a revision"),
            ("/api/v1/events?limit=0", "limit must be an integer from 1 to 10000"),
            ("/api/v1/events?limit=10001", "limit must be an integer from 1 to 10000"),
            ("/api/v1/events?service=a", "unknown query parameter 'service'; accepted: since, limit"),
        ] {
            var h = HTTPSessionTests.Harness()
            let (status, body) = get(&h, target)
            XCTAssertEqual(status, "HTTP/1.1 400 Bad Request", target)
            XCTAssertTrue(body.contains(message), "\(target): \(body)")
        }
    }

    func testPostIsRefused() {
        var h = HTTPSessionTests.Harness()
        h.receive("POST /api/v1/events HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
        XCTAssertTrue(h.response().hasPrefix("HTTP/1.1 405"))
    }
}
