import XCTest
@testable import TopologyCore
import TopologyWire

let t0: Int64 = 1_700_000_000_000

/// A Topology with a manual clock, driven the way the server drives it: `advance(to:)` visits every
/// deadline on the way, so no test trips the stall guard by accident.
struct Harness {
    var topology: Topology
    var now: Int64
    var events: [TopologyEvent] = []

    init(_ configuration: TopologyConfiguration = TopologyConfiguration(), seed: UInt64 = 1, epoch: String = "epoch-1") {
        now = t0
        topology = Topology(configuration: configuration, serverEpoch: epoch, now: t0, randomNumberGenerator: SplitMix64(seed: seed))
    }

    /// Moves the clock to `time`, firing every deadline on the way as the server would.
    mutating func advance(to time: Int64) {
        precondition(time >= now)
        while let deadline = topology.nextDeadline, deadline <= time {
            now = max(now, deadline)
            events += topology.advance(to: now)
        }
        now = time
        events += topology.advance(to: now)
    }

    mutating func advance(by milliseconds: Int64) { advance(to: now + milliseconds) }

    /// Jumps the clock without visiting deadlines: a paused process.
    mutating func jump(to time: Int64) {
        now = time
        events += topology.advance(to: now)
    }

    @discardableResult
    mutating func register(
        _ name: String, address: String? = nil, metadata: ServiceMetadata? = nil, id: String? = nil
    ) -> String {
        try! topology.register(
            RegisterServiceRequest(serviceName: name, serviceType: .server, language: .swift, address: address, metadata: metadata, serviceId: id),
            now: now
        ).handle!.serviceId
    }

    /// Registers `name` and heartbeats it once, the start of most liveness tests.
    @discardableResult
    mutating func registerAndHeartbeat(_ name: String) -> String {
        let id = register(name)
        heartbeat(id)
        return id
    }

    @discardableResult
    mutating func heartbeat(_ id: String, health: HealthState? = nil, metrics: ServiceMetrics? = nil) -> HeartbeatResponse {
        try! topology.heartbeat(
            HeartbeatRequest(serviceId: id, sequence: 1, metrics: metrics, health: health.map { ApplicationHealth(state: $0) }),
            now: now)
    }

    @discardableResult
    mutating func activity(
        _ id: String, to target: String, latencyMs: Int32? = nil, success: Bool? = nil, batch: Int32? = nil,
        type: ActivityType = .requestSent, histogram: LatencyHistogram? = nil, errorCount: Int32? = nil
    ) -> Int64 {
        try! topology.reportActivity(
            ReportActivityRequest(
                serviceId: id, targetService: target, type: type, latencyMs: latencyMs, success: success, batchSize: batch,
                latencyHistogram: histogram, errorCount: errorCount),
            now: now)
    }

    func state(_ id: String) -> ServiceState? { topology.node(id: id)?.state }

    mutating func watch(_ query: TopologyQuery = TopologyQuery(), resumeAfter: UInt64? = nil, epoch: String = "") -> WatcherID {
        try! topology.watch(WatchTopologyRequest(query: query, resumeAfterRevision: resumeAfter, resumeServerEpoch: epoch), now: now)
    }

    /// Everything pending for `watcher` except PROGRESS updates (see `takeAll`).
    mutating func take(_ watcher: WatcherID) -> [TopologyUpdate] {
        takeAll(watcher).filter { $0.type != .progress }
    }

    mutating func takeAll(_ watcher: WatcherID) -> [TopologyUpdate] {
        topology.takeUpdates(for: watcher, max: .max)
    }
}

/// What a dashboard holds: the result of applying a watch stream. ADDED and UPDATED are upserts
/// (every update carries the whole node or edge), REMOVED deletes, SNAPSHOT replaces everything.
struct WatcherView {
    var nodes: [String: ServiceNode] = [:]
    var edges: [String: ServiceEdge] = [:]
    var lastRevision: UInt64 = 0
    var sawSnapshot = false
    /// Also require ADDED only for what is absent, UPDATED and REMOVED only for what is present.
    /// (A stream resumed after a coalesced one may upsert: the coalesced update that carried an
    /// ADDED can sit past the resume point.)
    var strict = true

    static func edgeKey(_ edge: ServiceEdge) -> String { edge.sourceServiceId + "->" + edge.targetService }

    /// Applies updates; returns a description of the first ordering problem, if any.
    mutating func apply(_ updates: [TopologyUpdate]) -> String? {
        var problem: String? = nil
        for update in updates {
            if update.type == .snapshot {
                if update.revision < lastRevision { problem = problem ?? "snapshot revision went back" }
            } else if update.type == .progress {
                if update.revision < lastRevision { problem = problem ?? "progress revision went back" }
            } else if update.revision <= lastRevision {
                problem = problem ?? "revision \(update.revision) after \(lastRevision) (\(update.type))"
            }
            lastRevision = update.revision
            switch update.type {
            case .snapshot:
                sawSnapshot = true
                strict = true
                nodes = [:]
                edges = [:]
                for node in update.snapshot!.nodes { nodes[node.serviceId] = node }
                for edge in update.snapshot!.edges { edges[WatcherView.edgeKey(edge)] = edge }
            case .nodeAdded, .nodeUpdated, .nodeRemoved:
                let id = update.node!.serviceId
                if strict && (nodes[id] == nil) != (update.type == .nodeAdded) {
                    problem = problem ?? "\(update.type) for node \(id) which is \(nodes[id] == nil ? "absent" : "present")"
                }
                nodes[id] = update.type == .nodeRemoved ? nil : update.node!
            case .edgeAdded, .edgeUpdated, .edgeRemoved:
                let key = WatcherView.edgeKey(update.edge!)
                if strict && (edges[key] == nil) != (update.type == .edgeAdded) {
                    problem = problem ?? "\(update.type) for edge \(key) which is \(edges[key] == nil ? "absent" : "present")"
                }
                edges[key] = update.type == .edgeRemoved ? nil : update.edge!
            case .progress: break
            default: problem = problem ?? "unexpected update type \(update.type)"
            }
        }
        return problem
    }

    init() {}

    init(_ snapshot: TopologySnapshot) {
        for node in snapshot.nodes { nodes[node.serviceId] = node }
        for edge in snapshot.edges { edges[WatcherView.edgeKey(edge)] = edge }
    }

    /// The same view with the fields a heartbeat-only refresh may hold back (throttled) cleared.
    var withoutThrottledFields: WatcherView {
        var copy = self
        for (id, var node) in copy.nodes {
            node.lastHeartbeatMs = 0
            node.lastActivityMs = 0
            node.metrics = nil
            node.healthDetail = nil
            copy.nodes[id] = node
        }
        return copy
    }
}

extension WatcherView: Equatable {
    static func == (a: WatcherView, b: WatcherView) -> Bool { a.nodes == b.nodes && a.edges == b.edges }
}

func types(_ updates: [TopologyUpdate]) -> [UpdateType] { updates.map(\.type) }
