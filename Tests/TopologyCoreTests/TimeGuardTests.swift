import XCTest
@testable import TopologyCore
import TopologyWire

/// The core's time: the stall guard, the busy guard (liveness waits for the input read through
/// it), a clock that goes backwards, and deadlines that never spin.
final class TimeGuardTests: XCTestCase {
    func testStallGuardForgivesAPause() {
        var h = Harness()
        let ids = (0..<50).map { h.register("s\($0)") }
        for id in ids { h.heartbeat(id) }
        h.advance(by: 4_000)
        for id in ids { h.heartbeat(id) }
        let lastHeartbeat = h.now
        // The process is paused for a minute: the clock jumps far past every deadline.
        h.jump(to: h.now + 60_000)
        XCTAssertEqual(h.topology.serviceCount, 50, "nobody dies for the pause alone")
        XCTAssertTrue(ids.allSatisfy { h.state($0) == .idle }, "not even STALE")
        XCTAssertEqual(h.events.filter { if case .stallDetected = $0 { true } else { false } }, [.stallDetected(jumpMs: 60_000)])
        // Services that heartbeat after the pause live on; the others go STALE and DEAD on the usual
        // schedule with the pause left out: as if their silence started at the pause's end.
        let resumed = h.now
        for id in ids.prefix(25) { h.heartbeat(id) }
        h.advance(to: resumed + 8_000)
        for id in ids.prefix(25) { h.heartbeat(id) }
        h.advance(to: resumed + 10_000)
        XCTAssertTrue(ids.suffix(25).allSatisfy { h.state($0) == .idle })
        h.advance(to: resumed + 10_001)
        XCTAssertTrue(ids.suffix(25).allSatisfy { h.state($0) == .stale })
        XCTAssertTrue(ids.prefix(25).allSatisfy { h.state($0) == .idle })
        h.advance(to: resumed + 15_000)
        XCTAssertEqual(h.topology.serviceCount, 50)
        h.advance(to: resumed + 15_001)
        XCTAssertEqual(h.topology.serviceCount, 25)
        let lateness = h.events.compactMap { if case let .serviceDead(_, _, lateMs) = $0 { lateMs } else { nil } }
        XCTAssertEqual(lateness, Array(repeating: 0, count: 25), "on time, the pause left out")
        XCTAssertEqual(lastHeartbeat + 60_000, resumed)
        XCTAssertEqual(h.topology.forgivenStallTotalMs, 60_000)
    }

    func testStallNoticedByAHeartbeatBeforeTheAdvance() {
        var h = Harness()
        let a = h.registerAndHeartbeat("a")
        let b = h.registerAndHeartbeat("b")
        // The server wakes from a pause and handles input before calling advance.
        h.now += 30_000
        h.heartbeat(a)
        h.advance(by: 0)
        XCTAssertEqual(h.topology.serviceCount, 2, "b's heartbeat may still be in the socket")
        XCTAssertEqual(h.state(b), .idle)
    }

    func testLivenessDeadlinesWaitForTheInputReadThroughThem() {
        var h = Harness()
        let a = h.registerAndHeartbeat("a")
        let b = h.registerAndHeartbeat("b")
        let start = h.now
        // A busy server is at start + 16,000 but has read its sockets only through start + 9,000:
        // a heartbeat of b's sent before its deadline may still be unread, so nothing expires.
        for t in stride(from: start + 1_000, through: start + 16_000, by: 1_000) {
            h.events += h.topology.advance(to: t, inputReadThrough: start + 9_000)
        }
        h.now = start + 16_000
        XCTAssertEqual(h.state(a), .idle)
        XCTAssertEqual(h.state(b), .idle)
        XCTAssertEqual(h.topology.nextLivenessDeadline, start + 10_001, "the STALE deadline stays due, held")
        // The server reads b's heartbeat (stamped when read, late); a had gone silent.
        h.heartbeat(b)
        h.events += h.topology.advance(to: h.now, inputReadThrough: start + 10_001)
        XCTAssertEqual(h.state(a), .stale, "a is STALE once input through its deadline is read")
        XCTAssertEqual(h.state(b), .idle)
        h.events += h.topology.advance(to: h.now, inputReadThrough: h.now)
        XCTAssertNil(h.state(a), "and DEAD once the reading caught up")
        XCTAssertTrue(h.events.contains(.serviceDead(id: a, name: "a", lateMs: 999)), "999 ms after its deadline, start + 15,001")
        XCTAssertEqual(h.state(b), .idle)
        XCTAssertFalse(h.events.contains { if case .stallDetected = $0 { true } else { false } },
                       "advance was called on time: holding is not a stall")
    }

