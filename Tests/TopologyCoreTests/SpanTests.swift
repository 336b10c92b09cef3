import XCTest
@testable import TopologyCore
import TopologyWire

/// OTLP spans in the core: calls on edges, aggregated as ReportActivity is; observed services and
/// how they age; one node per name with registered services.
final class SpanTests: XCTestCase {
    // MARK: Building requests

    static func span(
        _ kind: OTLPSpanKind, _ attributes: [(String, OTLPAnyValue.Kind)] = [], name: String = "op",
        latencyMs: UInt64 = 0, error: Bool = false
    ) -> OTLPSpan {
        var span = OTLPSpan()
        span.kind = kind
        span.name = name
        span.startTimeUnixNano = 1_700_000_000_000_000_000
        span.endTimeUnixNano = span.startTimeUnixNano + latencyMs * 1_000_000
        span.attributes = attributes.map { OTLPKeyValue($0.0, $0.1) }
        if error { span.status = OTLPSpanStatus(code: .error, message: "boom") }
        return span
    }

    static func request(_ service: String?, _ spans: [OTLPSpan]) -> OTLPTraceRequest {
        var resource = OTLPResourceSpans()
        if let service { resource.resourceAttributes = [OTLPKeyValue("service.name", .string(service))] }
        var scope = OTLPScopeSpans()
        scope.spans = spans
        resource.scopeSpans = [scope]
        return OTLPTraceRequest(resourceSpans: [resource])
    }

    static func call(to peer: String, latencyMs: UInt64 = 0, error: Bool = false) -> OTLPSpan {
        span(.client, [("peer.service", .string(peer))], latencyMs: latencyMs, error: error)
    }

    func observed(_ h: Harness, _ name: String) -> ServiceNode? {
        h.topology.snapshot(for: TopologyQuery(includeIdle: true, includeStale: true), now: h.now).nodes
            .first { $0.serviceName == name }
    }

    // MARK: Calls

    func testAClientSpanIsACallOnTheEdgeFromItsService() throws {
        var h = Harness()
        let result = h.topology.ingest(Self.request("checkout", [
            Self.call(to: "payments", latencyMs: 40, error: true), Self.call(to: "payments", latencyMs: 20),
        ]), now: h.now)
        XCTAssertEqual(result.acceptedSpans, 2)
        XCTAssertEqual(result.rejectedSpans, 0)
        XCTAssertEqual(result.calls, 2)
        XCTAssertNil(result.firstRejection)
        let node = try XCTUnwrap(observed(h, "checkout"))
        XCTAssertTrue(node.observed)
        XCTAssertEqual(node.state, .active)
        h.advance(by: 1_000)
        let edge = try XCTUnwrap(h.topology.edge(sourceId: node.serviceId, target: "payments"))
        XCTAssertEqual(edge.totalRequests, 2)
        XCTAssertEqual(edge.totalErrors, 1)
        XCTAssertEqual(edge.avgLatencyMs, 30)
        XCTAssertEqual(edge.errorRate, 0.5)
    }

    /// The same calls as spans and as ReportActivity give the same edge, figure for figure.
    func testSpansAndReportActivityAggregateAlike() throws {
        var bySpans = Harness(seed: 7)
        var byReports = Harness(seed: 7)
        let spanSource = bySpans.register("a")
        let reportSource = byReports.register("a")
        XCTAssertEqual(spanSource, reportSource)
        for step in 0..<20 {
            let latency = UInt64(5 + step * 3)
            let failed = step % 4 == 0
            _ = bySpans.topology.ingest(Self.request("a", [Self.call(to: "b", latencyMs: latency, error: failed)]), now: bySpans.now)
            byReports.activity(reportSource, to: "b", latencyMs: Int32(latency), success: !failed)
            bySpans.advance(by: 300)
            byReports.advance(by: 300)
        }
        let edge = try XCTUnwrap(bySpans.topology.edge(sourceId: spanSource, target: "b"))
        XCTAssertEqual(edge, byReports.topology.edge(sourceId: reportSource, target: "b"))
        XCTAssertEqual(edge.totalRequests, 20)
        XCTAssertEqual(edge.totalErrors, 5)
        XCTAssertGreaterThan(edge.latencyP95Ms, edge.latencyP50Ms)
    }

