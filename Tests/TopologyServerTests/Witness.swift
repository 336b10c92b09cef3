import Foundation
import TopologyWire
import XCTest

/// A connection that heartbeats one service and measures how long each ack takes: the
/// well-behaved client that must not notice what another client does to the server.
/// Used by one thread at a time (handed over to a `WitnessThread`).
final class Witness: @unchecked Sendable {
    let client: TestClient
    let serviceID: String
    let call: UInt64
    var sequence: Int64 = 0
    var worstAckMs: Double = 0

    init(_ server: RunningServer) throws {
        client = try server.client()
        serviceID = try client.register("witness").serviceId
        call = client.newCallID()
    }

    /// One heartbeat: nil when it was acknowledged with its sequence, else what was wrong.
    func beatOnce() throws -> String? {
        sequence += 1
        let start = Date()
        let reply = try client.heartbeat(call: call, serviceID: serviceID, sequence: sequence)
        worstAckMs = max(worstAckMs, Date().timeIntervalSince(start) * 1000)
        guard case .heartbeatResponse(let response)? = reply.message else { return "no ack: \(reply.jsonString())" }
        guard response.acknowledged, response.sequence == sequence else {
            return "ack \(response.sequence) acknowledged=\(response.acknowledged) for beat \(sequence)"
        }
        return nil
    }

    func beat(file: StaticString = #filePath, line: UInt = #line) throws {
        if let problem = try beatOnce() { XCTFail(problem, file: file, line: line) }
    }
}

/// A witness heartbeating on its own thread, one beat every `periodMs`, while the test thread
/// abuses the server; `stop()` returns what it saw.
final class WitnessThread: @unchecked Sendable {
    struct Summary {
        var beats = 0
        var worstAckMs: Double = 0
        var problems: [String] = []
    }

    private let lock = NSLock()
    private var stopping = false
    private var summary = Summary()
    private let done = DispatchSemaphore(value: 0)

    init(_ witness: Witness, periodMs: UInt32 = 20) {
        let thread = Thread { [self] in
            while !isStopping {
                let problem: String?
                do { problem = try witness.beatOnce() } catch { problem = "beat \(witness.sequence): \(error)" }
                record(problem, worstAckMs: witness.worstAckMs)
                usleep(periodMs * 1000)
            }
            done.signal()
        }
        thread.start()
    }

    private var isStopping: Bool { lock.lock(); defer { lock.unlock() }; return stopping }
    private var beats: Int { lock.lock(); defer { lock.unlock() }; return summary.beats }

    private func record(_ problem: String?, worstAckMs: Double) {
        lock.lock()
        summary.beats += 1
        summary.worstAckMs = worstAckMs
        if let problem { summary.problems.append(problem) }
        lock.unlock()
    }

    /// Stops the thread (once; later calls just return the summary).
    @discardableResult
    func stop() -> Summary {
        lock.lock()
        let running = !stopping
        stopping = true
        lock.unlock()
        if running {
            XCTAssertEqual(done.wait(timeout: .now() + 10), .success, "the witness thread did not stop")
        }
        lock.lock(); defer { lock.unlock() }
        return summary
    }

    /// Stops and asserts that every beat was acknowledged within `boundMs`, and that there were at
    /// least `minimumBeats` of them (so the witness really ran alongside the abuse). An abuse over in
    /// less than that many periods (500 refused connections took 48 ms) is followed by the beats it
    /// lacks: the server must still answer at once after it.
    func assertUnaffected(boundMs: Double, minimumBeats: Int = 3, file: StaticString = #filePath, line: UInt = #line) {
        let deadline = Date().addingTimeInterval(5)
        while beats < minimumBeats, Date() < deadline { usleep(5_000) }
        let seen = stop()
        print("witness: \(seen.beats) beats, worst ack \(Int(seen.worstAckMs.rounded())) ms")
        XCTAssertEqual(seen.problems, [], "the witness was affected", file: file, line: line)
        XCTAssertGreaterThanOrEqual(seen.beats, minimumBeats, "the witness hardly ran", file: file, line: line)
        XCTAssertLessThan(seen.worstAckMs, boundMs, "the witness waited \(Int(seen.worstAckMs)) ms for an ack", file: file, line: line)
    }
}

/// The resident memory of this process (server and test clients alike), from /proc/self/status.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    else { return 0 }
    return kib * 1024
}
