import XCTest
@testable import TopologyCore
import TopologyWire

/// Every transition of docs/state-machine.md at its boundary: 1 ms before, at, and after.
final class StateMachineTests: XCTestCase {
    // Defaults: interval 5,000, multiplier 3, idle 30,000. STALE when silence > 10,000; DEAD when
    // silence > 15,000; IDLE when no activity for >= 30,000.

    func testRegisterCreatesRegisteredNodeWithUUIDv4() {
        var h = Harness()
        let watcher = h.watch()
        _ = h.take(watcher)
        let response = try! h.topology.register(
            RegisterServiceRequest(serviceName: "orders", serviceType: .server, language: .go, address: "10.0.0.1:80"), now: h.now)
        let handle = response.handle!
        XCTAssertEqual(handle.heartbeatIntervalMs, 5_000)
        XCTAssertEqual(handle.timeoutMultiplier, 3)
        XCTAssertEqual(handle.activityFlushMs, 1_000)
        XCTAssertEqual(handle.serverEpoch, "epoch-1")
        let id = handle.serviceId
        XCTAssertEqual(id.count, 36)
        let characters = Array(id)
        XCTAssertEqual(characters[14], "4", "version 4")
        XCTAssertTrue("89ab".contains(characters[19]), "variant 10")
        XCTAssertEqual(id, id.lowercased())
        let node = h.topology.node(id: id)!
        XCTAssertEqual(node.state, .registered)
        XCTAssertEqual(node.health, .unknown)
        XCTAssertEqual(node.registeredMs, h.now)
        XCTAssertEqual(node.serviceName, "orders")
        XCTAssertEqual(node.language, .go)
        let updates = h.take(watcher)
        XCTAssertEqual(types(updates), [.nodeAdded])
        XCTAssertEqual(updates[0].node, node)
        XCTAssertEqual(h.topology.serviceCount, 1)
    }

    func testIdsAreDistinctAndDeterministicWithASeededGenerator() {
        var a = Harness(seed: 9)
        var b = Harness(seed: 9)
        let idsA = (0..<100).map { a.register("s\($0)") }
        let idsB = (0..<100).map { b.register("s\($0)") }
        XCTAssertEqual(idsA, idsB)
        XCTAssertEqual(Set(idsA).count, 100)
    }

    func testRegistrationValidation() {
        var h = Harness()
        func error(_ request: RegisterServiceRequest) -> TopologyError? {
            do { _ = try h.topology.register(request, now: h.now); return nil } catch { return error }
        }
        guard case .invalidArgument(field: "service_name", _)? = error(RegisterServiceRequest(serviceName: "")) else {
            return XCTFail("empty name accepted")
        }
        // A name of whitespace alone is as good as empty: refused the same way, saying so.
        for blank in [" ", "   ", "\t \n", "\u{A0}\u{3000}\u{2028}"] {
            XCTAssertEqual(error(RegisterServiceRequest(serviceName: blank)),
                           .invalidArgument(field: "service_name", reason: "must not be only whitespace"), blank.debugDescription)
        }
        XCTAssertNil(error(RegisterServiceRequest(serviceName: " a ")), "a name with a visible character is a name")
        XCTAssertNil(error(RegisterServiceRequest(serviceName: String(repeating: "n", count: 256))))
        guard case .invalidArgument(field: "service_name", _)? = error(RegisterServiceRequest(serviceName: String(repeating: "n", count: 257))) else {
            return XCTFail("257-byte name accepted")
        }
        // Bytes, not characters: 128 two-byte characters are 256 bytes, 129 are 258.
        XCTAssertNil(error(RegisterServiceRequest(serviceName: String(repeating: "é", count: 128))))
        XCTAssertNotNil(error(RegisterServiceRequest(serviceName: String(repeating: "é", count: 129))))
        let long = String(repeating: "x", count: 1_025)
        guard case .invalidArgument(field: "address", _)? = error(RegisterServiceRequest(serviceName: "a", address: long)) else {
            return XCTFail("long address accepted")
        }
        guard case .invalidArgument(field: "metadata.team", _)? = error(
            RegisterServiceRequest(serviceName: "a", metadata: ServiceMetadata(team: long)))
        else { return XCTFail("long team accepted") }
        guard case .invalidArgument(field: "service_id", _)? = error(RegisterServiceRequest(serviceName: "a", serviceId: "not-a-uuid")) else {
            return XCTFail("bad id accepted")
        }
        let status = TopologyError.invalidArgument(field: "service_name", reason: "must not be empty").status
        XCTAssertEqual(status.statusCode, .invalidArgument)
        XCTAssertTrue(status.message.contains("service_name"))
        XCTAssertEqual(h.topology.serviceCount, 3, "only the three valid registrations")
    }

