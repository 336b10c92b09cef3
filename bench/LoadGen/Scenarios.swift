// The two scenarios of scripts/bench.sh.
//
// heartbeats: heartbeat cost and round trip, against topology-server or the floor, in one of
//   ping-pong (1 service per connection, one heartbeat in flight each), pipelined (many services
//   per connection, each service's stream on its own call_id, a connection's due heartbeats written
//   together every tick) or closed-loop (each connection keeps a window in flight: the maximum rate).
// fleet: a population of services held at their heartbeat interval, with GetTopology timing, watch
//   delivery to W watchers, and dead detection of services that go silent at once.
//
// Every result is printed to stdout as `RESULT <label>.<key> <value>`; progress goes to stderr.
import TopologyWire
#if canImport(Glibc)
import Glibc
#endif

func result(_ label: String, _ key: String, _ value: String) {
    var line = "RESULT \(label).\(key) \(value)\n"
    line.withUTF8 { _ = Glibc.write(1, $0.baseAddress, $0.count) }
}

func fixed(_ value: Double, _ digits: Int = 1) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = String(rounded)
    if digits == 0, text.hasSuffix(".0") { text.removeLast(2) }
    return text
}

func microseconds(_ ns: Int64?) -> String { ns.map { fixed(Double($0) / 1_000, 0) } ?? "n/a" }
/// The wall-clock time as the server's log lines write it (`ts=`): UTC, milliseconds, no zone letter.
func utcTimestampNow() -> String {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    var seconds = now.tv_sec
    var parts = tm()
    gmtime_r(&seconds, &parts)
    var text = [CChar](repeating: 0, count: 32)
    _ = strftime(&text, text.count, "%Y-%m-%dT%H:%M:%S", &parts)
    let milliseconds = String(now.tv_nsec / 1_000_000)
    return String(cString: text) + "." + String(repeating: "0", count: 3 - milliseconds.count) + milliseconds
}

func milliseconds(_ ns: Int64?) -> String { ns.map { fixed(Double($0) / 1_000_000, 2) } ?? "n/a" }

/// Connects `count` heartbeat connections with `perConnection` services each, registering them
/// unless the target is the floor. Connections are made in batches, flushing in between, so the
/// server's accept queue and first-frame deadline are never at risk. With `registerRate` (services
/// per second, 0: as fast as the server answers) registrations are paced: a connection's services
/// are registered when the rate allows, while the loop keeps serving the services already in.
func openFleet(_ driver: Driver, connections count: Int, perConnection: Int, register: Bool, registerRate: Int = 0) -> [Conn] {
    var opened: [Conn] = []
    let start = monotonicNs()
    for i in 0..<count {
        if register && registerRate > 0 {
            driver.flushAll()
            driver.run(untilNs: start + Int64(i) * Int64(perConnection) * 1_000_000_000 / Int64(registerRate))
        }
        let conn = driver.connect(role: .heartbeats)
        driver.addServices(perConnection, on: conn)
        if register { driver.register(conn) }
        opened.append(conn)
        if i % 50 == 49 {
            driver.flushAll()
            driver.run(untilNs: monotonicNs() + 1_000_000)
        }
    }
    if register {
        let deadline = monotonicNs() + 120_000_000_000
        guard driver.run(untilNs: deadline, done: { driver.pendingRegistrations <= 0 }) else {
            fatal("registrations unanswered after 120 s: \(driver.pendingRegistrations) pending; \(driver.firstErrors)")
        }
        if driver.errors > 0 { fatal("registration failed: \(driver.firstErrors)") }
    }
    return opened
}

/// `driver.run`, with the probe heartbeating once a second (its last health, no new probe) while
/// nothing is measured.
@discardableResult
func runKeepingProbeAlive(_ driver: Driver, untilNs deadline: Int64, done: () -> Bool = { false }) -> Bool {
    while true {
        if driver.run(untilNs: min(deadline, monotonicNs() + 1_000_000_000), done: done) { return true }
        let now = monotonicNs()
        if now >= deadline { return false }
        if !driver.inFlight[Int(driver.probeService)] { driver.sendHeartbeat(driver.probeService, now: now) }
    }
}

