@testable import TopologyCore
import TopologyWire
import Dispatch
import XCTest

/// A snapshot taken unbuilt (`SnapshotSource`, `UnbuiltSnapshot`) is the topology at the moment it
/// was taken, whatever the core does while another thread builds it; and the fields heartbeats
/// write, kept apart from the node records (`NodeBeat`), are in every view of a node.
final class SnapshotSourceTests: XCTestCase {
    /// Nodes across three chunks, changed in every way while the source is built on another thread:
    /// heartbeats (time, metrics, health), activity, removals, registrations into freed and new slots.
    func testASourceBuiltOnAnotherThreadShowsTheTopologyWhenItWasTaken() throws {
        var configuration = TopologyConfiguration()
        configuration.maxServices = 5_000
        var topology = Topology(configuration: configuration, serverEpoch: "e", now: 1_000)
        var ids: [String] = []
        for i in 0..<2_500 {
            ids.append(try topology.register(RegisterServiceRequest(serviceName: "s\(i)"), now: 1_000).handle!.serviceId)
        }
        for id in ids { _ = try topology.heartbeat(HeartbeatRequest(serviceId: id), now: 1_010) }
        let query = TopologyQuery(includeIdle: true)
        let expected = topology.snapshot(for: query, now: 1_020)
        XCTAssertEqual(Set(expected.nodes.map(\.lastHeartbeatMs)), [1_010])
        let source = topology.snapshotSource(for: query, now: 1_020)
        let built = DispatchGroup()
        let result = Built()
        DispatchQueue.global().async(group: built) { result.snapshot = source.build() }
        for (i, id) in ids.enumerated() where i % 3 == 0 {
            _ = try topology.heartbeat(HeartbeatRequest(serviceId: id, metrics: ServiceMetrics(cpuPercent: 9, memoryBytes: 9),
                                                        health: ApplicationHealth(state: .degraded)), now: 1_100)
        }
        _ = try topology.reportActivity(ReportActivityRequest(serviceId: ids[1], targetService: "x", latencyMs: 3), now: 1_100)
        for id in ids.prefix(100) { _ = topology.unregister(UnregisterServiceRequest(serviceId: id), now: 1_100) }
        for i in 0..<500 { _ = try topology.register(RegisterServiceRequest(serviceName: "t\(i)"), now: 1_100) }
        XCTAssertEqual(built.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(result.snapshot, expected)
        XCTAssertEqual(topology.snapshot(for: query, now: 1_100).nodes.count, 2_900)
    }

    /// What a heartbeat and an activity report write is in the snapshot, the node lookup and the
    /// update a watcher gets; a slot freed and taken again starts with none of it.
    func testTheBeatFieldsAreInEveryViewOfTheNode() {
        var configuration = TopologyConfiguration()
        configuration.nodeUpdateJitterPercent = 0
        var h = Harness(configuration)
        let a = h.registerAndHeartbeat("a")
        let watcher = h.watch()
        _ = h.take(watcher)
        h.advance(by: 10_000)
        h.heartbeat(a, metrics: ServiceMetrics(cpuPercent: 12.5, memoryBytes: 4_096))
        let beatAt = h.now
        h.advance(by: 100)
        let reportedAt = h.activity(a, to: "b", latencyMs: 5)
        let activityAt = h.now
        XCTAssertGreaterThan(reportedAt, 0)
        for node in [h.topology.node(id: a), h.topology.snapshot(for: TopologyQuery(includeIdle: true), now: h.now).nodes.first] {
            XCTAssertEqual(node?.lastHeartbeatMs, beatAt)
            XCTAssertEqual(node?.lastActivityMs, activityAt)
            XCTAssertEqual(node?.metrics, ServiceMetrics(cpuPercent: 12.5, memoryBytes: 4_096))
        }
        h.advance(by: 10_000)  // the throttled refresh of the heartbeat goes out
        let updated = h.takeAll(watcher).filter { $0.type == .nodeUpdated }.last?.node
        XCTAssertEqual(updated?.lastHeartbeatMs, beatAt)
        XCTAssertEqual(updated?.metrics?.memoryBytes, 4_096)

        _ = h.topology.unregister(UnregisterServiceRequest(serviceId: a), now: h.now)
        let b = h.register("b")  // the freed slot
        XCTAssertEqual(h.topology.node(id: b)?.lastHeartbeatMs, 0)
        XCTAssertNil(h.topology.node(id: b)?.metrics)
        XCTAssertEqual(h.topology.node(id: b)?.lastActivityMs, 0)
    }

    /// A watcher's SNAPSHOT taken unbuilt is the one `takeUpdates` would have built, and the
    /// watcher's next updates are the ones published after it.
    func testAWatchersUnbuiltSnapshotIsTheOneItWouldTakeAndUpdatesFollowIt() {
        var h = Harness()
        for i in 0..<5 { h.registerAndHeartbeat("s\(i)") }
        let query = TopologyQuery(serviceNames: ["s1", "s2"], includeIdle: true)
        let built = h.watch(query)
        let unbuilt = h.watch(query)
        let expected = h.take(built)
        XCTAssertEqual(types(expected), [.snapshot])
        let pending = h.topology.takePendingSnapshot(for: unbuilt)
        XCTAssertNotNil(pending)
        XCTAssertNil(h.topology.takePendingSnapshot(for: unbuilt), "taken once")
        h.register("s2-b")
        h.heartbeat(h.register("s1"))
        XCTAssertEqual(pending?.update(), expected.first, "built after the core moved on, it is the topology of its revision")
        XCTAssertEqual(pending?.resync, false)
        XCTAssertEqual(h.take(unbuilt), h.take(built), "the same updates follow")
    }
}

/// Written by the building thread, read after `DispatchGroup.wait` (which orders the two).
private final class Built: @unchecked Sendable {
    var snapshot: TopologySnapshot?
}