    /// A burst of due refreshes with many watchers is served in slices: a call stops once its
    /// timers have visited `fanOutBudget` watcher slots, the rest stay due, in order, and nothing
    /// is lost or fired early.
    func testFanOutBudgetLeavesTheRestOfTheDueTimersForTheNextCall() {
        var configuration = TopologyConfiguration()
        configuration.nodeUpdateJitterPercent = 0
        configuration.heartbeatIntervalMs = 60_000  // nobody's liveness moves during the test
        configuration.progressIntervalMs = 60_000
        var h = Harness(configuration)
        let ids = (0..<20).map { h.registerAndHeartbeat("svc-\($0)") }
        let watchers = (0..<10).map { _ in h.watch() }
        for watcher in watchers { _ = h.takeAll(watcher) }
        let firstPublish = h.now
        h.advance(by: 1_000)
        for id in ids { h.heartbeat(id) }  // each now owes its watchers one throttled refresh
        h.advance(to: firstPublish + 4_999)
        let due = firstPublish + 5_000
        let revisionBefore = h.topology.revision

        // 10 watcher slots per update published, plus its own cost: a budget of 3 such lets 3
        // refreshes out per call.
        let perUpdate = 10 + Topology.publishCost
        h.events += h.topology.advance(to: due, fanOutBudget: 3 * perUpdate)
        XCTAssertEqual(h.topology.revision - revisionBefore, 3)
        XCTAssertEqual(h.topology.nextDeadline, due, "the rest stays due")
        h.events += h.topology.advance(to: due, fanOutBudget: 0)
        XCTAssertEqual(h.topology.revision - revisionBefore, 3, "a spent budget fires nothing")
        h.events += h.topology.advance(to: due + 1, fanOutBudget: 3 * perUpdate)
        XCTAssertEqual(h.topology.revision - revisionBefore, 6)
        h.events += h.topology.advance(to: due + 2)
        XCTAssertEqual(h.topology.revision - revisionBefore, 20, "every service refreshed once")
        XCTAssertGreaterThan(h.topology.nextDeadline ?? .max, due + 2, "nothing left due")

        for watcher in watchers {
            let updates = h.takeAll(watcher)
            XCTAssertEqual(types(updates), Array(repeating: .nodeUpdated, count: 20))
            XCTAssertEqual(Set(updates.map { $0.node!.serviceId }), Set(ids))
            XCTAssertEqual(updates.map(\.revision), Array((revisionBefore + 1)...(revisionBefore + 20)))
        }
        XCTAssertFalse(h.events.contains { if case .stallDetected = $0 { true } else { false } },
                       "deferred timers called back at once are not a stall")
    }

    /// Timers that only reschedule (a service heartbeated since its deadline was set) count against
    /// the budget too: liveness held while input was read late, then released, is a backlog of
    /// them, and at a million services it was a 508 ms call when they were free.
    func testTimersThatOnlyRescheduleCountAgainstTheBudget() {
        var h = Harness()
        let ids = (0..<100).map { h.registerAndHeartbeat("svc-\($0)") }
        let start = h.now
        // The server reads its input late: no liveness deadline fires past start + 1,000.
        for t in stride(from: start + 1_000, through: start + 12_000, by: 1_000) {
            h.events += h.topology.advance(to: t, inputReadThrough: start + 1_000)
        }
        h.now = start + 12_000
        for id in ids { h.heartbeat(id) }  // read at last: everyone is alive
        let due = h.topology.nextLivenessDeadline!
        XCTAssertLessThanOrEqual(due, h.now, "their old deadlines are due, held until now")

        let workBefore = h.topology.fanOutWork
        h.events += h.topology.advance(to: h.now, inputReadThrough: h.now, fanOutBudget: 10)
        XCTAssertEqual(h.topology.fanOutWork - workBefore, 10 * Topology.timerCost, "ten timers fired")
        XCTAssertLessThanOrEqual(h.topology.nextLivenessDeadline!, h.now, "the rest stay due")
        var calls = 1
        while let next = h.topology.nextLivenessDeadline, next <= h.now, calls < 100 {
            h.events += h.topology.advance(to: h.now, inputReadThrough: h.now, fanOutBudget: 10)
            calls += 1
        }
        XCTAssertEqual(calls, 10, "100 reschedules, 10 a call")
        XCTAssertTrue(ids.allSatisfy { h.state($0) == .idle }, "and nobody went STALE")
        XCTAssertGreaterThan(h.topology.nextLivenessDeadline!, h.now + 5_000)
    }

