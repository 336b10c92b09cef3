import TopologyCore
@testable import TopologyProtocol
import TopologyWire
import XCTest

/// Label selectors through the protocols: `?label=` on the HTTP API (repeatable, taken whole),
/// TopologyQuery.label_selectors on GetTopology, and a selector without a key refused by each.
final class LabelFilterTests: XCTestCase {
    func testTheLabelParameterIsRepeatableAndTakenWhole() throws {
        let request = "GET /api/v1/topology?label=team%3Dpayments&label=canary&label=zones%3Da,b&team=t HTTP/1.1\r\nHost: t\r\n\r\n"
        var parser = HTTPRequestParser(limits: HTTPLimits())
        parser.append(Array(request.utf8))
        let parsed = try XCTUnwrap(try parser.next())
        XCTAssertEqual(HTTPRouter.route(parsed, tokenMatches: nil),
                       .topology(TopologyQuery(teams: ["t"], labelSelectors: ["team=payments", "canary", "zones=a,b"])))
    }

    func testTheJSONAPIFiltersByLabelAndRefusesASelectorWithoutAKey() throws {
        var h = HTTPSessionTests.Harness()
        _ = try h.topology.register(RegisterServiceRequest(serviceName: "pay", labels: ["team": "payments"]), now: h.now)
        _ = try h.topology.register(RegisterServiceRequest(serviceName: "core", labels: ["team": "core"]), now: h.now)
        h.receive("GET /api/v1/topology?label=team=payments HTTP/1.1\r\nHost: t\r\n\r\n")
        let response = h.response()
        XCTAssertTrue(response.hasPrefix("HTTP/1.1 200 OK\r\n"), response)
        XCTAssertTrue(response.contains(#""serviceName":"pay""#), response)
        XCTAssertTrue(response.contains(#""labels":{"team":"payments"}"#), response)
        XCTAssertFalse(response.contains(#""serviceName":"core""#), response)

        h.receive("GET /api/v1/topology?label=%3Dpayments HTTP/1.1\r\nHost: t\r\n\r\n")
        let refused = h.response()
        XCTAssertTrue(refused.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), refused)
        XCTAssertTrue(refused.contains("invalid query.label_selectors: '=payments' has no key"), refused)
    }

    func testGetTopologyFiltersByLabelAndRefusesASelectorWithoutAKey() throws {
        var h = ProtocolHarness()
        h.send(Frame(callId: 1, message: .registerServiceRequest(
            RegisterServiceRequest(serviceName: "pay", serviceType: .server, labels: ["team": "payments"]))))
        XCTAssertEqual(h.reply()?.status?.statusCode, .ok)
        _ = h.register("other", call: 2)
        h.send(Frame(callId: 3, message: .getTopologyRequest(GetTopologyRequest(query: TopologyQuery(labelSelectors: ["team"])))))
        guard case .getTopologyResponse(let response)? = try XCTUnwrap(h.reply()).message else { return XCTFail("no topology") }
        XCTAssertEqual(response.snapshot?.nodes.map(\.serviceName), ["pay"])
        XCTAssertEqual(response.snapshot?.nodes.first?.labels, ["team": "payments"])

        h.send(Frame(callId: 4, message: .getTopologyRequest(GetTopologyRequest(query: TopologyQuery(labelSelectors: [""])))))
        let refused = try XCTUnwrap(h.reply())
        XCTAssertEqual(refused.callId, 4)
        XCTAssertEqual(refused.status?.statusCode, .invalidArgument)
        XCTAssertEqual(refused.status?.message,
                       "invalid query.label_selectors: '' has no key; write key=value (that value) or key (any value)")
    }

    func testRegisterServiceRefusesBadLabelsWithInvalidArgument() throws {
        var h = ProtocolHarness()
        h.send(Frame(callId: 1, message: .registerServiceRequest(
            RegisterServiceRequest(serviceName: "pay", serviceType: .server, labels: ["a=b": "c"]))))
        let refused = try XCTUnwrap(h.reply())
        XCTAssertEqual(refused.status?.statusCode, .invalidArgument)
        XCTAssertEqual(refused.status?.message,
                       "invalid labels: key 'a=b' contains '=', which separates key and value in a label selector")
    }
}