    func testMaxServices() {
        var configuration = TopologyConfiguration()
        configuration.maxServices = 2
        var h = Harness(configuration)
        h.register("a")
        h.register("b")
        XCTAssertThrowsError(try h.topology.register(RegisterServiceRequest(serviceName: "c"), now: h.now)) { error in
            XCTAssertEqual(error as? TopologyError, .resourceExhausted(limit: "maxServices", value: 2))
            XCTAssertEqual((error as! TopologyError).status.statusCode, .resourceExhausted)
            XCTAssertTrue((error as! TopologyError).status.message.contains("maxServices = 2"))
        }
    }

    func testFirstHeartbeatMakesIdle() {
        var h = Harness()
        let id = h.register("a")
        h.advance(by: 100)
        let response = h.heartbeat(id)
        XCTAssertEqual(response, HeartbeatResponse(sequence: 1, acknowledged: true, serverEpoch: "epoch-1"))
        XCTAssertEqual(h.state(id), .idle)
        XCTAssertEqual(h.topology.node(id: id)!.lastHeartbeatMs, h.now)
    }

    func testStaleFromRegistrationWithoutHeartbeat() {
        var h = Harness()
        let id = h.register("a")
        XCTAssertEqual(h.topology.nextDeadline, t0 + 10_001)
        h.advance(to: t0 + 9_999)
        XCTAssertEqual(h.state(id), .registered)
        h.advance(to: t0 + 10_000)
        XCTAssertEqual(h.state(id), .registered, "silence of exactly 2 x interval is not yet STALE")
        h.advance(to: t0 + 10_001)
        XCTAssertEqual(h.state(id), .stale)
        XCTAssertEqual(h.events, [.serviceStale(id: id, name: "a")])
    }

    func testStaleBoundaryFromLastHeartbeat() {
        for state in [ServiceState.idle, .active] {
            var h = Harness()
            let id = h.register("a")
            h.advance(by: 3_000)
            h.heartbeat(id)
            if state == .active { h.activity(id, to: "b") }
            let last = h.now
            h.advance(to: last + 9_999)
            XCTAssertEqual(h.state(id), state)
            h.advance(to: last + 10_000)
            XCTAssertEqual(h.state(id), state)
            h.advance(to: last + 10_001)
            XCTAssertEqual(h.state(id), .stale, "from \(state)")
            h.advance(to: last + 10_002)
            XCTAssertEqual(h.state(id), .stale)
        }
    }

    func testDeadBoundaryAndRemovalOrder() {
        var h = Harness()
        let a = h.registerAndHeartbeat("a")
        let b = h.registerAndHeartbeat("b")
        h.activity(a, to: "b")     // a -> b, resolved to b
        h.activity(b, to: "a")     // b -> a, resolved to a
        h.activity(b, to: "elsewhere")
        h.advance(by: 1_000)       // flush publishes the edges
        XCTAssertEqual(h.topology.edgeCount, 3)
        let watcher = h.watch()
        _ = h.take(watcher)
        // Keep b alive; let a go silent from its heartbeat at t0.
        for time in stride(from: t0 + 4_000, through: t0 + 12_000, by: 4_000) {
            h.advance(to: time)
            h.heartbeat(b)
        }
        _ = h.take(watcher)
        h.advance(to: t0 + 14_999)
        h.advance(to: t0 + 15_000)
        XCTAssertEqual(h.state(a), .stale, "silence of exactly interval x multiplier is not yet DEAD")
        XCTAssertTrue(h.take(watcher).allSatisfy {
            $0.type == .progress || $0.type == .edgeUpdated || $0.type == .nodeUpdated && ($0.node!.serviceId == b || $0.node!.state == .stale)
        })
        h.advance(to: t0 + 15_001)
        XCTAssertNil(h.state(a))
        XCTAssertNil(h.topology.node(id: a))
        XCTAssertTrue(h.events.contains(.serviceDead(id: a, name: "a", lateMs: 0)), "declared at its deadline")
        let updates = h.take(watcher)
        XCTAssertEqual(types(updates), [.nodeUpdated, .nodeRemoved, .edgeRemoved, .edgeRemoved])
        XCTAssertEqual(updates[0].node!.state, .dead)
        XCTAssertEqual(updates[1].node!.serviceId, a)
        XCTAssertEqual(updates[2].edge!.sourceServiceId, a, "edges from it first")
        XCTAssertEqual(updates[3].edge!.sourceServiceId, b, "then edges resolved to it")
        XCTAssertEqual(updates[3].edge!.targetService, "a")
        XCTAssertEqual(h.topology.edgeCount, 1, "b -> elsewhere stays")
        XCTAssertThrowsError(try h.topology.heartbeat(HeartbeatRequest(serviceId: a), now: h.now)) { error in
            XCTAssertEqual(error as? TopologyError, .notFound(serviceId: a))
            XCTAssertEqual((error as! TopologyError).status.statusCode, .notFound)
        }
    }

