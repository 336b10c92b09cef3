// CoreBench: figures for the Topology core (issue 3). Release build only:
//   swift build -c release --scratch-path .build-core --product CoreBench
//   .build-core/release/CoreBench [services]
//   .build-core/release/CoreBench 100000 profile-publishing-heartbeat   (a loop for `perf record`)
// Prints one table. Memory is the growth of resident memory (/proc/self/statm) while the services
// are registered and heartbeated once, divided by the count: it includes the service table, the
// indexes, timers and the update history, and whatever malloc keeps around.
import Dispatch
import Glibc
import TopologyCore
import TopologyWire

func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

func residentBytes() -> Int {
    guard let file = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(file) }
    var size = 0
    var resident = 0
    _ = withUnsafeMutablePointer(to: &size) { sizePointer in
        withUnsafeMutablePointer(to: &resident) { residentPointer in
            withVaList([sizePointer, residentPointer]) { vfscanf(file, "%ld %ld", $0) }
        }
    }
    return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
}

@inline(never) func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }

/// Storage the core retired, carried to the queue that frees it.
final class RetiredBox: @unchecked Sendable {
    var contents: Any?
    init(_ contents: Any) { self.contents = contents }
}

let serviceCount = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 100_000 : 100_000
var rows: [(String, String)] = []
@MainActor func row(_ name: String, _ value: String) {
    rows.append((name, value))
}
func format(_ value: Double, _ digits: Int = 1) -> String {
    var text = String(Int((value * pow(10, Double(digits))).rounded()))
    if digits > 0 {
        while text.count <= digits { text = "0" + text }
        text.insert(".", at: text.index(text.endIndex, offsetBy: -digits))
    }
    return text
}

var configuration = TopologyConfiguration()
configuration.maxServices = max(configuration.maxServices, serviceCount)
// Every refresh at its own period, at any size: the rows time a heartbeat's refresh, which the
// server's limit (`maxRefreshesPerSecond`) would otherwise make rarer past 100,000 services.
configuration.maxRefreshesPerSecond = 0
var now: Int64 = 1_700_000_000_000

// 1. Memory per service.
let requests = (0..<serviceCount).map { i in
    RegisterServiceRequest(
        serviceName: "service-\(i % 5_000)", serviceType: .server, language: .swift, version: "1.4.2",
        address: "10.\(i >> 16 & 255).\(i >> 8 & 255).\(i & 255):8080", host: "host-\(i % 2_000)")
}
let before = residentBytes()
var topology = Topology(configuration: configuration, serverEpoch: "bench", now: now, randomNumberGenerator: SplitMix64(seed: 42))
var ids: [String] = []
ids.reserveCapacity(serviceCount)
// The longest registration: a table that grows all at once shows here. The core is given the
// server's chances to spread such work: an advance every 64 registrations, and what it retires
// freed on another thread.
let retiredQueue = DispatchQueue(label: "retired storage")
var longestRegistration: (ns: UInt64, at: Int) = (0, 0)
for request in requests {
    let start = monotonicNanoseconds()
    ids.append(try! topology.register(request, now: now).handle!.serviceId)
    if ids.count % 64 == 0 { _ = topology.advance(to: now) }
    if let retired = topology.takeRetiredStorage() {
        let box = RetiredBox(retired)
        retiredQueue.async { box.contents = nil }
    }
    let elapsed = monotonicNanoseconds() - start
    if elapsed > longestRegistration.ns { longestRegistration = (elapsed, ids.count) }
}
now += 1
for id in ids { _ = try! topology.heartbeat(HeartbeatRequest(serviceId: id, sequence: 1), now: now) }
let after = residentBytes()
row("services", "\(topology.serviceCount)")
row("resident memory per service (bytes, no metadata)", "\(((after - before) - ids.count * 48) / serviceCount)")
row("  (ids array of the bench itself excluded: 48 B/service)", "")
row("longest registration (ms; at which service)", "\(format(Double(longestRegistration.ns) / 1e6, 1)) (\(longestRegistration.at))")

