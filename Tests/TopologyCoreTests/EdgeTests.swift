import XCTest
@testable import TopologyCore
import TopologyWire

final class EdgeTests: XCTestCase {
    func testFirstActivityAddsEdgeAtTheFlush() {
        var h = Harness()
        let a = h.register("a")
        let b = h.register("b")
        let watcher = h.watch()
        _ = h.take(watcher)
        XCTAssertEqual(h.activity(a, to: "b", latencyMs: 10), 1)
        let activityTime = h.now
        XCTAssertEqual(types(h.take(watcher)), [.nodeUpdated], "the node at once (ACTIVE)")
        XCTAssertNil(h.topology.edge(sourceId: a, target: "b"), "the edge at the flush")
        XCTAssertEqual(h.topology.nextDeadline, activityTime + 1_000)
        h.advance(to: activityTime + 999)
        XCTAssertEqual(h.take(watcher), [])
        h.advance(to: activityTime + 1_000)
        let updates = h.take(watcher)
        XCTAssertEqual(types(updates), [.edgeAdded])
        let edge = updates[0].edge!
        XCTAssertEqual(edge.sourceServiceId, a)
        XCTAssertEqual(edge.targetService, "b")
        XCTAssertEqual(edge.targetServiceId, b)
        XCTAssertEqual(edge.state, .active)
        XCTAssertEqual(edge.totalRequests, 1)
        XCTAssertEqual(edge.totalErrors, 0)
        XCTAssertEqual(edge.avgLatencyMs, 10)
        XCTAssertEqual(edge.lastActivityMs, activityTime)
        XCTAssertEqual(h.topology.edge(sourceId: a, target: "b"), edge)
        XCTAssertEqual(h.topology.snapshot(for: TopologyQuery(), now: h.now).edges, [edge])
    }

    func testEdgeIdleBoundaryAndWindowDecay() {
        var h = Harness()
        let a = h.register("a")
        let b = h.register("b")
        // Keep both alive throughout.
        func run(to time: Int64) {
            while h.now + 4_000 < time {
                h.advance(by: 4_000)
                h.heartbeat(a)
                h.heartbeat(b)
            }
            h.advance(to: time)
        }
        h.heartbeat(a)
        for _ in 0..<10 { h.activity(a, to: "b") }
        let last = h.now
        let watcher = h.watch()
        run(to: last + 1_000)
        var edge = h.topology.edge(sourceId: a, target: "b")!
        XCTAssertEqual(edge.rps, 2, "10 calls in a 5 s window")
        // The window slides: rps drops to 0 once the slice leaves it, while the edge stays ACTIVE.
        run(to: last + 5_999)
        XCTAssertEqual(h.topology.edge(sourceId: a, target: "b")!.rps, 2)
        run(to: last + 6_000)
        edge = h.topology.edge(sourceId: a, target: "b")!
        XCTAssertEqual(edge.rps, 0)
        XCTAssertEqual(edge.state, .active)
        XCTAssertNil(h.topology.nextDeadline.flatMap { $0 == last + 7_000 ? $0 : nil }, "no more flushes once the window is empty")
        run(to: last + 29_999)
        XCTAssertEqual(h.topology.edge(sourceId: a, target: "b")!.state, .active)
        _ = h.take(watcher)
        run(to: last + 30_000)
        XCTAssertEqual(h.topology.edge(sourceId: a, target: "b")!.state, .idle)
        XCTAssertTrue(h.take(watcher).contains { $0.type == .edgeUpdated && $0.edge!.state == .idle })
        // New activity: ACTIVE again (published at the flush).
        h.activity(a, to: "b")
        h.advance(by: 1_000)
        XCTAssertEqual(h.topology.edge(sourceId: a, target: "b")!.state, .active)
        XCTAssertEqual(h.topology.edge(sourceId: a, target: "b")!.totalRequests, 11)
        // A resolved edge is never removed for idleness.
        run(to: h.now + 200_000)
        XCTAssertNotNil(h.topology.edge(sourceId: a, target: "b"))
    }

    func testUnresolvedEdgeExpiresAfterTimeout() {
        assertUnresolvedEdgeExpires(after: 60_000, TopologyConfiguration())
    }

