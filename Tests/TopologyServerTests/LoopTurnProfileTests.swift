import XCTest
@testable import TopologyServer

/// The "slow loop turn" line: where a turn's time went, and which slow turns get a line.
final class LoopTurnProfileTests: XCTestCase {
    func testEachPhaseIsReportedAndInputIsWhatNoPhaseTook() {
        var profile = LoopTurnProfile(startNs: 1_000_000_000, readySockets: 812)
        profile.add(.timers, ns: 12_340_000)
        profile.add(.timers, ns: 10_000_000)  // runTimers runs several times in a turn
        profile.add(.watchers, ns: 3_000_000)
        profile.add(.writes, ns: 51_000)
        profile.add(.history, ns: 0)
        profile.add(.memory, ns: 7_960_000)
        let fields = profile.fields(endNs: 1_000_000_000 + 150_000_000)
        XCTAssertEqual(fields.map(\.key), ["turn_ms", "ready_sockets", "input_ms", "timers_ms", "watchers_ms", "writes_ms", "history_ms", "memory_ms"])
        XCTAssertEqual(fields.map(\.value), ["150.0", "812", "116.6", "22.3", "3.0", "0.1", "0.0", "8.0"])
    }

    func testMillisecondsAreRoundedToOneDecimal() {
        XCTAssertEqual(LoopTurnProfile.milliseconds(0), "0.0")
        XCTAssertEqual(LoopTurnProfile.milliseconds(49_999), "0.0")
        XCTAssertEqual(LoopTurnProfile.milliseconds(50_000), "0.1")
        XCTAssertEqual(LoopTurnProfile.milliseconds(1_234_567_890), "1234.6")
    }

    func testTurnsUnderTheThresholdAreNeitherLoggedNorCounted() {
        var log = SlowTurnLog(thresholdMs: 100)
        XCTAssertNil(log.turnEnded(turnMs: 99, nowMs: 0))
        XCTAssertEqual(log.total, 0)
        XCTAssertEqual(log.turnEnded(turnMs: 100, nowMs: 1), 0)
        XCTAssertEqual(log.total, 1)
    }

    /// A storm of slow turns gets one line a second, each counting the turns left out before it.
    func testAtMostOneLineASecondEachCountingTheTurnsLeftOut() {
        var log = SlowTurnLog(thresholdMs: 100, minGapMs: 1_000)
        var lines: [(atMs: Int64, unlogged: Int)] = []
        var now: Int64 = 10_000
        for _ in 0..<25 {  // 25 turns of 120 ms: 3 s
            now += 120
            if let unlogged = log.turnEnded(turnMs: 120, nowMs: now) { lines.append((now, unlogged)) }
        }
        XCTAssertEqual(lines.map(\.atMs), [10_120, 11_200, 12_280])
        XCTAssertEqual(lines.map(\.unlogged), [0, 8, 8])
        XCTAssertEqual(log.total, 25)
        XCTAssertEqual(log.unlogged, 6)  // the turns after the last line, for the next one
    }
}
