import Foundation
import TopologyServer
import TopologyWire
import XCTest

/// Timer precision under load: 100,000 services registered over the wire, all going silent, each
/// must turn STALE and DEAD within 50 ms of its deadline. A benchmark, not part of the default run:
/// `TOPOLOGY_SERVER_BENCH=1 swift test -c release --filter TimerPrecisionBenchmark`.
final class TimerPrecisionBenchmark: XCTestCase {
    func testHundredThousandServicesGoStaleAndDeadOnTime() throws {
        let env = ProcessInfo.processInfo.environment
        guard env["TOPOLOGY_SERVER_BENCH"] == "1" else { throw XCTSkip("set TOPOLOGY_SERVER_BENCH=1 to run") }
        let count = Int(env["TOPOLOGY_SERVER_BENCH_SERVICES"] ?? "") ?? 100_000
        let server = try RunningServer {
            $0.topology.heartbeatIntervalMs = 2_000
            $0.topology.timeoutMultiplier = 3
            $0.topology.watchBufferLimit = 1_000_000
            $0.topology.historyLimit = 1_000
        }
        defer { server.stop() }
        // A watcher reads every update on its own thread and measures, for each STALE and DEAD,
        // when it arrived against the deadline (silence > 2 x interval, > interval x multiplier).
        let watcher = try server.client()
        let watch = watcher.startWatch()
        _ = try watcher.update(on: watch)
        final class Collected: @unchecked Sendable {
            let lock = NSLock()
            var staleLateness: [Int64] = [], deadLateness: [Int64] = []
            var resyncs = 0
        }
        let collected = Collected()
        let reader = Thread { [collected] in
            let lock = collected.lock
            while true {
                guard let update = try? watcher.update(on: watch, timeout: 30) else { return }
                let at = wallMs()
                if update.resync { lock.lock(); collected.resyncs += 1; lock.unlock() }
                guard update.type == .nodeUpdated, let node = update.node else { continue }
                let base = max(node.lastHeartbeatMs, node.registeredMs)
                lock.lock()
                if node.state == .stale { collected.staleLateness.append(at - (base + 4_000 + 1)) }
                if node.state == .dead { collected.deadLateness.append(at - (base + 6_000 + 1)) }
                lock.unlock()
            }
        }
        reader.start()
        let client = try server.client()
        let start = Date()
        var sent = 0
        while sent < count {
            let batch = min(1_000, count - sent)
            var bytes: [UInt8] = []
            for i in 0..<batch {
                Frame(callId: UInt64(sent + i + 1), message: .registerServiceRequest(RegisterServiceRequest(serviceName: "svc-\(sent + i)")))
                    .encodeLengthPrefixed(appendingTo: &bytes)
            }
            client.sendRaw(bytes)
            for i in 0..<batch { _ = try client.readFrame(call: UInt64(sent + i + 1), timeout: 30) }
            sent += batch
        }
        let registerSeconds = Date().timeIntervalSince(start)
        // Registration takes a while: services registered first go STALE (4 s) and DEAD (6 s)
        // first. Wait until all are gone.
        try eventually(timeout: 60, "all services DEAD") { server.server.stats().services == 0 }
        let stats = server.server.stats()
        print("benchmark: \(count) services registered in \(String(format: "%.1f", registerSeconds)) s; "
              + "timer wake-ups \(stats.timerWakeups), worst lateness \(stats.maxTimerLatenessMs) ms")
        XCTAssertLessThanOrEqual(stats.maxTimerLatenessMs, 50)
        let lock = collected.lock
        try eventually(timeout: 30, "the watcher to see every DEAD") { lock.lock(); defer { lock.unlock() }; return collected.deadLateness.count >= count }
        lock.lock()
        let stale = collected.staleLateness.sorted(), dead = collected.deadLateness.sorted(), resyncs = collected.resyncs
        lock.unlock()
        func p(_ a: [Int64], _ q: Double) -> Int64 { a.isEmpty ? -1 : a[min(a.count - 1, Int(Double(a.count) * q))] }
        print("benchmark: watcher saw \(stale.count) STALE (lateness p50 \(p(stale, 0.5)) ms, p99 \(p(stale, 0.99)) ms, max \(stale.last ?? -1) ms, min \(stale.first ?? -1) ms), "
              + "\(dead.count) DEAD (p50 \(p(dead, 0.5)) ms, p99 \(p(dead, 0.99)) ms, max \(dead.last ?? -1) ms), resyncs \(resyncs)")
        XCTAssertEqual(stale.count, count)
        XCTAssertLessThanOrEqual(dead.last ?? .max, 50)
        XCTAssertLessThanOrEqual(stale.last ?? .max, 50)
    }
}
