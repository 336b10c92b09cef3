import TopologyCore
@testable import TopologyProtocol
import TopologyWire
import XCTest

/// The per-service and per-edge series of /metrics, rendered from a core the test drives.
final class ServiceSeriesTests: XCTestCase {
    private var now: Int64 = 1_000_000
    private var topology = Topology(configuration: TopologyConfiguration(), serverEpoch: "e", now: 1_000_000)

    private func register(_ name: String) throws -> String {
        try topology.register(RegisterServiceRequest(serviceName: name, serviceType: .server, language: .swift), now: now).handle!.serviceId
    }

    /// `{sample line without its value: value}` of the exposition text.
    private func samples(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let space = line.lastIndex(of: " ")!
            out[String(line[..<space])] = String(line[line.index(after: space)...])
        }
        return out
    }

    func testInstancesOfANameAreAddedUpAndEdgesCarryTheirHistogram() throws {
        let a1 = try register("api")
        let a2 = try register("api")
        _ = try topology.heartbeat(HeartbeatRequest(serviceId: a1, sequence: 1, health: ApplicationHealth(state: .healthy)), now: now)
        _ = try topology.heartbeat(HeartbeatRequest(serviceId: a2, sequence: 1, health: ApplicationHealth(state: .unhealthy)), now: now)
        for (id, latency) in [(a1, Int32(3)), (a2, 40)] {
            _ = try topology.reportActivity(ReportActivityRequest(serviceId: id, targetService: "db", type: .requestSent, latencyMs: latency, success: true,
                                                                  batchSize: 2), now: now)
        }
        _ = try topology.reportActivity(ReportActivityRequest(serviceId: a1, targetService: "db", type: .error, latencyMs: 3000), now: now)
        now += 1_000
        _ = topology.advance(to: now)

        let s = samples(ServiceSeries(limit: 1_000).render(topology, now: now))
        XCTAssertEqual(s[#"topology_service_series_dropped"#], "0")
        XCTAssertEqual(s[#"topology_service_instances{service="api",state="ACTIVE"}"#], "2")
        XCTAssertEqual(s[#"topology_service_instances{service="api",state="STALE"}"#], "0")
        XCTAssertEqual(s[#"topology_service_health_instances{service="api",health="HEALTHY"}"#], "1")
        XCTAssertEqual(s[#"topology_service_health_instances{service="api",health="UNHEALTHY"}"#], "1")
        XCTAssertNil(s[#"topology_service_deaths_total{service="api"}"#], "no death yet")
        XCTAssertEqual(s[#"topology_edge_requests_total{source="api",target="db"}"#], "5")
        XCTAssertEqual(s[#"topology_edge_errors_total{source="api",target="db"}"#], "1")
        XCTAssertEqual(Double(s[#"topology_edge_error_ratio{source="api",target="db"}"#] ?? "") ?? -1, 0.2, accuracy: 1e-9)
        XCTAssertEqual(s[#"topology_edge_latency_seconds_bucket{source="api",target="db",le="0.005"}"#], "2")
        XCTAssertEqual(s[#"topology_edge_latency_seconds_bucket{source="api",target="db",le="0.05"}"#], "4")
        XCTAssertEqual(s[#"topology_edge_latency_seconds_bucket{source="api",target="db",le="2.5"}"#], "4")
        XCTAssertEqual(s[#"topology_edge_latency_seconds_bucket{source="api",target="db",le="5"}"#], "5")
        XCTAssertEqual(s[#"topology_edge_latency_seconds_bucket{source="api",target="db",le="+Inf"}"#], "5")
        XCTAssertEqual(s[#"topology_edge_latency_seconds_count{source="api",target="db"}"#], "5")
        let sum = try XCTUnwrap(Double(s[#"topology_edge_latency_seconds_sum{source="api",target="db"}"#] ?? ""))
        let exact: Double = 3.086  // (2 x 3 + 2 x 40 + 3000) ms
        XCTAssertEqual(sum, exact, accuracy: 0.031, "representatives are within 1 %")
    }

    func testDeathsAreCountedByNameFromTheEventLog() throws {
        var series = ServiceSeries(limit: 1_000)
        let id = try register("orders")
        _ = try topology.heartbeat(HeartbeatRequest(serviceId: id, sequence: 1), now: now)
        while let deadline = topology.nextDeadline, topology.node(id: id) != nil {
            now = deadline
            _ = topology.advance(to: now)
        }
        for event in topology.eventLog.events(afterSequence: 0) { series.note(event) }
        let s = samples(series.render(topology, now: now))
        XCTAssertEqual(s[#"topology_service_deaths_total{service="orders"}"#], "1")
        XCTAssertEqual(s[#"topology_service_instances{service="orders",state="IDLE"}"#], "0", "a dead name keeps its series at 0")
    }

    func testTheLimitKeepsWholeServicesInNameOrderAndCountsTheRest() throws {
        for name in ["a", "b", "c"] { _ = try register(name) }
        // Each service: 4 states + 1 health (UNKNOWN) = 5 series.
        let text = ServiceSeries(limit: 12).render(topology, now: now)
        let s = samples(text)
        XCTAssertEqual(s["topology_service_series_dropped"], "5")
        XCTAssertNotNil(s[#"topology_service_instances{service="b",state="REGISTERED"}"#])
        XCTAssertNil(s[#"topology_service_instances{service="c",state="REGISTERED"}"#])
        XCTAssertEqual(text.split(separator: "\n").filter { !$0.hasPrefix("#") }.count, 1 + 10)
    }

    func testLabelValuesAreEscaped() throws {
        _ = try register("we\"ird\\name\n")
        let text = ServiceSeries(limit: 100).render(topology, now: now)
        XCTAssertTrue(text.contains(#"topology_service_instances{service="we\"ird\\name\n",state="REGISTERED"} 1"#), text)
    }
}