    /// The default is 2 x the idle timeout, so it follows a changed idle timeout; a value set
    /// explicitly stays as set whatever the idle timeout.
    func testUnresolvedEdgeTimeoutDefaultsToTwiceTheIdleTimeout() {
        var configuration = TopologyConfiguration()
        XCTAssertEqual(configuration.unresolvedEdgeTimeoutMs, 60_000)
        configuration.idleTimeoutMs = 7_000
        XCTAssertEqual(configuration.unresolvedEdgeTimeoutMs, 14_000)
        XCTAssertEqual(configuration.sanitized().unresolvedEdgeTimeoutMs, 14_000)
        assertUnresolvedEdgeExpires(after: 14_000, configuration)

        var explicit = TopologyConfiguration()
        explicit.unresolvedEdgeTimeoutMs = 9_000
        explicit.idleTimeoutMs = 2_000
        XCTAssertEqual(explicit.unresolvedEdgeTimeoutMs, 9_000)
        XCTAssertEqual(explicit.sanitized().unresolvedEdgeTimeoutMs, 9_000)
        assertUnresolvedEdgeExpires(after: 9_000, explicit)

        // Sanitizing a negative idle timeout leaves a derived 0, not a negative timeout.
        var negative = TopologyConfiguration()
        negative.idleTimeoutMs = -5
        XCTAssertEqual(negative.sanitized().unresolvedEdgeTimeoutMs, 0)
    }

    private func assertUnresolvedEdgeExpires(after timeout: Int64, _ configuration: TopologyConfiguration,
                                             file: StaticString = #filePath, line: UInt = #line) {
        var h = Harness(configuration)
        let a = h.registerAndHeartbeat("a")
        h.activity(a, to: "nobody")
        let last = h.now
        func run(to time: Int64) {
            while h.now + 4_000 < time {
                h.advance(by: 4_000)
                h.heartbeat(a)
            }
            h.advance(to: time)
        }
        run(to: last + 1_000)
        XCTAssertEqual(h.topology.edge(sourceId: a, target: "nobody")!.targetServiceId, "", file: file, line: line)
        let watcher = h.watch()
        run(to: last + timeout - 1)
        XCTAssertNotNil(h.topology.edge(sourceId: a, target: "nobody"), "gone before \(timeout) ms", file: file, line: line)
        _ = h.take(watcher)
        run(to: last + timeout)
        XCTAssertNil(h.topology.edge(sourceId: a, target: "nobody"), "still there after \(timeout) ms", file: file, line: line)
        XCTAssertEqual(types(h.take(watcher).filter { $0.edge != nil }), [.edgeRemoved], file: file, line: line)
        XCTAssertTrue(h.events.contains(.unresolvedEdgeExpired(sourceId: a, target: "nobody")), file: file, line: line)
        XCTAssertEqual(h.topology.edgeCount, 0, file: file, line: line)
    }

    func testTargetResolutionRules() {
        var h = Harness()
        let a = h.register("caller")
        let byName = h.register("orders")
        let byInterface = h.register(
            "payments-v2", address: "10.0.0.7:9000",
            metadata: ServiceMetadata(serviceInterface: "payments", serviceRole: "primary"))
        let cases: [(String, String)] = [
            ("orders", byName),
            ("payments::primary", byInterface),
            ("payments", byInterface),
            ("10.0.0.7:9000", byInterface),
            ("grpc@10.0.0.7:9000", byInterface),
            ("payments::secondary", ""),
            ("unknown", ""),
            ("x@", ""),
        ]
        for (target, _) in cases { h.activity(a, to: target) }
        h.advance(by: 1_000)
        for (target, expected) in cases {
            XCTAssertEqual(h.topology.edge(sourceId: a, target: target)?.targetServiceId, expected, target)
        }
    }

    func testResolutionPrefersBetterRankThenEarliestRegistered() {
        var h = Harness()
        let a = h.register("caller")
        let first = h.register("db")
        h.register("db")
        // An interface match ranks below a name match.
        h.register("other", metadata: ServiceMetadata(serviceInterface: "db"))
        h.activity(a, to: "db")
        h.advance(by: 1_000)
        XCTAssertEqual(h.topology.edge(sourceId: a, target: "db")!.targetServiceId, first)
    }

