import XCTest
@testable import TopologyCore
import TopologyWire

/// Throttled refreshes are kept in the history as the fields a heartbeat changes, without a copy of
/// the node, whether a watcher took them or not; a watch that resumes across them gets them as
/// NODE_UPDATED.
final class RefreshRecordTests: XCTestCase {
    private func harness() -> Harness {
        var configuration = TopologyConfiguration()
        configuration.nodeUpdateJitterPercent = 0
        configuration.heartbeatIntervalMs = 60_000  // nobody's liveness moves during a test
        configuration.progressIntervalMs = 60_000
        return Harness(configuration)
    }

    private func lastKept(_ h: Harness) -> HistoryRecord? {
        let ring = h.topology.history
        guard !ring.isEmpty else { return nil }
        return ring.count < h.topology.configuration.historyLimit ? ring.last : ring[(h.topology.historyHead + ring.count - 1) % ring.count]
    }

    private func isRefreshRecord(_ record: HistoryRecord?) -> Bool {
        if case .refresh = record { return true }
        return false
    }

    func testARefreshNobodyWatchesIsKeptAndAResumedWatchGetsIt() {
        var h = harness()
        let a = h.registerAndHeartbeat("a")
        let seen = h.topology.currentRevision
        h.advance(by: 1_000)
        let heartbeatAt = h.now
        h.heartbeat(a, metrics: ServiceMetrics(cpuPercent: 42, memoryBytes: 7))
        h.advance(by: 5_000)  // the throttle period is over: the refresh is due and fires
        XCTAssertEqual(h.topology.currentRevision, seen + 1, "a refresh nobody takes still gets a revision")
        XCTAssertTrue(isRefreshRecord(lastKept(h)), "kept without a copy of the node")

        let resumed = h.watch(resumeAfter: seen, epoch: "epoch-1")
        let updates = h.take(resumed)
        XCTAssertEqual(types(updates), [.nodeUpdated], "the refresh, not a snapshot")
        XCTAssertEqual(updates.first?.revision, seen + 1)
        XCTAssertEqual(updates.first?.node?.serviceId, a)
        XCTAssertEqual(updates.first?.node?.lastHeartbeatMs, heartbeatAt)
        XCTAssertEqual(updates.first?.node?.metrics, ServiceMetrics(cpuPercent: 42, memoryBytes: 7))
        XCTAssertEqual(updates.first?.node?.state, .idle)
    }

    /// The refresh carries the fields as they were when it was due, not as they are at the resume.
    func testAResumedRefreshCarriesTheFieldsOfItsTime() {
        var h = harness()
        let a = h.registerAndHeartbeat("a")
        let seen = h.topology.currentRevision
        h.advance(by: 1_000)
        let firstAt = h.now
        h.heartbeat(a, metrics: ServiceMetrics(cpuPercent: 1))
        h.advance(by: 5_000)
        h.advance(by: 1_000)
        h.heartbeat(a, metrics: ServiceMetrics(cpuPercent: 2))  // due in 4 s: not yet fired
        let updates = h.take(h.watch(resumeAfter: seen, epoch: "epoch-1"))
        XCTAssertEqual(updates.map { $0.node?.lastHeartbeatMs }, [firstAt])
        XCTAssertEqual(updates.map { $0.node?.metrics?.cpuPercent }, [1])
    }

    func testARefreshOnlyAWatcherWithAnotherFilterCouldSeeIsNotQueued() {
        var h = harness()
        let a = h.registerAndHeartbeat("a")
        let staleOnly = h.watch(TopologyQuery(states: [.stale]))
        XCTAssertEqual(types(h.take(staleOnly)), [.snapshot])
        h.advance(by: 1_000)
        h.heartbeat(a)
        h.advance(by: 5_000)
        XCTAssertTrue(isRefreshRecord(lastKept(h)))
        XCTAssertEqual(h.take(staleOnly), [])
    }

    /// A refresh a watcher takes reaches it as published, and the history keeps no copy of the
    /// node for it: once the watcher has gone, nothing holds what it was given.
    func testARefreshAWatcherTakesIsDeliveredAndKeptWithoutTheCopy() {
        var h = harness()
        let a = h.registerAndHeartbeat("a")
        let everything = h.watch()
        XCTAssertEqual(types(h.take(everything)), [.snapshot])
        let seen = h.topology.currentRevision
        h.advance(by: 1_000)
        let heartbeatAt = h.now
        h.heartbeat(a, metrics: ServiceMetrics(cpuPercent: 7))
        h.advance(by: 5_000)
        XCTAssertTrue(isRefreshRecord(lastKept(h)), "kept as the refresh's fields")
        let delivered = h.take(everything)
        XCTAssertEqual(types(delivered), [.nodeUpdated])
        XCTAssertEqual(delivered.first?.revision, seen + 1)
        XCTAssertEqual(delivered.first?.node?.lastHeartbeatMs, heartbeatAt)
        h.topology.endWatch(everything)

        h.advance(by: 1_000)
        h.heartbeat(a, metrics: ServiceMetrics(cpuPercent: 8))  // due later: the resume sees the first
        let resumed = h.take(h.watch(resumeAfter: seen, epoch: "epoch-1"))
        XCTAssertEqual(resumed, delivered, "a resumed watch gets the refresh as the watcher was given it")
    }

    /// A node removed after its untaken refresh: the resume leaves the refresh out, its removal
    /// follows, and the resumed view is the topology.
    func testTheRefreshOfANodeRemovedSinceIsLeftOut() {
        var h = harness()
        let a = h.registerAndHeartbeat("a")
        h.registerAndHeartbeat("b")
        let watcher = h.watch()
        var view = WatcherView()
        XCTAssertNil(view.apply(h.take(watcher)))
        let seen = view.lastRevision
        h.topology.endWatch(watcher)
        h.advance(by: 1_000)
        h.heartbeat(a)
        h.advance(by: 5_000)
        XCTAssertTrue(isRefreshRecord(lastKept(h)))
        _ = h.topology.unregister(UnregisterServiceRequest(serviceId: a), now: h.now)
        let updates = h.take(h.watch(resumeAfter: seen, epoch: "epoch-1"))
        XCTAssertEqual(types(updates), [.nodeRemoved])
        XCTAssertEqual(updates.first?.revision, seen + 2)
        XCTAssertNil(view.apply(updates))
        XCTAssertEqual(view, WatcherView(h.topology.snapshot(for: TopologyQuery(), now: h.now)))
    }
}