// 2. Heartbeat cost: every service, several rounds, inside the throttle period (no update).
let heartbeats = ids.map { HeartbeatRequest(serviceId: $0, sequence: 2) }
var best = UInt64.max
for _ in 0..<5 {
    now += 1
    let start = monotonicNanoseconds()
    for request in heartbeats { blackHole(try! topology.heartbeat(request, now: now)) }
    best = min(best, monotonicNanoseconds() - start)
}
row("heartbeat, throttled (ns/op, best of 5 x \(serviceCount))", format(Double(best) / Double(serviceCount)))

// A node's throttle period is nodeUpdateThrottleMs plus its jitter: waiting the longest one makes
// every node's last update a full period old.
let longestThrottlePeriod = configuration.nodeUpdateThrottleMs * Int64(100 + configuration.nodeUpdateJitterPercent) / 100

// 2b. Heartbeat whose refresh is due (throttle period over; the default configuration's steady
// state, since interval = throttle), no watchers: the heartbeat, then the refresh timer firing
// (a refresh is kept without a copy of the node, `RefreshRecord`).
best = UInt64.max
for _ in 0..<3 {
    now += longestThrottlePeriod
    _ = topology.advance(to: now)  // any pending refreshes go out now
    now += longestThrottlePeriod  // so every node's last update is a full period old
    let revision = topology.currentRevision
    let start = monotonicNanoseconds()
    for request in heartbeats { blackHole(try! topology.heartbeat(request, now: now)) }
    blackHole(topology.advance(to: now))  // the refreshes are due at once
    best = min(best, monotonicNanoseconds() - start)
    precondition(topology.currentRevision - revision == UInt64(serviceCount), "each heartbeat's refresh published")
}
row("heartbeat and its refresh, no watchers (ns/op, best of 3)", format(Double(best) / Double(serviceCount)))
_ = topology.advance(to: now)

if CommandLine.arguments.count > 2 && CommandLine.arguments[2] == "profile-publishing-heartbeat" {
    // For perf: only the publishing heartbeat, many rounds.
    for _ in 0..<30 {
        now += longestThrottlePeriod
        _ = topology.advance(to: now)
        now += longestThrottlePeriod
        for request in heartbeats { blackHole(try! topology.heartbeat(request, now: now)) }
    }
    exit(0)
}

// 3. Snapshot of every node.
var snapshotTimes: [Double] = []
for _ in 0..<5 {
    let start = monotonicNanoseconds()
    let snapshot = topology.snapshot(for: TopologyQuery(), now: now)
    snapshotTimes.append(Double(monotonicNanoseconds() - start) / 1e6)
    precondition(snapshot.nodes.count == serviceCount)
    blackHole(snapshot)
}
snapshotTimes.sort()
row("snapshot of \(serviceCount) nodes (ms, median of 5)", format(snapshotTimes[2], 2))
do {
    let snapshot = topology.snapshot(for: TopologyQuery(), now: now)
    let start = monotonicNanoseconds()
    let bytes = snapshot.serializedBytes()
    row("  encoding it (ms; \(bytes.count / 1024) KiB)", format(Double(monotonicNanoseconds() - start) / 1e6, 2))
}
// A history sample (TopologyHistory, --history-minutes): that snapshot and its size estimate, on
// the loop; as a ratio to the snapshot above, its floor in the same run.
do {
    var sampleTimes: [Double] = []
    var bytes = 0
    for _ in 0..<5 {
        var history = TopologyHistory(limits: TopologyHistory.Limits(retentionMs: 60_000, intervalMs: 1, maxBytes: .max, maxServices: .max))
        let start = monotonicNanoseconds()
        precondition(history.advance(to: now, topology: topology))
        sampleTimes.append(Double(monotonicNanoseconds() - start) / 1e6)
        bytes = history.bytes
    }
    sampleTimes.sort()
    row("history sample of \(serviceCount) nodes (ms, median of 5; \(bytes / 1024) KiB estimated)", format(sampleTimes[2], 2))
    row("  ratio to the snapshot", format(sampleTimes[2] / snapshotTimes[2], 2))
    // What 5 samples held at once add to resident memory, against their estimate: the revision
    // moves between samples (a health change of one service), as it does on a live server.
    var history = TopologyHistory(limits: TopologyHistory.Limits(retentionMs: .max / 4, intervalMs: 1, maxBytes: .max, maxServices: .max))
    let residentBefore = residentBytes()
    for round in 0..<5 {
        now += 1
        _ = try! topology.heartbeat(HeartbeatRequest(serviceId: ids[0], sequence: 3, health: ApplicationHealth(state: round % 2 == 0 ? .degraded : .healthy)), now: now)
        precondition(history.advance(to: now, topology: topology))
    }
    row("  5 samples: resident growth / estimate (KiB)", "\((residentBytes() - residentBefore) / 1024) / \(history.bytes / 1024)")
}