    func testActivityMakesActiveAtOnceAndIdleAfterIdleTimeout() {
        var h = Harness()
        let id = h.registerAndHeartbeat("a")
        let watcher = h.watch()
        _ = h.take(watcher)
        h.advance(by: 500)
        h.activity(id, to: "b")
        let activityTime = h.now
        XCTAssertEqual(h.state(id), .active)
        XCTAssertEqual(types(h.take(watcher)), [.nodeUpdated], "at once, not at the flush")
        // Keep heartbeating so only the idle timeout matters.
        func heartbeatUntil(_ time: Int64) {
            while h.now + 4_000 < time {
                h.advance(by: 4_000)
                h.heartbeat(id)
            }
            h.advance(to: time)
        }
        heartbeatUntil(activityTime + 29_999)
        XCTAssertEqual(h.state(id), .active)
        h.advance(to: activityTime + 30_000)
        XCTAssertEqual(h.state(id), .idle, "no activity for the idle timeout")
        h.heartbeat(id)
        h.advance(to: activityTime + 30_001)
        XCTAssertEqual(h.state(id), .idle)
    }

    func testActivityBeforeFirstHeartbeatMakesActive() {
        var h = Harness()
        let id = h.register("a")
        h.activity(id, to: "b")
        XCTAssertEqual(h.state(id), .active)
        h.heartbeat(id)
        XCTAssertEqual(h.state(id), .active, "first heartbeat of an ACTIVE node keeps it ACTIVE")
    }

    func testActivityWhileStaleKeepsStaleButCountsForRecovery() {
        var h = Harness()
        let id = h.registerAndHeartbeat("a")
        h.advance(by: 10_001)
        XCTAssertEqual(h.state(id), .stale)
        h.activity(id, to: "b")
        XCTAssertEqual(h.state(id), .stale)
        h.advance(by: 100)
        h.heartbeat(id)
        XCTAssertEqual(h.state(id), .active)
    }

    func testHeartbeatWhileStaleRecovers() {
        // Last activity within the idle timeout -> ACTIVE; at or beyond it -> IDLE.
        for (gap, expected) in [(Int64(29_999), ServiceState.active), (30_000, .idle), (30_001, .idle)] {
            var configuration = TopologyConfiguration()
            configuration.idleTimeoutMs = 30_000
            configuration.heartbeatIntervalMs = 5_000
            configuration.timeoutMultiplier = 10  // DEAD after 50 s, so STALE lasts long enough
            var h = Harness(configuration)
            let id = h.registerAndHeartbeat("a")
            h.activity(id, to: "b")
            let activityTime = h.now
            h.advance(to: activityTime + 10_001)
            XCTAssertEqual(h.state(id), .stale)
            h.advance(to: activityTime + gap)
            h.heartbeat(id)
            XCTAssertEqual(h.state(id), expected, "gap \(gap)")
            h.advance(by: 0)  // hands over the events input calls caused
            XCTAssertTrue(h.events.contains(.serviceRecovered(id: id, name: "a")))
        }
    }

