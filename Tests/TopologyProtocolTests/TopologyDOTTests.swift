import TopologyCore
@testable import TopologyProtocol
import TopologyWire
import XCTest

/// `GET /api/v1/topology.dot`: the DOT text, its escaping, and the route (filters, off-loop encoding).
final class TopologyDOTTests: XCTestCase {
    func testQuotingEscapesWhatDOTReadsSpecially() {
        XCTAssertEqual(TopologyDOT.quoted("plain"), #""plain""#)
        XCTAssertEqual(TopologyDOT.quoted(#"a"b\c"#), #""a\"b\\c""#)
        XCTAssertEqual(TopologyDOT.quoted("two\nlines\r"), #""two\nlines\n""#)
        XCTAssertEqual(TopologyDOT.quoted("bell\u{07}tab\tdel\u{7F}"), #""belltabdel""#)
        XCTAssertEqual(TopologyDOT.quoted("ünï ⚡"), "\"ünï ⚡\"")
    }

    func testServicesEdgesAndUnresolvedTargets() {
        let snapshot = TopologySnapshot(
            nodes: [ServiceNode(serviceId: "id-a", serviceName: #"api "v2""#, state: .active),
                    ServiceNode(serviceId: "id-b", serviceName: "db", state: .stale)],
            edges: [ServiceEdge(sourceServiceId: "id-a", targetService: "db", state: .active, rps: 12.34, targetServiceId: "id-b", errorRate: 0.0512),
                    ServiceEdge(sourceServiceId: "id-a", targetService: "cache:6379", state: .idle)])
        XCTAssertEqual(String(decoding: TopologyDOT.encode(snapshot), as: UTF8.self), #"""
            digraph topology {
              rankdir=LR;
              node [shape=box, style="rounded,filled", fontname="Helvetica"];
              "id-a" [label="api \"v2\"\nACTIVE", fillcolor="#c8f0cf"];
              "id-b" [label="db\nSTALE", fillcolor="#f6e2b3"];
              "target:cache:6379" [label="cache:6379", style=dashed];
              "id-a" -> "id-b" [label="12.3 rps, 5.1 % errors"];
              "id-a" -> "target:cache:6379" [label="0 rps", style=dotted];
            }

            """#)
    }

    func testTheRouteTakesTheTopologyFiltersAndGoesOffTheLoopWhenLarge() {
        var h = HTTPSessionTests.Harness(offLoopReplyEntries: 3)
        h.register("checkout")
        h.register("payments")
        h.receive("GET /api/v1/topology.dot?service=payments HTTP/1.1\r\nHost: t\r\n\r\n")
        let small = h.response()
        XCTAssertTrue(small.hasPrefix("HTTP/1.1 200 OK\r\n"), small)
        XCTAssertTrue(small.contains("Content-Type: text/vnd.graphviz; charset=utf-8\r\n"))
        XCTAssertTrue(small.contains(#"[label="payments\nREGISTERED""#))
        XCTAssertFalse(small.contains("checkout"))

        h.register("inventory")
        h.receive("GET /api/v1/topology.dot HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(h.response(), "", "three nodes: encoded off the loop")
        guard case .encodeOffLoop(let encode)? = h.takeActions().last else { return XCTFail("no off-loop request") }
        let bytes = String(decoding: encode(), as: UTF8.self)
        XCTAssertTrue(bytes.hasPrefix("HTTP/1.1 200 OK\r\n") && bytes.contains("digraph topology {") && bytes.contains("inventory"), bytes)

        var fresh = HTTPSessionTests.Harness()
        fresh.receive("GET /api/v1/topology.dot?colour=red HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertTrue(fresh.response().hasPrefix("HTTP/1.1 400"), "an unknown parameter, as for /api/v1/topology")
    }
}
