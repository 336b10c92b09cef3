import Dispatch
import Foundation
@testable import TopologyServer
import TopologyWire
import XCTest

/// A loop that always has more ready sockets than one turn's input budget (a registration storm,
/// a fleet coming back after a restart) still moves its input horizon: a service that went silent
/// is declared DEAD on time while every turn is cut short, and the services that keep
/// heartbeating through the storm live.
final class InputStormTests: XCTestCase {
    /// Enough that the sockets a turn leaves are ready again before the next turns get to them.
    static let flooders = 128

    func testASilentServiceDiesOnTimeWhileEveryTurnIsCutShort() throws {
        let running = try RunningServer {
            $0.topology.heartbeatIntervalMs = 200  // DEAD after more than 600 ms of silence
            $0.topology.timeoutMultiplier = 3
            $0.turnInputBudgetMs = 0  // 16 sockets a turn
        }
        defer { running.stop() }
        // Each client keeps two batches of 20 heartbeats of its own service in flight, so
        // that its socket is ready again soon after its replies go out: eight times what a turn takes.
        let flood = Flood()
        let group = DispatchGroup()
        for index in 0..<Self.flooders {
            let client = try running.client()
            let service = try client.register("flood-\(index)")
            group.enter()
            // A thread each: the global queue would run only a few of these blocking loops at once.
            Thread {
                flood.run(client, serviceID: service.serviceId)
                group.leave()
            }.start()
        }
        defer {
            flood.stop()
            XCTAssertEqual(group.wait(timeout: .now() + 20), .success, "the flooders stop")
        }
        let cutAtStart = running.server.stats().turnsCutShort
        try eventually(timeout: 10, "the storm cuts turns short") { running.server.stats().turnsCutShort - cutAtStart >= 20 }

        // Then a service registers, heartbeats once and goes silent.
        let owner = try running.client()
        let silent = try owner.register("silent")
        XCTAssertNotNil(try owner.heartbeat(call: owner.newCallID(), serviceID: silent.serviceId, sequence: 1).message)
        let watcher = try running.client()
        let watch = watcher.startWatch(TopologyQuery(serviceNames: ["silent"]))
        let snapshot = try watcher.update(on: watch)
        XCTAssertEqual(snapshot.type, .snapshot)
        let lastHeartbeatMs = try XCTUnwrap(snapshot.snapshot?.nodes.first?.lastHeartbeatMs)
        let cutBefore = running.server.stats().turnsCutShort
        var removedAtMs: Int64?
        while removedAtMs == nil, wallMs() - lastHeartbeatMs < 5_000 {
            let update = try watcher.update(on: watch, timeout: 5)
            if update.type == .nodeRemoved { removedAtMs = wallMs() }
        }
        let cutDuring = running.server.stats().turnsCutShort - cutBefore

        let removed = try XCTUnwrap(removedAtMs, "still alive 5 s after its last heartbeat")
        let lateness = removed - (lastHeartbeatMs + 600 + 1)
        XCTAssertLessThanOrEqual(lateness, 1_000, "DEAD \(lateness) ms late")
        XCTAssertGreaterThan(cutDuring, 20, "the storm went on cutting turns short meanwhile")
        XCTAssertEqual(flood.failures, [], "every flood heartbeat acknowledged")
        XCTAssertGreaterThan(flood.acknowledged, Self.flooders * 40)
    }
}

/// Heartbeat floods on several threads, until stopped.
private final class Flood: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false
    private(set) var acknowledged = 0
    private(set) var failures: [String] = []

    func stop() { lock.withLock { stopped = true } }

    func run(_ client: TestClient, serviceID: String) {
        var sequence: Int64 = 0
        let call = client.newCallID()  // a service's heartbeats share one call
        func batch() {
            var bytes: [UInt8] = []
            for _ in 0..<20 {
                sequence += 1
                let frame = Frame(callId: call, message: .heartbeatRequest(HeartbeatRequest(serviceId: serviceID, sequence: sequence)))
                frame.encodeLengthPrefixed(appendingTo: &bytes)
            }
            client.sendRaw(bytes)
        }
        batch()
        // At most 15 s, should the server never get to the silent service.
        let deadline = wallMs() + 15_000
        while !lock.withLock({ stopped }), wallMs() < deadline {
            batch()
            for _ in 0..<20 {
                let reply = try? client.readFrame(timeout: 10)
                guard case .heartbeatResponse(let response)? = reply?.message, response.acknowledged else {
                    return lock.withLock { failures.append("\(serviceID): not acknowledged: \(String(describing: reply))") }
                }
                lock.withLock { acknowledged += 1 }
            }
        }
    }
}