    func testReresolutionWhenTargetAppearsAndLeaves() {
        var h = Harness()
        let a = h.register("a")
        h.activity(a, to: "later")
        h.advance(by: 1_000)
        let watcher = h.watch()
        _ = h.take(watcher)
        XCTAssertEqual(h.topology.edge(sourceId: a, target: "later")!.targetServiceId, "")
        // The target appears: the edge resolves (EDGE_UPDATED right after the NODE_ADDED).
        let later = h.register("later")
        var updates = h.take(watcher)
        XCTAssertEqual(types(updates), [.nodeAdded, .edgeUpdated])
        XCTAssertEqual(updates[1].edge!.targetServiceId, later)
        XCTAssertEqual(h.topology.edge(sourceId: a, target: "later")!.targetServiceId, later)
        // Appearing by address through key@address too.
        h.activity(a, to: "http@10.1.1.1:80")
        h.advance(by: 1_000)
        _ = h.take(watcher)
        let byAddress = h.register("web", address: "10.1.1.1:80")
        updates = h.take(watcher)
        XCTAssertEqual(types(updates), [.nodeAdded, .edgeUpdated])
        XCTAssertEqual(updates[1].edge!.targetServiceId, byAddress)
        // The resolved target leaves: the edge goes with it.
        _ = h.topology.unregister(UnregisterServiceRequest(serviceId: later), now: h.now)
        updates = h.take(watcher)
        XCTAssertEqual(types(updates), [.nodeRemoved, .edgeRemoved])
        XCTAssertEqual(updates[1].edge!.targetService, "later")
        XCTAssertNil(h.topology.edge(sourceId: a, target: "later"))
        // A re-registration that changes the address re-resolves edges that named the old one.
        _ = h.register("web", address: "10.1.1.2:80", id: byAddress)
        updates = h.take(watcher)
        XCTAssertEqual(types(updates), [.nodeUpdated, .edgeUpdated])
        XCTAssertEqual(updates[1].edge!.targetServiceId, "")
    }

    func testAggregationMath() {
        var configuration = TopologyConfiguration()
        configuration.heartbeatIntervalMs = 60_000  // keep the services alive without heartbeats
        var h = Harness(configuration)
        let a = h.register("a")
        h.register("b")
        // 20 calls: latencies 10, 20, ..., 200; 5 of them errors (by type, by success, by error_count).
        for i in 1...10 { h.activity(a, to: "b", latencyMs: Int32(i * 10), success: true) }
        h.activity(a, to: "b", latencyMs: 110, type: .error)
        h.activity(a, to: "b", latencyMs: 120, success: false)
        h.activity(a, to: "b", latencyMs: 130, success: true)
        h.activity(a, to: "b", latencyMs: 140, success: true)
        XCTAssertEqual(h.activity(a, to: "b", latencyMs: 150, batch: 6, errorCount: 3), 6)  // 6 calls at 150, 3 failed
        h.advance(by: 1_000)
        let edge = h.topology.edge(sourceId: a, target: "b")!
        XCTAssertEqual(edge.totalRequests, 20)
        XCTAssertEqual(edge.totalErrors, 5)
        let firstTen: Int = (1...10).map { $0 * 10 }.reduce(0, +)
        let rest: Int = 110 + 120 + 130 + 140 + 6 * 150
        let expectedAverage = Double(firstTen + rest) / 20
        XCTAssertEqual(edge.avgLatencyMs, expectedAverage, accuracy: 1e-9)
        XCTAssertEqual(edge.rps, 20.0 / 5.0, accuracy: 1e-9)
        XCTAssertEqual(edge.errorRate, 5.0 / 20.0, accuracy: 1e-9)
        // Nearest rank over the 20 latencies 10..100, 110..140, 150 x 6: p50 = 10th = 100, p95 = 19th
        // = 150, p99 = 20th = 150.
        XCTAssertEqual(edge.latencyP50Ms, 100, accuracy: 1)
        XCTAssertEqual(edge.latencyP95Ms, 150, accuracy: 1.5)
        XCTAssertEqual(edge.latencyP99Ms, 150, accuracy: 1.5)
        // Totals are lifetime; rate figures are the window's.
        h.advance(by: 5_000)
        let later = h.topology.edge(sourceId: a, target: "b")!
        XCTAssertEqual(later.totalRequests, 20)
        XCTAssertEqual(later.rps, 0)
        XCTAssertEqual(later.errorRate, 0)
        XCTAssertEqual(later.latencyP99Ms, 0)
        XCTAssertEqual(later.avgLatencyMs, expectedAverage, accuracy: 1e-9)
    }