/// Every service heartbeats once (all at once, pipelined per connection); waits for all replies.
func primeHeartbeats(_ driver: Driver, services: [Int32]) {
    let now = monotonicNs()
    let before = driver.ackedTotal
    for s in services { driver.sendHeartbeat(s, now: now) }
    guard driver.run(untilNs: now + 60_000_000_000, done: { driver.ackedTotal - before >= services.count || driver.errors > 0 }) else {
        fatal("first heartbeats unanswered after 60 s: \(driver.ackedTotal - before) of \(services.count)")
    }
}

/// Services in the order their heartbeats fall due: one from each connection in turn, so a tick's
/// heartbeats spread over all connections.
func interleaved(_ conns: [Conn]) -> [Int32] {
    var order: [Int32] = []
    let most = conns.map(\.services.count).max() ?? 0
    for local in 0..<most {
        for conn in conns where local < conn.services.count { order.append(conn.services[local]) }
    }
    return order
}

struct HeartbeatOptions {
    var label = "heartbeats"
    var connections = 100
    var perConnection = 1
    /// Heartbeats per second over all services; 0 = closed loop with `window` in flight.
    var rate = 10_000
    var window = 64
    var tickMs = 1
    var warmupMs = 1_000
    var durationMs = 5_000
}

func runHeartbeats(_ driver: Driver, pid: Int32, _ o: HeartbeatOptions) -> Bool {
    let conns = openFleet(driver, connections: o.connections, perConnection: o.perConnection, register: !driver.floorTarget)
    let services = interleaved(conns)
    primeHeartbeats(driver, services: services)
    driver.errors = 0
    driver.firstErrors = []
    let start = monotonicNs()
    if o.rate > 0 {
        driver.intervalNs = Int64(services.count) * 1_000_000_000 / Int64(o.rate)
        driver.tickNs = Int64(o.tickMs) * 1_000_000
        driver.startPacing(services: services, startNs: start)
    } else {
        driver.startClosedLoop(window: o.window, now: start)
    }
    driver.run(untilNs: start + Int64(o.warmupMs) * 1_000_000)
    let target0 = Proc.sample(pid), self0 = Proc.sample(0)
    driver.measureStartNs = target0.wallNs
    driver.measureEndNs = target0.wallNs + Int64(o.durationMs) * 1_000_000
    driver.run(untilNs: driver.measureEndNs)
    let target1 = Proc.sample(pid), self1 = Proc.sample(0)
    driver.stopPacing()
    let acked = max(1, driver.ackedInWindow)
    let seconds = Double(target1.wallNs - target0.wallNs) / 1e9
    let l = o.label
    result(l, "services", String(services.count))
    result(l, "connections", String(o.connections))
    result(l, "acked_per_s", fixed(Double(driver.ackedInWindow) / seconds, 0))
    result(l, "rtt_p50_us", microseconds(driver.rtt.percentile(50)))
    result(l, "rtt_p99_us", microseconds(driver.rtt.percentile(99)))
    result(l, "cpu_us_per_hb", fixed(target1.cpuMicroseconds(since: target0) / Double(acked), 3))
    result(l, "cpu_ns_per_hb_schedstat", fixed(Double(target1.runtimeNs - target0.runtimeNs) / Double(acked), 0))
    result(l, "target_core_pct", fixed(target1.corePercent(since: target0)))
    result(l, "generator_core_pct", fixed(self1.corePercent(since: self0)))
    result(l, "due_while_in_flight", String(driver.dueWhileInFlight))
    result(l, "errors", String(driver.errors))
    for e in driver.firstErrors { log("\(l): \(e)") }
    driver.closeAll()
    return driver.errors == 0 && driver.ackedInWindow > 0
}

