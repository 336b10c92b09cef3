@testable import TopologyCore
import TopologyWire
import XCTest

/// Past the fleet size `maxRefreshesPerSecond` serves at the throttle period, every node's period
/// widens in proportion, so the fleet's heartbeat-only refreshes stay within that rate; state
/// changes are not delayed.
final class RefreshRateLimitTests: XCTestCase {
    private func harness(limit: Int) -> Harness {
        var configuration = TopologyConfiguration()
        configuration.nodeUpdateThrottleMs = 1_000
        configuration.nodeUpdateJitterPercent = 0
        configuration.heartbeatIntervalMs = 60_000  // nobody's liveness moves during a test
        configuration.progressIntervalMs = 60_000
        configuration.maxRefreshesPerSecond = limit  // 10 a second at a 1 s period: 10 nodes
        return Harness(configuration)
    }

    /// Heartbeats `id` now and returns how long after it (in steps of 100 ms) the watcher got its refresh.
    private func refreshDelay(_ h: inout Harness, _ watcher: WatcherID, _ id: String, within: Int64) -> Int64? {
        let start = h.now
        h.heartbeat(id)
        for step in stride(from: Int64(100), through: within, by: 100) {
            h.advance(to: start + step)
            if h.take(watcher).contains(where: { $0.type == .nodeUpdated && $0.node?.serviceId == id }) { return step }
        }
        return nil
    }

    func testThePeriodWidensInProportionToTheFleetPastTheLimit() {
        var h = harness(limit: 10)
        var ids: [String] = []
        for i in 0..<10 { ids.append(h.registerAndHeartbeat("s\(i)")) }
        let watcher = h.watch()
        _ = h.take(watcher)
        XCTAssertEqual(h.topology.refreshPeriod(0), 1_000, "10 nodes: the limit serves them at the period itself")
        h.advance(by: 2_000)
        _ = h.take(watcher)
        XCTAssertEqual(refreshDelay(&h, watcher, ids[0], within: 5_000), 100, "last update 2 s old: due at once")
        // That refresh went out as the heartbeat came, 100 ms before the next one: the next refresh
        // is one period after it.
        XCTAssertEqual(refreshDelay(&h, watcher, ids[0], within: 5_000), 900)

        for i in 10..<40 { ids.append(h.registerAndHeartbeat("s\(i)")) }
        XCTAssertEqual(h.topology.refreshPeriod(0), 4_000, "40 nodes: four times the period")
        h.advance(by: 5_000)
        _ = h.take(watcher)
        XCTAssertEqual(refreshDelay(&h, watcher, ids[1], within: 10_000), 100)
        XCTAssertEqual(refreshDelay(&h, watcher, ids[1], within: 10_000), 3_900)
        // A state change is not throttled, however large the fleet.
        h.heartbeat(ids[1], health: .degraded)
        XCTAssertTrue(h.take(watcher).contains { $0.type == .nodeUpdated && $0.node?.health == .degraded })
    }

    func testZeroMeansNoLimit() {
        var h = harness(limit: 0)
        for i in 0..<50 { h.registerAndHeartbeat("s\(i)") }
        XCTAssertEqual(h.topology.refreshPeriod(0), 1_000)
    }
}