    func testRpsCountsOnlyTheWindow() {
        var configuration = TopologyConfiguration()
        configuration.heartbeatIntervalMs = 600_000
        var h = Harness(configuration)
        let a = h.register("a")
        // 7 calls per second for 10 s: the 5 s window holds 35 of them.
        for _ in 0..<10 {
            for _ in 0..<7 { h.activity(a, to: "b") }
            h.advance(by: 1_000)
        }
        let edge = h.topology.edge(sourceId: a, target: "b")!
        XCTAssertEqual(edge.rps, 7, accuracy: 1e-9)
        XCTAssertEqual(edge.totalRequests, 70)
    }

    func testPercentilesWithinTwoPercentOnKnownDistributions() {
        var configuration = TopologyConfiguration()
        configuration.heartbeatIntervalMs = 600_000
        var rng = SplitMix64(seed: 3)
        let distributions: [(String, () -> Int32)] = [
            ("uniform 1..1000", { Int32.random(in: 1...1_000, using: &rng) }),
            ("exponential mean 50", { Int32(max(1, (-50 * log(Double.random(in: 1e-9..<1, using: &rng))).rounded())) }),
            ("bimodal 5 / 800", { Bool.random(using: &rng) ? Int32.random(in: 4...6, using: &rng) : Int32.random(in: 700...900, using: &rng) }),
        ]
        for (name, sample) in distributions {
            var h = Harness(configuration)
            let a = h.register("a")
            var latencies: [Int32] = []
            for _ in 0..<5_000 {
                let latency = sample()
                latencies.append(latency)
                h.activity(a, to: "b", latencyMs: latency)
            }
            h.advance(by: 1_000)
            let edge = h.topology.edge(sourceId: a, target: "b")!
            latencies.sort()
            func exact(_ p: Double) -> Double { Double(latencies[Int((p * Double(latencies.count)).rounded(.up)) - 1]) }
            for (p, got) in [(0.50, edge.latencyP50Ms), (0.95, edge.latencyP95Ms), (0.99, edge.latencyP99Ms)] {
                let want = exact(p)
                XCTAssertLessThanOrEqual(abs(got - want) / want, 0.02, "\(name) p\(Int(p * 100)): \(got) vs \(want)")
            }
        }
    }

    func testBatchedReportWithHistogramKeepsPercentiles() {
        var configuration = TopologyConfiguration()
        configuration.heartbeatIntervalMs = 600_000
        var h = Harness(configuration)
        let a = h.register("a")
        // A client batched 1,000 calls: latencies 1..1000 ms, sent as one report with a histogram.
        var sparse = SparseHistogram()
        for latency in 1...1_000 { sparse.add(latencyMs: Double(latency), count: 1) }
        let histogram = LatencyHistogram(sparse)
        XCTAssertEqual(h.activity(a, to: "b", latencyMs: 500, batch: 1_000, histogram: histogram, errorCount: 10), 1_000)
        h.advance(by: 1_000)
        let edge = h.topology.edge(sourceId: a, target: "b")!
        XCTAssertEqual(edge.totalRequests, 1_000)
        XCTAssertEqual(edge.totalErrors, 10)
        XCTAssertEqual(edge.errorRate, 0.01, accuracy: 1e-12)
        XCTAssertLessThanOrEqual(abs(edge.latencyP50Ms - 500) / 500, 0.02)
        XCTAssertLessThanOrEqual(abs(edge.latencyP95Ms - 950) / 950, 0.02)
        XCTAssertLessThanOrEqual(abs(edge.latencyP99Ms - 990) / 990, 0.02)
        XCTAssertLessThanOrEqual(abs(edge.avgLatencyMs - 500.5) / 500.5, 0.01, "the histogram, not latency_ms")
        // Without a histogram, latency_ms stands for every call of the batch.
        h.activity(a, to: "c", latencyMs: 40, batch: 50)
        h.advance(by: 1_000)
        let c = h.topology.edge(sourceId: a, target: "c")!
        XCTAssertEqual(c.totalRequests, 50)
        XCTAssertEqual(c.avgLatencyMs, 40)
        XCTAssertEqual(c.latencyP99Ms, 40, accuracy: 0.4)
        // A failed batch without error_count: all of it failed.
        h.activity(a, to: "d", batch: 8, type: .error)
        h.advance(by: 1_000)
        XCTAssertEqual(h.topology.edge(sourceId: a, target: "d")!.totalErrors, 8)
        XCTAssertEqual(h.topology.edge(sourceId: a, target: "d")!.avgLatencyMs, 0, "no latency reported")
    }