    func testThePeerRulesInOrder() {
        func peer(_ attributes: [(String, OTLPAnyValue.Kind)]) -> String? {
            SpanCall(Self.span(.client, attributes)).peer
        }
        let all: [(String, OTLPAnyValue.Kind)] = [
            ("messaging.destination.name", .string("orders-topic")), ("db.name", .string("orders")),
            ("db.system", .string("postgresql")), ("rpc.service", .string("shop.Orders")),
            ("server.port", .int(8443)), ("server.address", .string("pay.internal")), ("peer.service", .string("payments")),
        ]
        XCTAssertEqual(peer(all), "payments")
        XCTAssertEqual(peer(Array(all.dropLast())), "pay.internal:8443")
        XCTAssertEqual(peer(Array(all.dropLast(2)) + [("server.port", .int(1))]), "shop.Orders", "a port alone is no peer")
        XCTAssertEqual(peer([("server.address", .string("pay")), ("server.port", .string("80"))]), "pay:80")
        XCTAssertEqual(peer([("server.address", .string("pay"))]), "pay")
        XCTAssertEqual(peer(Array(all.prefix(3))), "postgresql/orders")
        XCTAssertEqual(peer([("db.system", .string("redis"))]), "redis")
        XCTAssertEqual(peer(Array(all.prefix(1))), "orders-topic")
        XCTAssertEqual(peer([("peer.service", .string("")), ("rpc.service", .string("x"))]), "x", "empty values do not count")
        XCTAssertEqual(peer([("peer.service", .int(3))]), nil, "a peer name must be a string")
        XCTAssertEqual(peer([("http.url", .string("http://x"))]), nil)
        XCTAssertEqual(SpanCall(Self.span(.client, [("rpc.method", .string("Place"))], name: "span")).method, "Place")
        XCTAssertEqual(SpanCall(Self.span(.client, name: "GET /x")).method, "GET /x")
    }

    func testOnlyClientAndProducerSpansAreCalls() throws {
        var h = Harness()
        let peer: [(String, OTLPAnyValue.Kind)] = [("peer.service", .string("b"))]
        let result = h.topology.ingest(Self.request("a", [
            Self.span(.server, peer), Self.span(.internal, peer), Self.span(.consumer, peer),
            Self.span(.unspecified, peer), Self.span(.producer, peer), Self.span(.client),
        ]), now: h.now)
        XCTAssertEqual(result.acceptedSpans, 6)
        XCTAssertEqual(result.calls, 1, "the PRODUCER span; the CLIENT span names no peer")
        h.advance(by: 1_000)
        let node = try XCTUnwrap(observed(h, "a"))
        XCTAssertEqual(h.topology.edge(sourceId: node.serviceId, target: "b")?.totalRequests, 1)
    }

    // MARK: Observed services