    func testNeverActiveStaleRecoversToIdle() {
        var h = Harness()
        let id = h.register("a")
        h.advance(by: 10_001)
        XCTAssertEqual(h.state(id), .stale)
        h.heartbeat(id)
        XCTAssertEqual(h.state(id), .idle)
        // The timers restart from the new heartbeat.
        let last = h.now
        h.advance(to: last + 10_000)
        XCTAssertEqual(h.state(id), .idle)
        h.advance(to: last + 10_001)
        XCTAssertEqual(h.state(id), .stale)
    }

    func testMultiplierBelowTwoGoesStraightToDead() {
        var configuration = TopologyConfiguration()
        configuration.timeoutMultiplier = 2  // DEAD and STALE thresholds coincide: DEAD wins
        var h = Harness(configuration)
        let id = h.registerAndHeartbeat("a")
        h.advance(by: 10_000)
        XCTAssertEqual(h.state(id), .idle)
        h.advance(by: 1)
        XCTAssertNil(h.state(id))
    }

    func testUnregisterRemovesNodeAndEdgesWithoutDead() {
        var h = Harness()
        let a = h.register("a")
        let b = h.register("b")
        h.activity(a, to: "b")
        h.activity(b, to: "a")
        h.advance(by: 1_000)
        let watcher = h.watch()
        _ = h.take(watcher)
        let response = h.topology.unregister(UnregisterServiceRequest(serviceId: a), now: h.now)
        XCTAssertTrue(response.removed)
        let updates = h.take(watcher)
        XCTAssertEqual(types(updates), [.nodeRemoved, .edgeRemoved, .edgeRemoved])
        XCTAssertEqual(updates[0].node!.state, .active, "no DEAD on unregister")
        XCTAssertEqual(h.topology.edgeCount, 0)
        XCTAssertFalse(h.topology.unregister(UnregisterServiceRequest(serviceId: a), now: h.now).removed)
        XCTAssertFalse(h.topology.unregister(UnregisterServiceRequest(serviceId: "garbage"), now: h.now).removed)
        XCTAssertFalse(h.events.contains { if case .serviceDead(id: a, _, _) = $0 { return true } else { return false } })
        // Its timers are gone too: nothing fires for it later.
        h.advance(by: 60_000)
        XCTAssertFalse(h.events.contains { if case .serviceDead(id: a, _, _) = $0 { return true } else { return false } })
    }

    func testUnknownIds() {
        var h = Harness()
        let unknown = "6f1c0a52-3e5b-4d7c-9a8e-0b1c2d3e4f50"
        XCTAssertThrowsError(try h.topology.heartbeat(HeartbeatRequest(serviceId: unknown), now: h.now)) {
            XCTAssertEqual($0 as? TopologyError, .notFound(serviceId: unknown))
        }
        XCTAssertThrowsError(try h.topology.heartbeat(HeartbeatRequest(serviceId: "nonsense"), now: h.now)) {
            XCTAssertEqual($0 as? TopologyError, .notFound(serviceId: "nonsense"))
        }
        XCTAssertThrowsError(try h.topology.reportActivity(ReportActivityRequest(serviceId: unknown, targetService: "x"), now: h.now)) {
            XCTAssertEqual($0 as? TopologyError, .notFound(serviceId: unknown))
        }
        XCTAssertEqual(h.topology.currentRevision, 0, "nothing published")
    }

    func testTheNilUUIDIsNoServiceID() {
        var h = Harness()
        let request = RegisterServiceRequest(serviceName: "a", serviceId: "00000000-0000-0000-0000-000000000000")
        XCTAssertThrowsError(try h.topology.register(request, now: h.now)) { error in
            guard case .invalidArgument(field: "service_id", let reason)? = error as? TopologyError else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue(reason.contains("nil UUID"), reason)
            XCTAssertEqual((error as? TopologyError)?.status.statusCode, .invalidArgument)
        }
        XCTAssertEqual(h.topology.serviceCount, 0)
        // The ids next to it are ids like any other.
        XCTAssertEqual(h.register("a", id: "00000000-0000-0000-0000-000000000001"), "00000000-0000-0000-0000-000000000001")
    }