struct FleetOptions {
    var label = "fleet"
    var connections = 1_000
    var perConnection = 10
    var intervalMs = 5_000
    var multiplier = 3
    var tickMs = 1
    var holdMs = 10_000
    var getTopology = 5
    var watchers: [Int] = []
    var watchMs = 5_000
    var probeIntervalMs = 50
    /// Quiet time after the watchers' snapshots, and time after the last probe for late deliveries.
    var settleMs = 500
    var drainMs = 1_000
    var silence = 0
    var heartbeatOnRegister = false
    /// Services registered per second (0: as fast as the server answers).
    var registerRate = 0
    /// Each registration carries the service's id: the storm of a whole fleet coming back to a
    /// restarted server.
    var registerWithIds = false
}

func runFleet(_ driver: Driver, pid: Int32, _ o: FleetOptions) -> Bool {
    let l = o.label
    var ok = true
    func check(_ condition: Bool, _ what: String) {
        if !condition {
            ok = false
            log("\(l): FAILED: \(what)")
        }
    }
    let baselineKiB = Proc.residentKiB(pid)
    let deadWatcher = driver.connect(role: .watcher)
    deadWatcher.decodeEveryFrame = true
    Frame(callId: 1, message: .watchTopologyRequest(WatchTopologyRequest(query: TopologyQuery(states: [.stale, .dead]))))
        .encodeLengthPrefixed(appendingTo: &deadWatcher.out)
    driver.scheduleFlush(deadWatcher)

    let registerStart = monotonicNs()
    driver.intervalNs = Int64(o.intervalMs) * 1_000_000
    driver.tickNs = Int64(o.tickMs) * 1_000_000
    // With --heartbeat-on-register each service heartbeats the moment its registration is answered
    // and then every interval from then on, while the rest of the fleet registers (a real fleet does
    // not wait for its peers): a fleet whose registration takes longer than the STALE threshold
    // needs it. Without it, heartbeats start once all are registered, spread over the interval in
    // registration order, as in a fleet that did not start in one instant: for a fleet registered
    // in well under an interval, heartbeating on registration would align every node's throttled
    // NODE_UPDATED refresh to that instant for good, and the server would publish the whole fleet's
    // refreshes in one burst per throttle period.
    driver.heartbeatOnRegister = o.heartbeatOnRegister
    driver.registerWithIds = o.registerWithIds
    if o.heartbeatOnRegister { driver.startPacing(services: [], startNs: registerStart) }
    let conns = openFleet(driver, connections: o.connections, perConnection: o.perConnection, register: true, registerRate: o.registerRate)
    driver.heartbeatOnRegister = false
    let services = conns.flatMap(\.services)
    let registerSeconds = Double(monotonicNs() - registerStart) / 1e9
    check(driver.errors == 0, "registration: \(driver.firstErrors)")
    log("\(l): \(services.count) services registered on \(conns.count) connections in \(fixed(registerSeconds, 2)) s")
    result(l, "services", String(services.count))
    result(l, "register_rate_limit", o.registerRate > 0 ? String(o.registerRate) : "none")
    result(l, "register_per_s", fixed(Double(services.count) / registerSeconds, 0))
    result(l, "register_s", fixed(registerSeconds, 2))
    result(l, "register_with_ids", o.registerWithIds ? "1" : "0")
    result(l, "registration_stale_or_dead", String(driver.staleOrDeadUnexpected))
    result(l, "registration_max_heartbeat_gap_ms", milliseconds(driver.maxSendGapNs))
    result(l, "registration_max_send_lateness_ms", milliseconds(driver.maxSendLatenessAnyNs))
    result(l, "registration_skipped_in_flight", String(driver.skippedInFlight))
    check(driver.staleOrDeadUnexpected == 0, "services declared STALE/DEAD while registering: \(driver.staleOrDeadUnexpectedIds)"
          + " (the longest the generator left a service between two heartbeats: \(milliseconds(driver.maxSendGapNs)) ms)")

    // Hold: every service at its interval; one interval of warm-up so all are in steady state.
    // (The registration burst itself published every NODE_ADDED at once; the warm-up absorbs it.)
    let start = monotonicNs()
    if !o.heartbeatOnRegister { driver.startPacing(services: services, startNs: start) }
    driver.run(untilNs: start + driver.intervalNs)
    let target0 = Proc.sample(pid), self0 = Proc.sample(0)
    driver.measureStartNs = target0.wallNs
    driver.measureEndNs = target0.wallNs + Int64(o.holdMs) * 1_000_000
    driver.run(untilNs: driver.measureEndNs)
    let target1 = Proc.sample(pid), self1 = Proc.sample(0)
    let rssKiB = Proc.residentKiB(pid)
    let seconds = Double(target1.wallNs - target0.wallNs) / 1e9
    result(l, "hold_s", fixed(seconds))
    result(l, "connections", String(driver.conns.filter(\.open).count))
    check(conns.allSatisfy(\.open), "heartbeat connections closed while holding")
    result(l, "acked_per_s", fixed(Double(driver.ackedInWindow) / seconds, 0))
    result(l, "rtt_p50_us", microseconds(driver.rtt.percentile(50)))
    result(l, "rtt_p99_us", microseconds(driver.rtt.percentile(99)))
    result(l, "target_core_pct", fixed(target1.corePercent(since: target0)))
    result(l, "cpu_us_per_hb", fixed(target1.cpuMicroseconds(since: target0) / Double(max(1, driver.ackedInWindow)), 3))
    result(l, "generator_core_pct", fixed(self1.corePercent(since: self0)))
    result(l, "generator_max_send_lateness_ms", milliseconds(driver.maxSendLatenessNs))
    result(l, "max_heartbeat_gap_ms", milliseconds(driver.maxSendGapNs))
    result(l, "due_while_in_flight", String(driver.dueWhileInFlight))
    result(l, "stale_or_dead", String(driver.staleOrDeadUnexpected))
    result(l, "rss_baseline_mib", fixed(Double(baselineKiB) / 1024))
    result(l, "rss_mib", fixed(Double(rssKiB) / 1024))
    result(l, "rss_bytes_per_service", fixed(Double(rssKiB - baselineKiB) * 1024 / Double(services.count), 0))
    check(driver.errors == 0, "errors while holding: \(driver.firstErrors)")
    check(driver.staleOrDeadUnexpected == 0, "services declared STALE/DEAD while heartbeating: \(driver.staleOrDeadUnexpectedIds)")
    check(driver.dueWhileInFlight == 0, "\(driver.dueWhileInFlight) heartbeats fell due before the previous one was answered")
    // Every heartbeat due in the window was sent, and each one sent was answered (the replies to the
    // last ones may come after the window's end: when services heartbeat from their own
    // registration, a whole fleet registered in an instant falls due together).
    let expected = Double(services.count) * seconds * 1000 / Double(o.intervalMs)
    driver.run(untilNs: monotonicNs() + 2_000_000_000, done: { driver.windowDueSent && driver.ackedSentInWindow >= driver.sentInWindow })
    check(Double(driver.sentInWindow) >= expected * 0.97, "sent \(driver.sentInWindow) of about \(Int(expected)) due")
    check(driver.ackedSentInWindow == driver.sentInWindow, "acknowledged \(driver.ackedSentInWindow) of the \(driver.sentInWindow) heartbeats due in the window")

    // GetTopology, timed from the request to the last byte of the reply.
    if o.getTopology > 0 {
        // Connected now: the server closes a connection that sends nothing for --first-frame-timeout-ms.
        let control = driver.connect(role: .control)
        var times = Samples()
        // The fleet's heartbeats meanwhile: their round trip shows whether a snapshot held the loop.
        // The requests are spread over one interval, so that every service heartbeats during them
        // (a fleet registered in an instant heartbeats in one burst per interval).
        let spacingNs = driver.intervalNs / Int64(o.getTopology)
        driver.rtt = Samples()
        driver.measureStartNs = monotonicNs()
        driver.measureEndNs = .max
        for k in 0..<o.getTopology {
            let sent = monotonicNs()
            Frame(callId: UInt64(k + 1), endOfStream: true, message: .getTopologyRequest(GetTopologyRequest(query: TopologyQuery())))
                .encodeLengthPrefixed(appendingTo: &control.out)
            driver.scheduleFlush(control)
            driver.topologyReplyNs = 0
            guard driver.run(untilNs: sent + 30_000_000_000, done: { driver.topologyReplyNs != 0 }) else {
                check(false, "GetTopology unanswered after 30 s")
                break
            }
            times.add(driver.topologyReplyNs - sent)
            check(driver.topologyReplyNodes >= services.count, "GetTopology returned \(driver.topologyReplyNodes) nodes")
            driver.run(untilNs: max(sent + spacingNs, monotonicNs() + Int64(o.settleMs) * 1_000_000 / 2))
        }
        driver.measureEndNs = monotonicNs()
        result(l, "get_topology_p50_ms", milliseconds(times.percentile(50)))
        result(l, "get_topology_max_ms", milliseconds(times.max))
        result(l, "get_topology_bytes", String(driver.topologyReplyBytes))
        result(l, "get_topology_heartbeats", String(driver.rtt.count))
        result(l, "get_topology_heartbeat_rtt_p99_us", microseconds(driver.rtt.percentile(99)))
        result(l, "get_topology_heartbeat_rtt_max_us", microseconds(driver.rtt.max))
    }

    // Watch delivery: a probe service flips its health every probe interval; each watcher (empty
    // filter, a dashboard) times the NODE_UPDATED carrying it from the probe's heartbeat send.
    if !o.watchers.isEmpty {
        let probe = driver.connect(role: .probe)
        driver.addServices(1, on: probe)
        driver.probeService = probe.services[0]
        driver.probeConn = probe
        driver.register(probe, namePrefix: "bench-probe")
        guard driver.run(untilNs: monotonicNs() + 10_000_000_000, done: { driver.pendingRegistrations <= 0 }) else {
            fatal("probe registration unanswered")
        }
        driver.probeIntervalNs = Int64(o.probeIntervalMs) * 1_000_000
        var watchers: [Conn] = []
        for w in o.watchers {
            while watchers.count < w {
                let conn = driver.connect(role: .watcher)
                Frame(callId: 1, message: .watchTopologyRequest(WatchTopologyRequest(query: TopologyQuery())))
                    .encodeLengthPrefixed(appendingTo: &conn.out)
                driver.scheduleFlush(conn)
                watchers.append(conn)
            }
            // The probe heartbeats meanwhile: at a million services four snapshots take longer to
            // arrive than the STALE threshold, and a probe silent that long was declared DEAD.
            guard runKeepingProbeAlive(driver, untilNs: monotonicNs() + 60_000_000_000, done: { watchers.allSatisfy(\.snapshotSeen) }) else {
                check(false, "watch snapshots not received after 60 s")
                break
            }
            runKeepingProbeAlive(driver, untilNs: monotonicNs() + Int64(o.settleMs) * 1_000_000)
            driver.watchLatency = Samples()
            let firstProbe = driver.probeSendNs.count
            let frames0 = watchers.reduce(0) { $0 + $1.watchFrames }
            let t0 = Proc.sample(pid), g0 = Proc.sample(0)
            driver.startProbing(now: t0.wallNs)
            driver.run(untilNs: t0.wallNs + Int64(o.watchMs) * 1_000_000)
            driver.probing = false
            let t1 = Proc.sample(pid), g1 = Proc.sample(0)
            driver.run(untilNs: monotonicNs() + Int64(o.drainMs) * 1_000_000)  // late deliveries still count
            let probes = driver.probeSendNs.count - firstProbe
            let frames = watchers.reduce(0) { $0 + $1.watchFrames } - frames0
            let wl = "\(l).watch\(w)"
            result(wl, "probes", String(probes))
            result(wl, "samples", String(driver.watchLatency.count))
            result(wl, "missed", String(probes * w - driver.watchLatency.count))
            result(wl, "p50_ms", milliseconds(driver.watchLatency.percentile(50)))
            result(wl, "p99_ms", milliseconds(driver.watchLatency.percentile(99)))
            result(wl, "max_ms", milliseconds(driver.watchLatency.max))
            result(wl, "frames_per_s", fixed(Double(frames) / (Double(t1.wallNs - t0.wallNs) / 1e9), 0))
            result(wl, "target_core_pct", fixed(t1.corePercent(since: t0)))
            result(wl, "generator_core_pct", fixed(g1.corePercent(since: g0)))
            result(wl, "resyncs", String(driver.watchResyncs))
            check(driver.watchLatency.count > 0, "no watch deliveries measured with \(w) watchers")
        }
        for conn in watchers + [probe] where conn.open {
            conn.open = false
            Net.abortiveClose(conn.fd)
        }
        driver.silenced[Int(driver.probeService)] = true  // it stops heartbeating now; not part of the fleet
    }

    // Dead detection: `silence` services stop heartbeating at the same instant. Each one's deadline
    // is its last heartbeat's send time + interval x multiplier (the server received it a little
    // later, so the lateness below is an upper bound).
    if o.silence > 0 {
        let step = max(1, services.count / o.silence)
        let victims = Array(stride(from: 0, to: services.count, by: step).prefix(o.silence)).map { Int(services[$0]) }
        for s in victims { driver.silenced[s] = true }
        driver.staleOrDeadUnexpected = 0
        let deadNs = driver.intervalNs * Int64(o.multiplier)
        let silenceStart = monotonicNs()
        let all = driver.run(untilNs: silenceStart + deadNs + driver.intervalNs + 10_000_000_000) {
            victims.allSatisfy { driver.deadSeenNs[$0] != 0 }
        }
        var lateness = Samples()
        var early = 0
        for s in victims where driver.deadSeenNs[s] != 0 {
            let late = driver.deadSeenNs[s] - (driver.lastSendNs[s] + deadNs)
            if late < 0 { early += 1 }
            lateness.add(late)
        }
        result(l, "dead_silenced", String(victims.count))
        result(l, "dead_seen", String(lateness.count))
        result(l, "dead_lateness_p50_ms", milliseconds(lateness.percentile(50)))
        result(l, "dead_lateness_p90_ms", milliseconds(lateness.percentile(90)))
        result(l, "dead_lateness_p99_ms", milliseconds(lateness.percentile(99)))
        result(l, "dead_lateness_max_ms", milliseconds(lateness.max))
        result(l, "dead_over_50ms", String(lateness.values.filter { $0 > 50_000_000 }.count))
        result(l, "dead_early", String(early))
        result(l, "dead_others_stale_or_dead", String(driver.staleOrDeadUnexpected))
        check(all, "only \(lateness.count) of \(victims.count) silenced services seen DEAD")
        check(early == 0, "\(early) services declared DEAD before their deadline")
        check(driver.staleOrDeadUnexpected == 0, "heartbeating services declared STALE/DEAD: \(driver.staleOrDeadUnexpectedIds)")
    }
    result(l, "errors", String(driver.errors))
    for e in driver.firstErrors { log("\(l): \(e)") }
    check(driver.errors == 0, "\(driver.errors) errors")
    driver.closeAll()
    return ok
}