    func testAnObservedServiceIsActiveThenIdleThenRemovedNeverStaleOrDead() throws {
        var configuration = TopologyConfiguration()
        configuration.observedRemovalMs = 60_000
        var h = Harness(configuration)
        let watcher = h.watch(TopologyQuery(includeIdle: true, includeStale: true))
        _ = h.take(watcher)
        // Spans every 2 s for a minute: far past the dead timeout (15 s) of a registered service.
        for _ in 0..<30 {
            _ = h.topology.ingest(Self.request("worker", [Self.span(.server)]), now: h.now)
            h.advance(by: 2_000)
            XCTAssertEqual(observed(h, "worker")?.state, .active)
        }
        let lastSpan = h.now - 2_000
        let id = try XCTUnwrap(observed(h, "worker")).serviceId
        h.advance(to: lastSpan + 29_999)
        XCTAssertEqual(h.state(id), .active)
        h.advance(to: lastSpan + 30_000)
        XCTAssertEqual(h.state(id), .idle)
        h.advance(to: lastSpan + 89_999)
        XCTAssertEqual(h.state(id), .idle)
        h.advance(to: lastSpan + 90_000)
        XCTAssertNil(h.topology.node(id: id))
        XCTAssertEqual(h.topology.observedServiceCount, 0)
        let updates = h.take(watcher).filter { $0.node?.serviceId == id }
        XCTAssertEqual(updates.first?.type, .nodeAdded)
        XCTAssertEqual(updates.last?.type, .nodeRemoved)
        let states = Set(updates.compactMap { $0.node?.state })
        XCTAssertEqual(states, [.active, .idle], "never STALE or DEAD")
        XCTAssertFalse(h.events.contains { if case .serviceDead = $0 { return true }; return false })
        // A span after an idle spell makes it ACTIVE again.
        _ = h.topology.ingest(Self.request("worker", [Self.span(.server)]), now: h.now)
        XCTAssertEqual(observed(h, "worker")?.state, .active)
    }

    func testAnIdleObservedServiceWakesUpOnASpan() throws {
        var h = Harness()
        _ = h.topology.ingest(Self.request("w", [Self.span(.server)]), now: h.now)
        let id = try XCTUnwrap(observed(h, "w")).serviceId
        h.advance(by: 40_000)
        XCTAssertEqual(h.state(id), .idle)
        _ = h.topology.ingest(Self.request("w", [Self.span(.server)]), now: h.now)
        XCTAssertEqual(h.state(id), .active)
        h.advance(by: 29_999)
        XCTAssertEqual(h.state(id), .active, "its idle timer counts from the new span")
        h.advance(by: 1)
        XCTAssertEqual(h.state(id), .idle)
    }

    func testARegisteredServiceTakesItsOwnSpans() throws {
        var h = Harness()
        let id = h.registerAndHeartbeat("checkout")
        _ = h.topology.ingest(Self.request("checkout", [Self.call(to: "db")]), now: h.now)
        XCTAssertEqual(h.topology.observedServiceCount, 0)
        XCTAssertEqual(h.state(id), .active)
        h.advance(by: 1_000)
        XCTAssertEqual(h.topology.edge(sourceId: id, target: "db")?.totalRequests, 1)
    }

    func testRegisteringAnObservedNameMakesOneNode() throws {
        var h = Harness()
        _ = h.topology.ingest(Self.request("checkout", [Self.call(to: "db")]), now: h.now)
        _ = h.topology.ingest(Self.request("frontend", [Self.call(to: "checkout")]), now: h.now)
        h.advance(by: 1_000)
        let observedID = try XCTUnwrap(observed(h, "checkout")).serviceId
        let frontend = try XCTUnwrap(observed(h, "frontend")).serviceId
        XCTAssertEqual(h.topology.edge(sourceId: frontend, target: "checkout")?.targetServiceId, observedID,
                       "calls to an observed service resolve to its node")

        let registered = h.register("checkout")
        let named = h.topology.snapshot(for: TopologyQuery(includeIdle: true), now: h.now).nodes.filter { $0.serviceName == "checkout" }
        XCTAssertEqual(named.map(\.serviceId), [registered])
        XCTAssertEqual(named.first?.observed, false)
        XCTAssertNil(h.topology.node(id: observedID))
        XCTAssertNil(h.topology.edge(sourceId: observedID, target: "db"), "the observed node's edges went with it")
        XCTAssertEqual(h.topology.edge(sourceId: frontend, target: "checkout")?.targetServiceId, registered)

        _ = h.topology.ingest(Self.request("checkout", [Self.call(to: "db")]), now: h.now)
        h.advance(by: 1_000)
        XCTAssertEqual(h.topology.edge(sourceId: registered, target: "db")?.totalRequests, 1)
        XCTAssertEqual(h.topology.observedServiceCount, 1, "frontend only")
    }

