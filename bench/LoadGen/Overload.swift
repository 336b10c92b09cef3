// The overload scenario of issue 14: a fleet heartbeating at a short interval while many watchers
// of the whole topology load the server, some of which never read. The server may fall behind;
// what it must never do is declare a service that heartbeats on time STALE or DEAD. It also must
// give back the memory the deaf watchers made it queue once they are gone.
//
// A service counts as wrongly declared when the STALE/DEAD watcher sees it STALE or DEAD while the
// generator kept it heartbeating; the generator's own lateness is reported beside it
// (`generator_max_send_lateness_ms`), since a generator starved of CPU would make a death right.
import TopologyWire
#if canImport(Glibc)
import Glibc
#endif

struct OverloadOptions {
    var label = "overload"
    var connections = 20
    var perConnection = 100
    var intervalMs = 200
    var multiplier = 3
    var watchers = 500
    /// Of `watchers`, how many never read (a receive buffer of 4 KiB, never drained).
    var deafWatchers = 100
    var holdMs = 10_000
    /// After the watchers have closed: how long the fleet keeps heartbeating before the memory
    /// given back is read.
    var afterMs = 3_000
}

func runOverload(_ driver: Driver, pid: Int32, _ o: OverloadOptions) -> Bool {
    let l = o.label
    var ok = true
    func check(_ condition: Bool, _ what: String) {
        if !condition {
            ok = false
            log("\(l): FAILED: \(what)")
        }
    }
    let staleOrDead = driver.connect(role: .watcher)
    staleOrDead.decodeEveryFrame = true
    Frame(callId: 1, message: .watchTopologyRequest(WatchTopologyRequest(query: TopologyQuery(states: [.stale, .dead]))))
        .encodeLengthPrefixed(appendingTo: &staleOrDead.out)
    driver.scheduleFlush(staleOrDead)

    // The fleet: each service heartbeats as soon as its registration is answered, then at the
    // interval. The generator's lateness counts from the first heartbeat on.
    // As the C and Python clients do, each service heartbeats on its schedule whether or not the
    // previous one was answered: a busy server's slow replies must not silence the fleet.
    driver.waitForReplies = false
    driver.heartbeatOnRegister = true
    driver.intervalNs = Int64(o.intervalMs) * 1_000_000
    driver.tickNs = 1_000_000
    driver.measureStartNs = monotonicNs()
    let conns = openFleet(driver, connections: o.connections, perConnection: o.perConnection, register: true)
    driver.heartbeatOnRegister = false
    let services = conns.flatMap(\.services)
    check(driver.errors == 0, "registration: \(driver.firstErrors)")
    driver.startPacing(services: services, startNs: monotonicNs())
    driver.run(untilNs: monotonicNs() + driver.intervalNs)
    let baselineKiB = Proc.residentKiB(pid)

    // The watchers, opened while the fleet heartbeats (a listen backlog of 4,096: no connect
    // waits); the deaf ones are never polled for input.
    let request = Frame(callId: 1, message: .watchTopologyRequest(WatchTopologyRequest(query: TopologyQuery())))
    var readers: [Conn] = []
    var deaf: [Int32] = []
    for k in 0..<o.watchers {
        if k < o.deafWatchers {
            let fd = Net.connect(driver.address, receiveBufferBytes: 4096)
            var bytes: [UInt8] = []
            request.encodeLengthPrefixed(appendingTo: &bytes)
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            deaf.append(fd)
        } else {
            let conn = driver.connect(role: .watcher)
            request.encodeLengthPrefixed(appendingTo: &conn.out)
            driver.scheduleFlush(conn)
            readers.append(conn)
        }
        if k % 50 == 49 { driver.run(untilNs: monotonicNs() + 1_000_000) }
    }

    let t0 = Proc.sample(pid)
    driver.measureEndNs = t0.wallNs + Int64(o.holdMs) * 1_000_000
    var peakKiB = baselineKiB
    while monotonicNs() < driver.measureEndNs {
        driver.run(untilNs: min(driver.measureEndNs, monotonicNs() + 500_000_000))
        peakKiB = max(peakKiB, Proc.residentKiB(pid))
    }
    let t1 = Proc.sample(pid)
    result(l, "services", String(services.count))
    result(l, "watchers", String(o.watchers))
    result(l, "deaf_watchers", String(o.deafWatchers))
    result(l, "snapshots_seen", String(readers.filter(\.snapshotSeen).count))
    let measuredSeconds = Double(driver.measureEndNs - driver.measureStartNs) / 1e9
    result(l, "acked_per_s", fixed(Double(driver.ackedInWindow) / measuredSeconds, 0))
    result(l, "rtt_p50_us", microseconds(driver.rtt.percentile(50)))
    result(l, "rtt_p99_us", microseconds(driver.rtt.percentile(99)))
    result(l, "rtt_max_us", microseconds(driver.rtt.max))
    result(l, "target_core_pct", fixed(t1.corePercent(since: t0)))
    result(l, "due_while_in_flight", String(driver.dueWhileInFlight))
    result(l, "stale_or_dead", String(driver.staleOrDeadUnexpected))
    result(l, "errors", String(driver.errors))
    for e in driver.firstErrors { log("\(l): \(e)") }

    // The watchers go; the fleet stays. The server should give back what they made it hold. The
    // generator's lateness still counts: a STALE seen now may have been declared now.
    driver.measureEndNs = .max
    // In batches, heartbeating in between: thousands of resets at once would hold the generator
    // itself up (then its late heartbeats, not the server, would make a service STALE).
    var closing = readers.filter(\.open).map(\.fd) + deaf
    for conn in readers { conn.open = false }
    while !closing.isEmpty {
        for fd in closing.suffix(100) { Net.abortiveClose(fd) }
        closing.removeLast(min(100, closing.count))
        driver.run(untilNs: monotonicNs() + 2_000_000)
    }
    driver.run(untilNs: monotonicNs() + Int64(o.afterMs) * 1_000_000)
    // The fleet's last heartbeats are sent: from here on its services go STALE by right, within
    // two intervals, while this process reports and exits (which took 400 ms and more on a loaded
    // machine). The server's log is judged up to this moment (scripts/bench.sh).
    result(l, "fleet_stopped_at", utcTimestampNow())
    let afterKiB = Proc.residentKiB(pid)
    result(l, "rss_baseline_mib", fixed(Double(baselineKiB) / 1024))
    result(l, "rss_peak_mib", fixed(Double(peakKiB) / 1024))
    result(l, "rss_after_mib", fixed(Double(afterKiB) / 1024))
    result(l, "stale_or_dead_after", String(driver.staleOrDeadUnexpected))
    result(l, "generator_max_send_lateness_ms", milliseconds(driver.maxSendLatenessNs))
    result(l, "heartbeats_max_socket_wait_ms", milliseconds(driver.maxSocketWaitNs))

    // A service goes STALE after two intervals of silence: a send more than one interval late
    // would make that right.
    check(driver.maxSendLatenessNs < driver.intervalNs,
          "the generator itself sent a heartbeat \(milliseconds(driver.maxSendLatenessNs)) ms late: the run proves nothing")
    check(driver.staleOrDeadUnexpected == 0, "services declared STALE/DEAD while heartbeating: \(driver.staleOrDeadUnexpected), e.g. \(driver.staleOrDeadUnexpectedIds)")
    check(driver.errors == 0, "\(driver.errors) errors, e.g. \(driver.firstErrors)")
    driver.closeAll()
    return ok
}