    /// Moving an index that outgrew itself is work within the budget too: a turn calls `advance`
    /// between thousands of sockets, and a move at each call was a whole index moved in one turn.
    func testMovingTheIndexCountsAgainstTheBudget() {
        var h = Harness()
        var registered = 0
        while !h.topology.resolutionIndex.isMoving, registered < 100_000 {
            h.register("svc-\(registered)")
            registered += 1
        }
        XCTAssertTrue(h.topology.resolutionIndex.isMoving, "the index outgrew itself at \(registered) services")
        let work = h.topology.fanOutWork
        let keys = h.topology.resolutionIndex.count
        h.events += h.topology.advance(to: h.now, fanOutBudget: 0)
        XCTAssertEqual(h.topology.fanOutWork, work, "a spent budget moves nothing")
        h.events += h.topology.advance(to: h.now, fanOutBudget: 1)
        XCTAssertEqual(h.topology.fanOutWork - work, Topology.indexMovePerAdvance)
        var calls = 1
        while h.topology.resolutionIndex.isMoving, calls < 1_000 {
            h.events += h.topology.advance(to: h.now, fanOutBudget: 1)
            calls += 1
        }
        XCTAssertFalse(h.topology.resolutionIndex.isMoving)
        XCTAssertGreaterThan(calls, 2, "moved over several calls")
        XCTAssertEqual(h.topology.resolutionIndex.count, keys, "every key moved")
    }

    func testJumpWithinOneIntervalIsNotAStall() {
        var h = Harness()
        let id = h.registerAndHeartbeat("a")
        h.advance(by: 10_001 + 5_000 - 1)  // via the deadlines: STALE at +10,001
        XCTAssertEqual(h.state(id), .stale)
        // Jump straight past DEAD by less than one interval beyond the next deadline.
        var h2 = Harness()
        let id2 = h2.register("a")
        h2.heartbeat(id2)
        h2.jump(to: t0 + 10_001 + 5_000)  // 5,000 late for the STALE deadline: not more than one interval
        XCTAssertNil(h2.state(id2))
        XCTAssertFalse(h2.events.contains { if case .stallDetected = $0 { true } else { false } })
    }

    func testClockGoingBackwardsIsClamped() {
        var h = Harness()
        let id = h.registerAndHeartbeat("a")
        _ = h.topology.advance(to: t0 - 50_000)
        XCTAssertEqual(h.state(id), .idle)
        _ = try! h.topology.heartbeat(HeartbeatRequest(serviceId: id), now: t0 - 1_000)
        XCTAssertEqual(h.topology.node(id: id)!.lastHeartbeatMs, t0)
    }

    func testAdvanceWhenNothingIsDueDoesNothing() {
        var h = Harness()
        h.registerAndHeartbeat("a")
        let revision = h.topology.currentRevision
        let deadline = h.topology.nextDeadline!
        for time in stride(from: h.now, to: deadline, by: 997) {
            XCTAssertEqual(h.topology.advance(to: time), [])
        }
        XCTAssertEqual(h.topology.currentRevision, revision)
        XCTAssertEqual(h.topology.nextDeadline, deadline)
    }

    func testDegenerateConfigurationCannotSpinTheTimers() {
        var configuration = TopologyConfiguration()
        configuration.heartbeatIntervalMs = 0
        configuration.timeoutMultiplier = 0
        configuration.activityFlushMs = 0
        configuration.progressIntervalMs = 0
        configuration.rpsWindowMs = 0
        configuration.idleTimeoutMs = 0
        configuration.nodeUpdateThrottleMs = -5
        configuration.watchBufferLimit = 0
        var h = Harness(configuration)
        XCTAssertEqual(h.topology.configuration.activityFlushMs, 1)
        XCTAssertEqual(h.topology.configuration.watchBufferLimit, 1)
        let watcher = h.watch()
        let id = h.registerAndHeartbeat("a")
        h.activity(id, to: "b")
        for _ in 0..<100 {
            h.advance(by: 1)
            h.heartbeat(id)
            _ = h.take(watcher)
        }
        XCTAssertEqual(h.state(id), .idle, "ACTIVE lasts 0 ms with idle timeout 0")
        h.advance(by: 0)  // the last heartbeat's refresh: its timer is due at once with a throttle of 0
        let deadline = h.topology.nextDeadline!
        XCTAssertGreaterThan(deadline, h.now, "nothing left due now")
    }

    func testNextDeadlineIsNilWhenIdle() {
        let topology = Topology(configuration: TopologyConfiguration(), serverEpoch: "e", now: t0)
        XCTAssertNil(topology.nextDeadline)
        XCTAssertEqual(topology.serverEpoch, "e")
        XCTAssertEqual(topology.configuration, TopologyConfiguration())
    }

    /// The server's fast path hands the core a parsed id and a hint of where the service was: the
    /// outcome (response or error, state, events, every watch update) must be that of the same
    /// heartbeat by request, whatever the hint.
}
