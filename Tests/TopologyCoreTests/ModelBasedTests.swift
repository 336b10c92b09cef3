import Foundation
import XCTest
@testable import TopologyCore
import TopologyWire

/// Thousands of random operations and clock advances against a plain reference model, with the
/// invariants checked after every step:
/// - the live services are exactly the model's, each in the state the model computes from its
///   times alone; no node outlives its DEAD deadline (except by what the stall guard forgave);
///   the core's per-state counts match a count over its snapshot;
/// - every watcher that has taken all its updates holds exactly a fresh snapshot with its filter
///   (up to the fields a throttled refresh may still hold back; after a quiet period, exactly),
///   whether it takes the updates alone or sharing a round cache;
/// - revisions strictly increase on every stream;
/// - no edge refers to a removed source, and every edge's target id is the node its target names.
final class ModelBasedTests: XCTestCase {
    struct ModelNode {
        var name: String
        var address: String?
        var metadata: ServiceMetadata?
        var order: Int
        var base: Int64            // liveness clock: last heartbeat or (re-)registration
        var lastActivity: Int64?   // liveness clock
        var leftRegistered = false // a heartbeat or activity moved it past REGISTERED
    }

    struct Model {
        var configuration: TopologyConfiguration
        var nodes: [String: ModelNode] = [:]
        var forgiven: Int64 = 0
        var nextOrder = 0

        func live(_ now: Int64) -> Int64 { now - forgiven }

        func expectedState(_ node: ModelNode, now: Int64) -> ServiceState {
            let live = live(now)
            let silence = live - node.base
            precondition(silence <= configuration.deadTimeoutMs, "should be dead")
            if silence > configuration.staleTimeoutMs { return .stale }
            if let last = node.lastActivity, live - last < configuration.idleTimeoutMs { return .active }
            return node.leftRegistered ? .idle : .registered
        }

        /// Removes the nodes whose DEAD deadline has passed; returns their ids.
        mutating func reap(_ now: Int64) -> [String] {
            let dead = nodes.filter { live(now) - $0.value.base > configuration.deadTimeoutMs }.map(\.key)
            for id in dead { nodes[id] = nil }
            return dead
        }

        func rank(_ target: String, _ node: ModelNode) -> Int? {
            if node.name == target { return 0 }
            if let interface = node.metadata?.serviceInterface, !interface.isEmpty {
                if let role = node.metadata?.serviceRole, !role.isEmpty, "\(interface)::\(role)" == target { return 1 }
                if interface == target { return 2 }
            }
            if let address = node.address, !address.isEmpty {
                if address == target { return 3 }
                if let at = target.lastIndex(of: "@"), String(target[target.index(after: at)...]) == address { return 4 }
            }
            return nil
        }

        func resolve(_ target: String) -> String {
            var best: (Int, Int, String)? = nil
            for (id, node) in nodes {
                guard let rank = rank(target, node) else { continue }
                if best == nil || (rank, node.order) < (best!.0, best!.1) { best = (rank, node.order, id) }
            }
            return best?.2 ?? ""
        }
    }

    struct Watch {
        var id: WatcherID
        var query: TopologyQuery
        var view = WatcherView()
        var takeProbability: Double
    }

    func testRandomOperationsAgainstModel() {
        var coverage: [String: Int] = [:]
        // TOPOLOGY_MODEL_SEEDS=N runs seeds 1...N instead of the usual five (for long soaks).
        let seedCount = ProcessInfo.processInfo.environment["TOPOLOGY_MODEL_SEEDS"].flatMap { UInt64($0) } ?? 5
        for seed: UInt64 in 1...max(1, seedCount) {
            run(seed: seed, steps: 4_000, coverage: &coverage)
        }
        // The runs exercised what they claim to check.
        for key in ["resync", "coalesced", "coalesced past the limit", "progress", "edge update", "resume replayed", "resume resynced",
                    "stall"] {
            XCTAssertGreaterThan(coverage[key] ?? 0, 0, "no \(key) in \(coverage)")
        }
    }