    /// An id in upper case is the same id (RFC 9562 section 4): registered under its lowercase
    /// text, and accepted in either case by every request that names it, whose refusals name it in
    /// lower case, as the server's heartbeat fast path does.
    func testAnIDInUpperCaseIsTheSameServiceEverywhere() {
        var h = Harness()
        let upper = "6F1C0A52-3E5B-4D7C-9A8E-0B1C2D3E4F50"
        let lower = upper.lowercased()
        XCTAssertEqual(h.register("a", id: upper), lower)
        XCTAssertEqual(h.register("a", id: "6f1C0A52-3e5b-4D7C-9a8e-0B1C2D3E4F50"), lower, "mixed case: the same service")
        XCTAssertEqual(h.topology.serviceCount, 1)
        XCTAssertEqual(h.heartbeat(upper).acknowledged, true)
        XCTAssertEqual(try h.topology.reportActivity(ReportActivityRequest(serviceId: upper, targetService: "b"), now: h.now), 1)
        XCTAssertEqual(h.topology.unregister(UnregisterServiceRequest(serviceId: upper), now: h.now).removed, true)
        XCTAssertThrowsError(try h.topology.heartbeat(HeartbeatRequest(serviceId: upper), now: h.now)) {
            XCTAssertEqual($0 as? TopologyError, .notFound(serviceId: lower))
        }
        XCTAssertThrowsError(try h.topology.reportActivity(ReportActivityRequest(serviceId: upper, targetService: "b"), now: h.now)) {
            XCTAssertEqual($0 as? TopologyError, .notFound(serviceId: lower))
        }
    }

    func testReregistrationWithUnknownIdRecreatesUnderThatId() {
        var h = Harness()
        let old = "6F1C0A52-3E5B-4D7C-9A8E-0B1C2D3E4F50"  // uppercase accepted, stored canonical
        let id = h.register("a", id: old)
        XCTAssertEqual(id, old.lowercased())
        XCTAssertEqual(h.state(id), .registered)
        // After death, the same id comes back.
        h.advance(by: 15_001)
        XCTAssertNil(h.state(id))
        let watcher = h.watch()
        _ = h.take(watcher)
        XCTAssertEqual(h.register("a", id: id), id)
        XCTAssertEqual(types(h.take(watcher)), [.nodeAdded])
        XCTAssertEqual(h.topology.node(id: id)!.registeredMs, h.now)
        // Heartbeats with either case work.
        h.heartbeat(old)
        XCTAssertEqual(h.state(id), .idle)
    }

    func testReregistrationOfLiveIdUpdatesInPlace() {
        var h = Harness()
        let id = h.register("a", address: "10.0.0.1:1")
        h.heartbeat(id)
        h.activity(id, to: "x")
        let registeredAt = h.now
        h.advance(by: 10_001)
        XCTAssertEqual(h.state(id), .stale)
        let watcher = h.watch()
        _ = h.take(watcher)
        XCTAssertEqual(h.register("a2", address: "10.0.0.2:2", id: id), id)
        let updates = h.take(watcher)
        // The name changed, so its edge is re-announced (a watcher filtering on names may gain or
        // lose it).
        XCTAssertEqual(types(updates), [.nodeUpdated, .edgeUpdated])
        let node = h.topology.node(id: id)!
        XCTAssertEqual(node.serviceName, "a2")
        XCTAssertEqual(node.address, "10.0.0.2:2")
        XCTAssertEqual(node.registeredMs, registeredAt, "same node, not re-created")
        XCTAssertEqual(node.state, .active, "a registration proves life: STALE recovers like on a heartbeat")
        XCTAssertEqual(h.topology.serviceCount, 1)
        // Liveness counts from the re-registration.
        let at = h.now
        h.advance(to: at + 10_000)
        XCTAssertEqual(h.state(id), .active)
        h.advance(to: at + 10_001)
        XCTAssertEqual(h.state(id), .stale)
    }

    /// Throttling alone (no jitter: see testRefreshJitter...).
    private var withoutJitter: TopologyConfiguration {
        var configuration = TopologyConfiguration()
        configuration.nodeUpdateJitterPercent = 0
        return configuration
    }

