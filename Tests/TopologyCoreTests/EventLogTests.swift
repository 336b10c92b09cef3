import XCTest
@testable import TopologyCore
import TopologyWire

final class EventLogTests: XCTestCase {
    private func kinds(_ harness: Harness, of id: String? = nil) -> [ServiceEvent.Kind] {
        harness.topology.eventLog.page(afterRevision: 0, limit: .max).events.filter { id == nil || $0.serviceId == id }.map(\.kind)
    }

    func testAServiceLifeFromRegistrationToRemovalAfterDeath() {
        var h = Harness()
        let id = h.register("checkout")
        XCTAssertEqual(h.topology.eventLog.page(afterRevision: 0, limit: 10).events.last?.revision, h.topology.currentRevision)
        h.heartbeat(id, health: .healthy)
        h.heartbeat(id, health: .unhealthy)
        h.activity(id, to: "payments")
        h.advance(by: h.topology.configuration.deadTimeoutMs + 1)
        XCTAssertNil(h.state(id))
        XCTAssertEqual(kinds(h, of: id), [
            .registered,
            .state(from: .registered, to: .idle), .health(from: .unknown, to: .healthy),
            .health(from: .healthy, to: .unhealthy),
            .state(from: .idle, to: .active),
            .edgeAdded(target: "payments"),
            .state(from: .active, to: .stale),
            .state(from: .stale, to: .dead), .removed, .edgeRemoved(target: "payments"),
        ])
        let events = h.topology.eventLog.page(afterRevision: 0, limit: .max).events
        XCTAssertEqual(events.map(\.sequence), Array(1 ... UInt64(events.count)))
        XCTAssertEqual(events.last?.revision, h.topology.currentRevision)
        XCTAssertTrue(zip(events, events.dropFirst()).allSatisfy { $0.revision <= $1.revision && $0.timeMs <= $1.timeMs })
        XCTAssertTrue(events.allSatisfy { $0.serviceName == "checkout" })
    }

    func testTheDeadEventCarriesTheRevisionOfTheUpdateThatSaysDead() {
        var h = Harness()
        let id = h.registerAndHeartbeat("orders")
        let watcher = h.watch()
        _ = h.topology.takeUpdates(for: watcher, max: 100)
        h.advance(by: h.topology.configuration.deadTimeoutMs + 1)
        let updates = h.topology.takeUpdates(for: watcher, max: 100)
        let deadUpdate = updates.first { $0.type == .nodeUpdated && $0.node?.state == .dead }
        let deadEvent = h.topology.eventLog.page(afterRevision: 0, limit: .max).events.first { $0.kind == .state(from: .stale, to: .dead) }
        XCTAssertNotNil(deadUpdate)
        XCTAssertEqual(deadEvent?.revision, deadUpdate?.revision)
        XCTAssertEqual(deadEvent?.serviceId, id)
    }

    func testRecoveryFromStaleAndUnregistration() {
        var h = Harness()
        let id = h.registerAndHeartbeat("cart")
        h.advance(by: h.topology.configuration.staleTimeoutMs + 1)
        h.heartbeat(id)
        _ = h.topology.unregister(UnregisterServiceRequest(serviceId: id), now: h.now)
        XCTAssertEqual(kinds(h, of: id).suffix(3), [.state(from: .idle, to: .stale), .state(from: .stale, to: .idle), .unregistered])
    }

    func testAnEdgeFailsAtTheThresholdAndRecoversUnderIt() {
        var configuration = TopologyConfiguration()
        configuration.edgeFailingErrorPercent = 50
        configuration.rpsWindowMs = 1_000
        var h = Harness(configuration)
        let id = h.registerAndHeartbeat("api")
        h.activity(id, to: "db", success: true)
        h.activity(id, to: "db", success: false)  // 1 of 2 = 50 %: at the threshold
        h.advance(by: 1_000)
        h.heartbeat(id)
        h.activity(id, to: "db", success: true)  // the window now holds 0 of 1
        h.advance(by: 1_000)
        let edgeEvents = kinds(h, of: id).filter { $0.target != nil }
        XCTAssertEqual(edgeEvents, [.edgeAdded(target: "db"), .edgeFailing(target: "db", errorRate: 0.5), .edgeRecovered(target: "db", errorRate: 0)])
    }

    func testAnEdgeUnderTheThresholdNeverFails() {
        var configuration = TopologyConfiguration()
        configuration.edgeFailingErrorPercent = 50
        var h = Harness(configuration)
        let id = h.registerAndHeartbeat("api")
        h.activity(id, to: "db", batch: 3, errorCount: 1)  // 33 %
        h.advance(by: 1_000)
        XCTAssertEqual(kinds(h, of: id).filter { $0.target != nil }, [.edgeAdded(target: "db")])
    }

