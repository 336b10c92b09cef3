import XCTest
@testable import TopologyCore
import TopologyWire

/// Throttled refreshes that no watcher takes are kept in the history as the fields a heartbeat
/// changes, without a copy of the node; a watch that resumes across them gets them as NODE_UPDATED.
final class UntakenRefreshTests: XCTestCase {
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

    private func isUntaken(_ record: HistoryRecord?) -> Bool {
        if case .untakenRefresh = record { return true }
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
        XCTAssertTrue(isUntaken(lastKept(h)), "kept without a copy of the node")

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

    func testARefreshOnlyAWatcherWithAnotherFilterCouldSeeIsNotCopiedButOneForAWatcherIs() {
        var h = harness()
        let a = h.registerAndHeartbeat("a")
        let staleOnly = h.watch(TopologyQuery(states: [.stale]))
        XCTAssertEqual(types(h.take(staleOnly)), [.snapshot])
        h.advance(by: 1_000)
        h.heartbeat(a)
        h.advance(by: 5_000)
        XCTAssertTrue(isUntaken(lastKept(h)))
        XCTAssertEqual(h.take(staleOnly), [])

        let everything = h.watch()
        XCTAssertEqual(types(h.take(everything)), [.snapshot])
        h.heartbeat(a)
        h.advance(by: 5_000)
        guard case .published(let entry)? = lastKept(h) else { return XCTFail("a refresh a watcher takes is published") }
        XCTAssertEqual(entry.update.node?.serviceId, a)
        XCTAssertEqual(types(h.take(everything)), [.nodeUpdated])
        XCTAssertEqual(h.take(staleOnly), [])
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
        XCTAssertTrue(isUntaken(lastKept(h)))
        _ = h.topology.unregister(UnregisterServiceRequest(serviceId: a), now: h.now)
        let updates = h.take(h.watch(resumeAfter: seen, epoch: "epoch-1"))
        XCTAssertEqual(types(updates), [.nodeRemoved])
        XCTAssertEqual(updates.first?.revision, seen + 2)
        XCTAssertNil(view.apply(updates))
        XCTAssertEqual(view, WatcherView(h.topology.snapshot(for: TopologyQuery(), now: h.now)))
    }
}