// 4. advance(to:) when nothing is due, at this size and at 1,000 services.
func idleAdvanceCost(_ topology: inout Topology, at now: Int64) -> Double {
    let deadline = topology.nextDeadline!
    precondition(deadline > now)
    let iterations = 1_000_000
    let start = monotonicNanoseconds()
    for _ in 0..<iterations { blackHole(topology.advance(to: now)) }
    return Double(monotonicNanoseconds() - start) / Double(iterations)
}
row("advance, nothing due, \(serviceCount) services (ns/op)", format(idleAdvanceCost(&topology, at: now)))
do {
    var small = Topology(configuration: configuration, serverEpoch: "bench", now: now, randomNumberGenerator: SplitMix64(seed: 7))
    for request in requests.prefix(1_000) { _ = try! small.register(request, now: now) }
    row("advance, nothing due, 1000 services (ns/op)", format(idleAdvanceCost(&small, at: now)))
}

// 5. Activity: one report per service (targets: 5,000 service names, 20 callers each), then the
// flush that publishes the edges.
do {
    let reports = ids.enumerated().map { i, id in
        ReportActivityRequest(serviceId: id, targetService: "service-\((i * 7) % 5_000)", type: .requestSent, latencyMs: 12, success: true)
    }
    var start = monotonicNanoseconds()
    for report in reports { blackHole(try! topology.reportActivity(report, now: now)) }
    row("report activity (ns/op, new edge, node IDLE -> ACTIVE)", format(Double(monotonicNanoseconds() - start) / Double(serviceCount)))
    start = monotonicNanoseconds()
    for report in reports { blackHole(try! topology.reportActivity(report, now: now)) }
    row("report activity (ns/op, existing edge)", format(Double(monotonicNanoseconds() - start) / Double(serviceCount)))
    now += configuration.activityFlushMs
    start = monotonicNanoseconds()
    _ = topology.advance(to: now)
    row("activity flush publishing \(topology.edgeCount) edges (ms)", format(Double(monotonicNanoseconds() - start) / 1e6, 1))
}

// 6. Fan-out: heartbeats that publish, with 1,000 watchers (empty filter) listening. The cost per
// watcher does not depend on the topology's size, so this runs on its own 1,000-service core
// (1,000 initial snapshots of 100,000 nodes would only slow the bench down).
do {
    var small = Topology(configuration: configuration, serverEpoch: "bench", now: now, randomNumberGenerator: SplitMix64(seed: 9))
    var smallIds: [String] = []
    for request in requests.prefix(1_000) { smallIds.append(try! small.register(request, now: now).handle!.serviceId) }
    now += longestThrottlePeriod
    _ = small.advance(to: now)
    var watchers: [WatcherID] = []
    for _ in 0..<1_000 { watchers.append(try! small.watch(WatchTopologyRequest(query: TopologyQuery()), now: now)) }
    for watcher in watchers { _ = small.takeUpdates(for: watcher, max: 1) }  // each takes its SNAPSHOT
    _ = small.takeReadyWatchers()
    let revision = small.currentRevision
    let start = monotonicNanoseconds()
    for id in smallIds.prefix(500) { blackHole(try! small.heartbeat(HeartbeatRequest(serviceId: id), now: now)) }
    let elapsed = monotonicNanoseconds() - start
    precondition(small.currentRevision - revision == 500, "each heartbeat published")
    precondition(watchers.allSatisfy { small.pendingUpdateCount(for: $0) == 500 })
    row("heartbeat publishing to 1000 watchers, empty filter (us/op)", format(Double(elapsed) / 500 / 1e3, 2))
}

let width = rows.map(\.0.count).max() ?? 0
print("CoreBench (release), Topology core, \(serviceCount) services")
for (name, value) in rows {
    print(name + String(repeating: " ", count: width - name.count) + "  " + value)
}