    func testAnObservedIdTakesNoHeartbeats() throws {
        var h = Harness()
        _ = h.topology.ingest(Self.request("w", [Self.span(.server)]), now: h.now)
        let id = try XCTUnwrap(observed(h, "w")).serviceId
        XCTAssertThrowsError(try h.topology.heartbeat(HeartbeatRequest(serviceId: id, sequence: 1), now: h.now)) { error in
            XCTAssertEqual(error as? TopologyError, .notFound(serviceId: id))
        }
        var hint = NodeHint.none
        XCTAssertThrowsError(try h.topology.heartbeat(
            serviceKey: ServiceKey(parsing: id)!, hint: &hint, sequence: 1, metrics: nil, health: nil, now: h.now))
        XCTAssertThrowsError(try h.topology.reportActivity(ReportActivityRequest(serviceId: id, targetService: "x"), now: h.now))
    }

    // MARK: Refusals

    func testObservedServicesAreCappedAndCounted() throws {
        var configuration = TopologyConfiguration()
        configuration.maxObservedServices = 2
        configuration.maxServices = 1
        var h = Harness(configuration)
        _ = h.topology.ingest(Self.request("a", [Self.span(.server)]), now: h.now)
        _ = h.topology.ingest(Self.request("b", [Self.span(.server)]), now: h.now)
        let refused = h.topology.ingest(Self.request("c", [Self.span(.server), Self.call(to: "x")]), now: h.now)
        XCTAssertEqual(refused.rejectedSpans, 2)
        XCTAssertEqual(refused.acceptedSpans, 0)
        XCTAssertEqual(refused.firstRejection, .resourceExhausted(limit: "maxObservedServices", value: 2))
        XCTAssertEqual(h.topology.observedServiceRefusals, 1)
        XCTAssertNil(observed(h, "c"))
        XCTAssertNoThrow(try h.topology.register(RegisterServiceRequest(serviceName: "r"), now: h.now),
                         "observed services do not use up maxServices")
        // Known services still get their spans.
        XCTAssertEqual(h.topology.ingest(Self.request("a", [Self.span(.server)]), now: h.now).acceptedSpans, 1)
    }

    func testSpansWithoutAServiceNameAreRefusedWithAReason() {
        var h = Harness()
        for name in [nil, "", "   ", String(repeating: "x", count: 257)] {
            let result = h.topology.ingest(Self.request(name, [Self.span(.server), Self.span(.server)]), now: h.now)
            XCTAssertEqual(result.rejectedSpans, 2, "\(String(describing: name))")
            guard case .invalidArgument("resource.attributes[service.name]", _)? = result.firstRejection else {
                return XCTFail("\(String(describing: result.firstRejection))")
            }
        }
        XCTAssertEqual(h.topology.ingest(Self.request(nil, [Self.span(.server)]), now: h.now).firstRejection?.status.message,
                       "invalid resource.attributes[service.name]: missing: set OTEL_SERVICE_NAME, or the service.name resource attribute, in the exporting service")
        XCTAssertEqual(h.topology.serviceCount, 0)
    }

    func testABadCallIsRefusedAloneAndTheRestTaken() {
        var configuration = TopologyConfiguration()
        configuration.maxEdgesPerService = 1
        var h = Harness(configuration)
        let result = h.topology.ingest(Self.request("a", [
            Self.call(to: "b"), Self.call(to: "c"), Self.call(to: String(repeating: "z", count: 2_000)), Self.call(to: "b"),
        ]), now: h.now)
        XCTAssertEqual(result.acceptedSpans, 2)
        XCTAssertEqual(result.rejectedSpans, 2)
        XCTAssertEqual(result.firstRejection, .resourceExhausted(limit: "maxEdgesPerService", value: 1))
    }
}