    func testTheLogIsBoundedAndCountsWhatItEvicts() {
        var configuration = TopologyConfiguration()
        configuration.eventLimit = 3
        var h = Harness(configuration)
        for name in ["a", "b", "c", "d", "e"] { h.register(name) }
        let log = h.topology.eventLog
        XCTAssertEqual(log.count, 3)
        XCTAssertEqual(log.evicted, 2)
        XCTAssertEqual(log.lastSequence, 5)
        let page = log.page(afterRevision: 0, limit: 10)
        XCTAssertEqual(page.events.map(\.serviceName), ["c", "d", "e"])
        XCTAssertTrue(page.missed, "events after revision 0 were evicted")
        XCTAssertFalse(log.page(afterRevision: page.events[0].revision - 1, limit: 10).missed)
        XCTAssertEqual(log.events(afterSequence: 3).map(\.sequence), [4, 5])
        XCTAssertEqual(log.events(afterSequence: 0).map(\.sequence), [3, 4, 5])
        XCTAssertEqual(log.events(afterSequence: 5), [])
    }

    func testALimitOfZeroKeepsNothingButCountsEverything() {
        var configuration = TopologyConfiguration()
        configuration.eventLimit = 0
        var h = Harness(configuration)
        h.register("a")
        XCTAssertEqual(h.topology.eventLog.count, 0)
        XCTAssertEqual(h.topology.eventLog.evicted, 1)
    }

    func testAPageEndsAfterAWholeRevision() {
        var h = Harness()
        let id = h.register("svc")
        // One heartbeat publishes one update: REGISTERED -> IDLE and the health change share its revision.
        h.heartbeat(id, health: .healthy)
        h.heartbeat(id, health: .degraded)
        let all = h.topology.eventLog.page(afterRevision: 0, limit: .max)
        XCTAssertEqual(all.events.count, 4)
        XCTAssertEqual(all.events[1].revision, all.events[2].revision)
        let first = h.topology.eventLog.page(afterRevision: 0, limit: 2)
        XCTAssertEqual(first.events.count, 1, "the second revision has two events: they do not fit in the rest of 2")
        XCTAssertTrue(first.more)
        let second = h.topology.eventLog.page(afterRevision: first.events[0].revision, limit: 1)
        XCTAssertEqual(second.events.count, 2, "a revision larger than the limit is read whole")
        XCTAssertTrue(second.more)
        let last = h.topology.eventLog.page(afterRevision: second.events[1].revision, limit: 1)
        XCTAssertEqual(last.events.map(\.kind), [.health(from: .healthy, to: .degraded)])
        XCTAssertFalse(last.more)
        XCTAssertFalse(last.missed)
    }

    func testTheRingKeepsOrderAcrossManyWrapArounds() {
        var configuration = TopologyConfiguration()
        configuration.eventLimit = 7
        var h = Harness(configuration)
        for index in 0 ..< 50 { h.register("s\(index)") }
        let page = h.topology.eventLog.page(afterRevision: 0, limit: .max)
        XCTAssertEqual(page.events.map(\.serviceName), (43 ..< 50).map { "s\($0)" })
        XCTAssertEqual(h.topology.eventLog.page(afterRevision: page.events[3].revision, limit: .max).events.map(\.serviceName),
                       ["s47", "s48", "s49"])
    }

    /// The ring against a plain array of everything appended: random revisions (some shared by
    /// several events), limits and read points.
    func testReadsMatchAModelOfEverythingAppended() {
        var random = SplitMix64(seed: 17)
        for limit in [1, 2, 5, 16] {
            var log = ServiceEventLog(limit: limit)
            var all: [ServiceEvent] = []
            var revision: UInt64 = 0
            for step in 0 ..< 200 {
                if random.next() % 3 != 0 { revision += 1 + random.next() % 3 }
                log.append(revision: revision, timeMs: Int64(step), kind: .registered, serviceId: "id", serviceName: "s\(step)")
                all.append(ServiceEvent(sequence: UInt64(step + 1), revision: revision, timeMs: Int64(step), kind: .registered,
                                        serviceId: "id", serviceName: "s\(step)"))
                let kept = Array(all.suffix(limit))
                let since = random.next() % (revision + 2)
                let pageLimit = Int(1 + random.next() % 4)
                let page = log.page(afterRevision: since, limit: pageLimit)
                let after = kept.filter { $0.revision > since }
                XCTAssertEqual(page.events, Array(after.prefix(page.events.count)), "a prefix of what is kept after \(since)")
                if let last = page.events.last {
                    XCTAssertFalse(after.dropFirst(page.events.count).first?.revision == last.revision, "whole revisions only")
                    XCTAssertTrue(page.events.count <= pageLimit || Set(page.events.map(\.revision)).count == 1)
                }
                XCTAssertEqual(page.more, page.events.count < after.count)
                XCTAssertEqual(page.missed, all.dropLast(kept.count).contains { $0.revision > since })
                let sequence = random.next() % UInt64(all.count + 1)
                XCTAssertEqual(log.events(afterSequence: sequence), kept.filter { $0.sequence > sequence })
            }
            XCTAssertEqual(log.evicted, UInt64(200 - limit))
        }
    }
}