    func testHealthChangeIsImmediateAndRefreshesAreThrottled() {
        var h = Harness(withoutJitter)
        let id = h.registerAndHeartbeat("a")
        let watcher = h.watch()
        _ = h.take(watcher)
        // Heartbeats inside the throttle period: nothing, then one NODE_UPDATED when it ends.
        let firstPublish = h.now  // the REGISTERED -> IDLE update
        h.advance(by: 1_000)
        h.heartbeat(id, metrics: ServiceMetrics(cpuPercent: 12.5, memoryBytes: 1_000))
        h.advance(by: 1_000)
        h.heartbeat(id, metrics: ServiceMetrics(cpuPercent: 20, memoryBytes: 2_000))
        XCTAssertEqual(h.take(watcher), [])
        XCTAssertEqual(h.topology.node(id: id)!.metrics, ServiceMetrics(cpuPercent: 20, memoryBytes: 2_000), "snapshots are current")
        h.advance(to: firstPublish + 4_999)
        XCTAssertEqual(h.take(watcher), [])
        h.advance(to: firstPublish + 5_000)
        var updates = h.take(watcher)
        XCTAssertEqual(types(updates), [.nodeUpdated])
        XCTAssertEqual(updates[0].node!.metrics, ServiceMetrics(cpuPercent: 20, memoryBytes: 2_000))
        XCTAssertEqual(updates[0].node!.lastHeartbeatMs, firstPublish + 2_000)
        // A health change goes out at once, throttle or not.
        h.advance(by: 100)
        h.heartbeat(id, health: .degraded)
        updates = h.take(watcher)
        XCTAssertEqual(types(updates), [.nodeUpdated])
        XCTAssertEqual(updates[0].node!.health, .degraded)
        XCTAssertEqual(updates[0].node!.healthDetail?.state, .degraded)
        // The same health again is a refresh: throttled.
        h.advance(by: 100)
        h.heartbeat(id, health: .degraded)
        XCTAssertEqual(h.take(watcher), [])
        // No more heartbeats: the pending refresh still goes out at the end of the period.
        h.advance(by: 4_900)
        XCTAssertEqual(types(h.take(watcher)), [.nodeUpdated])
        // A refresh after a quiet period goes out at once.
        h.advance(by: 5_000)
        h.heartbeat(id)
        h.advance(by: 1)  // no deadline needed for it
        XCTAssertEqual(types(h.take(watcher)), [.nodeUpdated])
    }

    func testAtMostOneRefreshPerThrottlePeriod() {
        var h = Harness(withoutJitter)
        let id = h.registerAndHeartbeat("a")
        let watcher = h.watch()
        _ = h.take(watcher)
        var count = 0
        for _ in 0..<200 {
            h.advance(by: 100)
            h.heartbeat(id)
            count += h.take(watcher).filter { $0.type != .progress }.count
        }
        // 20 s of heartbeats every 100 ms: one refresh per 5 s.
        XCTAssertEqual(count, 4)
    }

    /// Each node's throttle period is the configured one plus its own jitter (up to 20% by
    /// default, drawn from the seeded generator): a fleet whose refreshes fall due in one instant
    /// (registered together, heartbeating together) spreads them out period after period.
    func testRefreshJitterDealignsAFleetThatStartedTogether() {
        func refreshTimes(jitterPercent: Int, seed: UInt64) -> [[Int64]] {
            var configuration = TopologyConfiguration()
            configuration.nodeUpdateJitterPercent = jitterPercent
            configuration.heartbeatIntervalMs = 1_000
            var h = Harness(configuration, seed: seed)
            let ids = (0..<200).map { h.register("s\($0)") }
            let watcher = h.watch()
            _ = h.take(watcher)
            var perPeriod: [[Int64]] = []
            for _ in 0..<12 {  // 60 s: every node heartbeats every second, all in the same instant
                var times: [Int64] = []
                for _ in 0..<5 {
                    for id in ids { h.heartbeat(id) }
                    for _ in 1...10 {
                        h.advance(by: 100)
                        let refreshes = h.take(watcher).filter { $0.type == .nodeUpdated }.count
                        times += Array(repeating: h.now - t0, count: refreshes)
                    }
                }
                perPeriod.append(times)
            }
            return perPeriod
        }
        // Without jitter, the 200 refreshes of each period fall due in one 100 ms step, forever.
        let aligned = refreshTimes(jitterPercent: 0, seed: 3)
        for times in aligned.dropFirst(2) {
            XCTAssertEqual(times.count, 200)
            XCTAssertEqual(Set(times).count, 1, "all in one step")
        }
        // With it, after a few periods no 100 ms step carries more than a small share of them.
        let jittered = refreshTimes(jitterPercent: 20, seed: 3)
        for times in jittered.suffix(4) {
            let busiest = Dictionary(grouping: times, by: { $0 }).values.map(\.count).max() ?? 0
            XCTAssertLessThan(busiest, 40, "refreshes still bunched: \(busiest) of \(times.count) in one step")
            XCTAssertGreaterThan(times.count, 150, "a refresh per node and period, about")
        }
        // The same seed gives the same periods: the jitter comes from the injected generator.
        XCTAssertEqual(refreshTimes(jitterPercent: 20, seed: 3), jittered)
        // And never a refresh sooner than the throttle period after the node's last one.
        var configuration = TopologyConfiguration()
        configuration.heartbeatIntervalMs = 1_000
        var h = Harness(configuration, seed: 4)
        let id = h.register("a")
        let watcher = h.watch()
        _ = h.take(watcher)
        var last: Int64?
        for _ in 0..<600 {
            h.advance(by: 100)
            h.heartbeat(id)
            if !h.take(watcher).filter({ $0.type == .nodeUpdated }).isEmpty {
                if let last {
                    XCTAssertGreaterThanOrEqual(h.now - last, 5_000)
                    XCTAssertLessThanOrEqual(h.now - last, 6_100)
                }
                last = h.now
            }
        }
    }

