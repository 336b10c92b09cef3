import XCTest
@testable import TopologyCore
import TopologyWire

/// Reports carrying `timestamp_ms` in the past: calls a client kept while the server was away count
/// in the rate window where they were made, and outside it in the totals only (issue 16).
/// Defaults: activity flush 1 s, rate window 5 s.
final class BackdatedActivityTests: XCTestCase {
    private func report(_ h: inout Harness, _ id: String, calls: Int32, at timestampMs: Int64?, latencyMs: Int32 = 5) {
        XCTAssertEqual(
            try h.topology.reportActivity(
                ReportActivityRequest(
                    serviceId: id, targetService: "b", type: .requestSent, timestampMs: timestampMs, latencyMs: latencyMs,
                    batchSize: calls),
                now: h.now),
            Int64(calls))
    }

    private func edge(_ h: Harness, _ id: String) -> ServiceEdge { h.topology.edge(sourceId: id, target: "b")! }

    private func slices(_ h: Harness, _ id: String) -> [WindowSlice] {
        let slot = h.topology.edgeIndex[EdgeKey(source: h.topology.lookup(id)!, target: "b")]!
        return h.topology.edges[Int(slot)].slices
    }

    /// A server just restarted hears, at once, 10 calls made 3 s ago (kept by the client) and 10
    /// made now: 20 calls in the 5 s window, 4 rps; once the old ones leave the window 2 s later, 2.
    func testCallsKeptDuringAnOutageCountWhereTheyWereMade() {
        var h = Harness()
        let a = h.registerAndHeartbeat("a")
        report(&h, a, calls: 10, at: h.now - 3_000)
        report(&h, a, calls: 10, at: nil)
        let start = h.now
        h.advance(to: start + 1_000)
        XCTAssertEqual(edge(h, a).rps, 4, accuracy: 1e-9)
        XCTAssertEqual(edge(h, a).totalRequests, 20)
        h.advance(to: start + 1_999)
        XCTAssertEqual(edge(h, a).rps, 4, accuracy: 1e-9, "the old calls are in the window until 5 s after they were made")
        h.advance(to: start + 2_000)
        XCTAssertEqual(edge(h, a).rps, 2, accuracy: 1e-9, "the old calls left the window; the recent ones stay")
        XCTAssertEqual(edge(h, a).totalRequests, 20)
        h.heartbeat(a)
        h.advance(to: start + 6_000)
        XCTAssertEqual(edge(h, a).rps, 0, accuracy: 1e-9)
        XCTAssertEqual(edge(h, a).totalRequests, 20)
    }

    /// Calls from before the window count in the totals and the latency, never in the rate.
    func testCallsOlderThanTheWindowCountInTotalsOnly() {
        var h = Harness()
        let a = h.registerAndHeartbeat("a")
        report(&h, a, calls: 50, at: h.now - 5_000, latencyMs: 20)
        h.advance(by: 1_000)
        let published = edge(h, a)
        XCTAssertEqual(published.totalRequests, 50)
        XCTAssertEqual(published.avgLatencyMs, 20, accuracy: 1e-9)
        XCTAssertEqual(published.rps, 0)
        XCTAssertEqual(published.state, .active, "the report itself is activity of the service now")
        XCTAssertTrue(slices(h, a).isEmpty)
    }

    /// No timestamp, a recent one (within a flush period) and one in the future all count now, so
    /// a client whose clock is a little off loses no calls from the rate.
    func testRecentAndFutureTimestampsCountNow() {
        var h = Harness()
        let a = h.registerAndHeartbeat("a")
        report(&h, a, calls: 1, at: nil)
        report(&h, a, calls: 2, at: h.now - 999)
        report(&h, a, calls: 4, at: h.now + 60_000)
        report(&h, a, calls: 8, at: 0)
        let start = h.now
        h.advance(by: 1_000)
        XCTAssertEqual(edge(h, a).rps, 15.0 / 5.0, accuracy: 1e-9)
        XCTAssertEqual(slices(h, a).map(\.endMs), [start + 1_000], "one slice: the pending one, folded in at the flush")
    }

    /// A report falls into the slice that covers its time: after a flush at t+1 s and one at t+2 s,
    /// calls made at t+1.5 s (reported at t+2.6 s) join the second slice and leave the window with it.
    func testReportJoinsTheSliceCoveringItsTime() {
        var h = Harness()
        let a = h.registerAndHeartbeat("a")
        let start = h.now
        report(&h, a, calls: 1, at: nil)
        h.advance(to: start + 1_000)
        report(&h, a, calls: 1, at: nil)
        h.advance(to: start + 2_000)
        XCTAssertEqual(slices(h, a).map(\.endMs), [start + 1_000, start + 2_000])
        h.advance(to: start + 2_600)
        report(&h, a, calls: 3, at: start + 1_500)
        XCTAssertEqual(slices(h, a).map(\.requests), [1, 4])
        h.advance(to: start + 3_000)
        XCTAssertEqual(edge(h, a).rps, 5.0 / 5.0, accuracy: 1e-9)
        h.heartbeat(a)
        h.advance(to: start + 7_000)
        XCTAssertEqual(slices(h, a).map(\.requests), [], "both slices left the window by t+7 s")
        XCTAssertEqual(edge(h, a).rps, 0)
    }

    /// However a client spreads its timestamps, backdated reports make slices at least a flush
    /// period apart: 4,000 reports 1 ms apart make at most rpsWindowMs / activityFlushMs of them.
    func testBackdatedSlicesAreBounded() {
        var h = Harness()
        let a = h.registerAndHeartbeat("a")
        let now = h.now
        for offset in stride(from: Int64(4_999), to: 1_000, by: -1) {
            report(&h, a, calls: 1, at: now - offset)
        }
        XCTAssertLessThanOrEqual(slices(h, a).count, 5)
        XCTAssertEqual(slices(h, a).reduce(0) { $0 + $1.requests }, 3_999, "every call of the window is in it")
        h.advance(by: 1_000)
        XCTAssertEqual(edge(h, a).totalRequests, 3_999)
    }
}