    func testActivityValidation() {
        var configuration = TopologyConfiguration()
        configuration.maxEdgesPerService = 2
        var h = Harness(configuration)
        let a = h.register("a")
        func error(_ request: ReportActivityRequest) -> TopologyError? {
            var request = request
            request.serviceId = a
            do { _ = try h.topology.reportActivity(request, now: h.now); return nil } catch { return error }
        }
        XCTAssertEqual(error(ReportActivityRequest(targetService: ""))?.field, "target_service")
        XCTAssertEqual(error(ReportActivityRequest(targetService: String(repeating: "t", count: 1_025)))?.field, "target_service")
        XCTAssertEqual(error(ReportActivityRequest(targetService: "b", batchSize: -1))?.field, "batch_size")
        XCTAssertEqual(error(ReportActivityRequest(targetService: "b", batchSize: 3, errorCount: 4))?.field, "error_count")
        XCTAssertEqual(error(ReportActivityRequest(
            targetService: "b", latencyHistogram: LatencyHistogram(indexes: [1, 2], counts: [1])))?.field, "latency_histogram")
        XCTAssertEqual(error(ReportActivityRequest(
            targetService: "b", batchSize: 5, latencyHistogram: LatencyHistogram(indexes: [2, 1], counts: [1, 1])))?.field,
            "latency_histogram.indexes")
        XCTAssertEqual(error(ReportActivityRequest(
            targetService: "b", batchSize: 1, latencyHistogram: LatencyHistogram(indexes: [1, 2], counts: [1, 1])))?.field,
            "latency_histogram")
        XCTAssertEqual(error(ReportActivityRequest(
            targetService: "b", latencyHistogram: LatencyHistogram(indexes: [5_000], counts: [1])))?.field,
            "latency_histogram.indexes")
        XCTAssertEqual(h.state(a), .registered, "a refused report changes nothing")
        XCTAssertNil(error(ReportActivityRequest(targetService: "b", batchSize: 0)), "batch_size 0 counts as 1")
        XCTAssertNil(error(ReportActivityRequest(targetService: "c")))
        XCTAssertEqual(error(ReportActivityRequest(targetService: "d")), .resourceExhausted(limit: "maxEdgesPerService", value: 2))
        XCTAssertNil(error(ReportActivityRequest(targetService: "b")), "existing edges still take reports")
    }

    func testLatencyBuckets() {
        // Every latency is within 1% of its bucket's representative, bucket edges included.
        var latency = 0.001
        while latency < 1e7 {
            for value in [latency, latency.nextUp, latency.nextDown] {
                let index = LatencyBuckets.index(ofMs: value)
                XCTAssertLessThan(pow(1.02, Double(index - 1)), value)
                XCTAssertLessThanOrEqual(value, pow(1.02, Double(index)))
                XCTAssertLessThanOrEqual(abs(LatencyBuckets.representative(index) - value) / value, 0.01)
            }
            latency *= 1.0137
        }
        for i in Int32(-50)...Int32(800) {
            let edge = pow(1.02, Double(i))
            XCTAssertEqual(LatencyBuckets.index(ofMs: edge), i, "the upper edge belongs to its bucket")
        }
    }
}

extension TopologyError {
    var field: String? {
        if case let .invalidArgument(field, _) = self { return field }
        return nil
    }
}