    func testHeartbeatByParsedIdIsTheSameAsByRequest() {
        var configuration = TopologyConfiguration()
        configuration.maxStringBytes = 20
        var byRequest = Harness(configuration, seed: 7)
        var byKey = Harness(configuration, seed: 7)
        var rng = SplitMix64(seed: 8)
        var ids: [String] = []
        var hints: [String: NodeHint] = [:]
        let watchers = (byRequest.watch(), byKey.watch())
        for step in 0..<3_000 {
            let roll = rng.next() % 100
            if roll < 5 || ids.isEmpty {
                let id = byRequest.register("s\(step)")
                XCTAssertEqual(byKey.register("s\(step)"), id)
                ids.append(id)
            } else if roll < 15 {
                let by = Int64(rng.next() % 4_000)
                byRequest.advance(by: by)
                byKey.advance(by: by)
            } else {
                // A live id, a dead one's, or one never registered.
                let id = roll < 20 ? "00000000-0000-4000-8000-00000000000\(roll % 10)" : ids[Int(rng.next() % UInt64(ids.count))]
                let health: ApplicationHealth? = [nil, ApplicationHealth(state: .healthy), ApplicationHealth(state: .degraded, message: "slow"),
                                                  ApplicationHealth(state: .healthy, message: String(repeating: "x", count: 21))][Int(rng.next() % 4)]
                let metrics: ServiceMetrics? = rng.next() % 2 == 0 ? nil : ServiceMetrics(cpuPercent: Double(step), memoryBytes: UInt64(step))
                let sequence = Int64(step)
                let viaRequest = Result { () throws(TopologyError) in
                    try byRequest.topology.heartbeat(HeartbeatRequest(serviceId: id, sequence: sequence, metrics: metrics, health: health), now: byRequest.now)
                }
                let key = ServiceKey(parsing: id)!
                // The hint kept for this id, or (now and then) another id's, or none: a wrong or
                // stale hint must make no difference.
                var hint = hints[id] ?? .none
                if rng.next() % 10 == 0 { hint = hints.values.randomElement(using: &rng) ?? .none }
                let viaKey = Result { () throws(TopologyError) in
                    try byKey.topology.heartbeat(serviceKey: key, hint: &hint, sequence: sequence, metrics: metrics, health: health, now: byKey.now)
                }
                hints[id] = hint
                XCTAssertEqual(String(describing: viaRequest), String(describing: viaKey), "step \(step)")
            }
            XCTAssertEqual(byRequest.take(watchers.0), byKey.take(watchers.1), "step \(step)")
            XCTAssertEqual(byRequest.events.count, byKey.events.count)
        }
        XCTAssertEqual(byRequest.topology.snapshot(for: TopologyQuery(), now: byRequest.now),
                       byKey.topology.snapshot(for: TopologyQuery(), now: byKey.now))
        XCTAssertEqual(String(describing: byRequest.events), String(describing: byKey.events))
    }
}