    func run(seed: UInt64, steps: Int, coverage: inout [String: Int]) {
        var rng = SplitMix64(seed: seed)
        var configuration = TopologyConfiguration()
        configuration.watchBufferLimit = 12
        configuration.historyLimit = 40
        configuration.maxServices = 40
        switch seed % 3 {
        case 1:  // idle transitions often, DEAD long after STALE
            configuration.idleTimeoutMs = 7_000
            configuration.timeoutMultiplier = 4
            configuration.nodeUpdateThrottleMs = 2_000
        case 2:  // no throttle, fast flushes and progress
            configuration.nodeUpdateThrottleMs = 0
            configuration.activityFlushMs = 250
            configuration.rpsWindowMs = 1_000
            configuration.progressIntervalMs = 1_000
            configuration.unresolvedEdgeTimeoutMs = 9_000
        default:
            break
        }
        var h = Harness(configuration, seed: seed, epoch: "model-\(seed)")
        var model = Model(configuration: configuration)
        var goneIds: [String] = []
        let names = ["api", "db", "cache", "auth", "web"]
        let environments = ["prod", "staging"]
        let teams = ["core", "edge"]
        let targets = names + ["10.0.0.1:80", "10.0.0.2:80", "grpc@10.0.0.1:80", "store", "store::primary", "nowhere"]
        let queries: [TopologyQuery] = [
            TopologyQuery(),
            TopologyQuery(serviceNames: ["api", "db"]),
            TopologyQuery(states: [.active, .stale]),
            TopologyQuery(environments: ["prod"]),
            TopologyQuery(serviceNames: ["web"], includeIdle: true, teams: ["edge"]),
        ]
        var watches: [Watch] = queries.enumerated().map { index, query in
            Watch(id: h.watch(query), query: query, takeProbability: index.isMultiple(of: 2) ? 1.0 : 0.1)
        }
        var lastRevision: UInt64 = 0
        var edgeTotals: [String: UInt64] = [:]

        func randomRequest() -> RegisterServiceRequest {
            var metadata: ServiceMetadata? = nil
            if Bool.random(using: &rng) {
                metadata = ServiceMetadata(
                    region: Bool.random(using: &rng) ? "eu" : nil,
                    environment: environments.randomElement(using: &rng),
                    team: Bool.random(using: &rng) ? teams.randomElement(using: &rng) : nil,
                    serviceInterface: Int.random(in: 0..<4, using: &rng) == 0 ? "store" : nil,
                    serviceRole: Bool.random(using: &rng) ? "primary" : nil)
            }
            let address = Int.random(in: 0..<3, using: &rng) == 0 ? ["10.0.0.1:80", "10.0.0.2:80"].randomElement(using: &rng) : nil
            return RegisterServiceRequest(
                serviceName: names.randomElement(using: &rng)!, serviceType: .server, language: .swift, address: address, metadata: metadata)
        }

        func modelNode(_ request: RegisterServiceRequest, base: Int64) -> ModelNode {
            defer { model.nextOrder += 1 }
            return ModelNode(name: request.serviceName, address: request.address, metadata: request.metadata, order: model.nextOrder, base: base)
        }

        /// Moves the clock forward through every deadline, keeping the model in step.
        func advance(by milliseconds: Int64) {
            let target = h.now + milliseconds
            while let deadline = h.topology.nextDeadline, deadline <= target {
                h.now = max(h.now, deadline)
                h.events += h.topology.advance(to: h.now)
                checkDeaths()
            }
            h.now = target
            h.events += h.topology.advance(to: h.now)
            checkDeaths()
        }

        func checkDeaths() {
            let dead = Set(model.reap(h.now))
            goneIds += dead
            let reported = Set(h.events.compactMap { if case let .serviceDead(id, _, _) = $0 { id } else { nil } })
            XCTAssertEqual(reported, dead, "seed \(seed): deaths at \(h.now - t0)")
            h.events.removeAll()
        }

        func check(step: Int, exact: Bool) {
            let context = "seed \(seed) step \(step)"
            // Services and their states.
            XCTAssertEqual(h.topology.serviceCount, model.nodes.count, context)
            for (id, node) in model.nodes {
                guard let actual = h.topology.node(id: id) else { return XCTFail("\(context): \(id) missing") }
                XCTAssertEqual(actual.state, model.expectedState(node, now: h.now), "\(context): state of \(id)")
                XCTAssertEqual(actual.serviceName, node.name, context)
            }
            // Edges.
            let everything = h.topology.snapshot(for: TopologyQuery(), now: h.now)
            let liveIds = Set(everything.nodes.map(\.serviceId))
            XCTAssertEqual(liveIds, Set(model.nodes.keys), context)
            // The per-state counts kept as states change equal a count over the snapshot.
            for state in [ServiceState.unspecified, .registered, .idle, .active, .stale, .dead] {
                XCTAssertEqual(h.topology.serviceCountsByState[state], everything.nodes.filter { $0.state == state }.count,
                               "\(context): services \(state)")
            }
            for edge in everything.edges {
                XCTAssertTrue(liveIds.contains(edge.sourceServiceId), "\(context): edge from a removed source")
                XCTAssertEqual(edge.targetServiceId, model.resolve(edge.targetService), "\(context): resolution of \(edge.targetService)")
                XCTAssertLessThanOrEqual(edge.totalErrors, edge.totalRequests, context)
                let key = WatcherView.edgeKey(edge)
                XCTAssertGreaterThanOrEqual(edge.totalRequests, edgeTotals[key] ?? 0, "\(context): totals went back")
                edgeTotals[key] = edge.totalRequests
            }
            for key in edgeTotals.keys where !everything.edges.contains(where: { WatcherView.edgeKey($0) == key }) {
                edgeTotals[key] = nil
            }
            XCTAssertGreaterThanOrEqual(h.topology.currentRevision, lastRevision)
            lastRevision = h.topology.currentRevision
            // Watchers: the even ones take updates alone, the odd ones as a server does, sharing one
            // round cache (and its whole-topology snapshot).
            var cache = WatchRoundCache()
            for index in watches.indices {
                if exact || Double.random(in: 0..<1, using: &rng) < watches[index].takeProbability {
                    let max = Int.random(in: 1...40, using: &rng)
                    let updates = index.isMultiple(of: 2)
                        ? h.topology.takeUpdates(for: watches[index].id, max: max)
                        : h.topology.takeUpdates(for: watches[index].id, max: max, cache: &cache)
                    for update in updates {
                        if update.resync { coverage["resync", default: 0] += 1 }
                        if update.coalesced { coverage["coalesced", default: 0] += 1 }
                        if update.type == .progress { coverage["progress", default: 0] += 1 }
                        if update.edge != nil { coverage["edge update", default: 0] += 1 }
                    }
                    if let problem = watches[index].view.apply(updates) { XCTFail("\(context) watcher \(index): \(problem)") }
                }
                // The buffer stays within its limit, unless it overflowed shortly after a SNAPSHOT
                // and was coalesced rather than resynced again: then within twice what coalescing
                // kept (see WatchTests for the timing).
                let pending = h.topology.pendingUpdateCount(for: watches[index].id)
                let record = h.topology.watchers[Int(watches[index].id.slot)]
                if pending > configuration.watchBufferLimit {
                    XCTAssertNotNil(record.lastSnapshotMs, context)
                    XCTAssertLessThanOrEqual(pending, record.coalesceAt, context)
                    coverage["coalesced past the limit", default: 0] += 1
                }
                guard h.topology.pendingUpdateCount(for: watches[index].id) == 0, watches[index].view.sawSnapshot else { continue }
                let fresh = WatcherView(h.topology.snapshot(for: watches[index].query, now: h.now))
                if exact {
                    XCTAssertEqual(watches[index].view, fresh, "\(context) watcher \(index) (exact)")
                } else {
                    XCTAssertEqual(watches[index].view.withoutThrottledFields, fresh.withoutThrottledFields, "\(context) watcher \(index)")
                }
            }
        }

        for step in 0..<steps {
            let roll = Int.random(in: 0..<100, using: &rng)
            let liveIds = model.nodes.keys.sorted()
            switch roll {
            case 0..<8:  // register a new service
                let request = randomRequest()
                do {
                    let id = try h.topology.register(request, now: h.now).handle!.serviceId
                    model.nodes[id] = modelNode(request, base: model.live(h.now))
                } catch {
                    XCTAssertEqual(error, .resourceExhausted(limit: "maxServices", value: 40))
                    XCTAssertEqual(model.nodes.count, 40)
                }
            case 8..<10:  // come back under an id that died or left
                guard let id = goneIds.randomElement(using: &rng), model.nodes[id] == nil, model.nodes.count < 40 else { break }
                var request = randomRequest()
                request.serviceId = id
                XCTAssertEqual(try h.topology.register(request, now: h.now).handle!.serviceId, id)
                model.nodes[id] = modelNode(request, base: model.live(h.now))
            case 10..<12:  // re-register a live service in place
                guard let id = liveIds.randomElement(using: &rng) else { break }
                var request = randomRequest()
                request.serviceId = id
                _ = try! h.topology.register(request, now: h.now)
                var node = model.nodes[id]!
                // A re-registration proves life: STALE recovers as on a heartbeat.
                if model.expectedState(node, now: h.now) == .stale { node.leftRegistered = true }
                node.name = request.serviceName
                node.address = request.address
                node.metadata = request.metadata
                node.base = max(node.base, model.live(h.now))
                model.nodes[id] = node
            case 12..<50:  // heartbeat
                guard let id = liveIds.randomElement(using: &rng) else { break }
                let health = Int.random(in: 0..<5, using: &rng) == 0
                    ? ApplicationHealth(state: HealthState(rawValue: Int32.random(in: 0...4, using: &rng)), message: "m", errorCount: 1) : nil
                let metrics = Bool.random(using: &rng) ? ServiceMetrics(cpuPercent: Double(step), memoryBytes: UInt64(step)) : nil
                _ = try! h.topology.heartbeat(HeartbeatRequest(serviceId: id, sequence: Int64(step), metrics: metrics, health: health), now: h.now)
                model.nodes[id]!.base = model.live(h.now)
                model.nodes[id]!.leftRegistered = true
            case 50..<52:  // heartbeat for a gone id
                guard let id = goneIds.randomElement(using: &rng), model.nodes[id] == nil else { break }
                XCTAssertThrowsError(try h.topology.heartbeat(HeartbeatRequest(serviceId: id), now: h.now)) {
                    XCTAssertEqual($0 as? TopologyError, .notFound(serviceId: id))
                }
            case 52..<72:  // activity
                guard let id = liveIds.randomElement(using: &rng) else { break }
                let batch: Int32? = Bool.random(using: &rng) ? Int32.random(in: 0...20, using: &rng) : nil
                let request = ReportActivityRequest(
                    serviceId: id, targetService: targets.randomElement(using: &rng)!,
                    type: Int.random(in: 0..<10, using: &rng) == 0 ? .error : .requestSent,
                    latencyMs: Int32.random(in: 0...500, using: &rng), batchSize: batch)
                XCTAssertEqual(try h.topology.reportActivity(request, now: h.now), Int64(max(1, batch ?? 1)))
                let live = model.live(h.now)
                if model.expectedState(model.nodes[id]!, now: h.now) != .stale { model.nodes[id]!.leftRegistered = true }
                model.nodes[id]!.lastActivity = live
            case 72..<74:  // unregister
                guard let id = liveIds.randomElement(using: &rng) else { break }
                XCTAssertTrue(h.topology.unregister(UnregisterServiceRequest(serviceId: id), now: h.now).removed)
                model.nodes[id] = nil
                goneIds.append(id)
            case 74..<76:  // a watcher loses its stream and resumes (inside or outside the history)
                let index = Int.random(in: 0..<watches.count, using: &rng)
                guard watches[index].view.sawSnapshot else { break }
                // It keeps only what it has applied: drop the undelivered rest with the stream.
                h.topology.endWatch(watches[index].id)
                let replayable = watches[index].view.lastRevision + UInt64(configuration.historyLimit) >= h.topology.currentRevision
                coverage[replayable ? "resume replayed" : "resume resynced", default: 0] += 1
                let request = WatchTopologyRequest(
                    query: watches[index].query, resumeAfterRevision: watches[index].view.lastRevision,
                    resumeServerEpoch: "model-\(seed)")
                watches[index].id = try! h.topology.watch(request, now: h.now)
                watches[index].view.strict = false
            case 76..<96:  // time passes
                advance(by: Int64.random(in: 1...3_000, using: &rng))
            case 96..<99:  // a long silence: deaths
                advance(by: Int64.random(in: 5_000...20_000, using: &rng))
            default:  // the process is paused: a jump past the deadlines
                let due = h.topology.nextDeadline
                let target = h.now + Int64.random(in: 1_000...40_000, using: &rng)
                if let due, target - max(h.now, due) > configuration.heartbeatIntervalMs {
                    model.forgiven += target - h.now
                }
                h.now = target
                h.events += h.topology.advance(to: h.now)
                let stalls = h.events.filter { if case .stallDetected = $0 { true } else { false } }
                coverage["stall", default: 0] += stalls.count
                h.events.removeAll { if case .stallDetected = $0 { true } else { false } }
                checkDeaths()
            }
            // Input calls can report a death only through advance; keep the model's view current.
            if roll < 76 {
                h.events += h.topology.advance(to: h.now)
                checkDeaths()
            }
            check(step: step, exact: false)
            if step % 250 == 249 {
                // A quiet period: every throttled refresh goes out, then each stream is exact.
                advance(by: configuration.nodeUpdateThrottleMs * Int64(100 + configuration.nodeUpdateJitterPercent) / 100 + 1)
                check(step: step, exact: true)
            }
        }
        XCTAssertGreaterThan(goneIds.count, 10, "seed \(seed): the run exercised deaths and removals")

        XCTAssertGreaterThan(h.topology.currentRevision, 1_000)
    }
}
