import XCTest
@testable import TopologyServer

/// The input horizon of a loop that falls behind: times in, the horizon out (no sockets, no clock).
final class InputHorizonTests: XCTestCase {
    func testACompleteTurnMovesTheHorizonToWhenItsWaitBegan() {
        var h = InputHorizon(startMs: 0, maxHoldMs: 5_000)
        h.beginTurn(atMs: 1_000)
        // The turn's reading took 2 s: input that arrived meanwhile may be unread.
        XCTAssertEqual(h.horizon(nowMs: 3_000), 0)
        h.endTurn(listComplete: true, oldestUnhandledMs: nil)
        XCTAssertEqual(h.horizon(nowMs: 3_000), 1_000)
        // A wait whose ready list was cut at its capacity proves nothing about the sockets left out.
        h.beginTurn(atMs: 3_000)
        h.endTurn(listComplete: false, oldestUnhandledMs: nil)
        XCTAssertEqual(h.horizon(nowMs: 3_500), 1_000)
        h.beginTurn(atMs: 3_500)
        h.endTurn(listComplete: true, oldestUnhandledMs: nil)
        XCTAssertEqual(h.horizon(nowMs: 3_600), 3_500)
    }

    func testAConnectionBehindHoldsTheHorizonUntilDrainedOrForAtMostMaxHold() {
        var h = InputHorizon(startMs: 0, maxHoldMs: 5_000)
        h.beginTurn(atMs: 1_000)
        h.endTurn(listComplete: true, oldestUnhandledMs: nil)
        // Turn at 2,000: connection 7's read budget ran out; it stays behind from the horizon then.
        h.beginTurn(atMs: 2_000)
        h.connectionBehind(7, nowMs: 2_050)
        h.endTurn(listComplete: true, oldestUnhandledMs: nil)
        XCTAssertEqual(h.horizon(nowMs: 2_100), 1_000)
        XCTAssertTrue(h.heldByConnection(deadline: 1_500, nowMs: 2_100))
        XCTAssertFalse(h.heldByConnection(deadline: 900, nowMs: 2_100))
        // Still behind at later turns: it keeps the first time.
        h.beginTurn(atMs: 3_000)
        h.connectionBehind(7, nowMs: 3_050)
        h.endTurn(listComplete: true, oldestUnhandledMs: nil)
        XCTAssertEqual(h.horizon(nowMs: 3_100), 1_000)
        // Behind for longer than maxHold since the loop found it so (a client flooding faster than
        // the loop reads): it no longer holds the other connections' deadlines.
        XCTAssertEqual(h.horizon(nowMs: 7_050), 1_000)
        XCTAssertEqual(h.horizon(nowMs: 7_051), 3_000)
        XCTAssertFalse(h.heldByConnection(deadline: 1_500, nowMs: 7_051))
        h.connectionCaughtUp(7)
        XCTAssertEqual(h.horizon(nowMs: 3_100), 3_000)
        XCTAssertEqual(h.connectionsBehind, 0)
    }

    func testAfterALongTurnAConnectionBehindHoldsTheOldHorizonForItsFullHold() {
        var h = InputHorizon(startMs: 0, maxHoldMs: 600)
        h.beginTurn(atMs: 1_000)
        h.endTurn(listComplete: true, oldestUnhandledMs: nil)
        // The next turn took 15 s (the loop was starved); a connection has more than one read
        // budget of heartbeats waiting, sent during those 15 s.
        h.beginTurn(atMs: 16_000)
        h.connectionBehind(3, nowMs: 16_100)
        h.endTurn(listComplete: true, oldestUnhandledMs: nil)
        // Its hold counts from 16,100, not from the horizon of 1,000 it keeps.
        XCTAssertEqual(h.horizon(nowMs: 16_200), 1_000)
        XCTAssertEqual(h.horizon(nowMs: 16_700), 1_000)
        h.connectionCaughtUp(3)
        XCTAssertEqual(h.horizon(nowMs: 16_300), 16_000)
    }

    func testTheHorizonNeverPassesNow() {
        var h = InputHorizon(startMs: 0, maxHoldMs: 5_000)
        h.beginTurn(atMs: 2_000)
        h.endTurn(listComplete: true, oldestUnhandledMs: nil)
        XCTAssertEqual(h.horizon(nowMs: 1_500), 1_500)
    }

    func testHoldsAreCountedOnceEachAndReportedWhenTheyEnd() {
        var h = InputHorizon(startMs: 0, maxHoldMs: 5_000)
        // Nothing due: no hold.
        XCTAssertNil(h.noteTimers(due: 5_000, horizon: 900, nowMs: 1_000))
        XCTAssertNil(h.noteTimers(due: nil, horizon: 900, nowMs: 1_000))
        XCTAssertEqual(h.holds, 0)
        // Due at 1,000, input read through 800 only: held, twice in a row, one hold.
        XCTAssertNil(h.noteTimers(due: 1_000, horizon: 800, nowMs: 1_100))
        XCTAssertNil(h.noteTimers(due: 1_000, horizon: 850, nowMs: 1_400))
        XCTAssertEqual(h.holds, 1)
        XCTAssertEqual(h.holdStartedMs, 1_100)
        // Read through the deadline: the hold ends, with its length and largest lag.
        let ended = h.noteTimers(due: 1_000, horizon: 1_450, nowMs: 1_500)
        XCTAssertEqual(ended?.heldMs, 400)
        XCTAssertEqual(ended?.maxLagMs, 550)
        XCTAssertNil(h.holdStartedMs)
        XCTAssertEqual(h.maxLagMs, 550)
        XCTAssertNil(h.noteTimers(due: 2_000, horizon: 1_600, nowMs: 1_700))
        XCTAssertEqual(h.holds, 1)
    }

    /// A turn whose input budget ran out leaves sockets to the next turns, which handle the oldest
    /// first. The horizon moves as far as the oldest socket left allows: to the start of the turn
    /// before the one whose wait first listed it. A loop that always has more input than one
    /// turn's budget (a registration storm) still moves it, a few turns behind.
    func testATurnCutShortHoldsTheHorizonAtItsOldestSocketLeft() {
        var h = InputHorizon(startMs: 0, maxHoldMs: 5_000)
        h.beginTurn(atMs: 1_000)
        h.endTurn(listComplete: true, oldestUnhandledMs: nil)
        XCTAssertEqual(h.horizon(nowMs: 1_100), 1_000)
        // Turn at 1,100: its list's sockets were read through 1,000 (unready then, or read then).
        h.beginTurn(atMs: 1_100)
        XCTAssertEqual(h.newlyListedReadThroughMs, 1_000)
        h.endTurn(listComplete: true, oldestUnhandledMs: 1_000)
        XCTAssertEqual(h.horizon(nowMs: 1_200), 1_000, "sockets listed at 1,100 are still unread")
        // Every later turn is cut short too, but each handles the oldest sockets first: once the
        // ones listed at 1,100 are done, those left were listed at 1,200 at the earliest.
        h.beginTurn(atMs: 1_200)
        XCTAssertEqual(h.newlyListedReadThroughMs, 1_100)
        h.endTurn(listComplete: true, oldestUnhandledMs: 1_000)
        XCTAssertEqual(h.horizon(nowMs: 1_300), 1_000)
        h.beginTurn(atMs: 1_300)
        h.endTurn(listComplete: true, oldestUnhandledMs: 1_100)
        XCTAssertEqual(h.horizon(nowMs: 1_400), 1_100)
        h.beginTurn(atMs: 1_400)
        XCTAssertEqual(h.newlyListedReadThroughMs, 1_300)
        h.endTurn(listComplete: true, oldestUnhandledMs: 1_300)
        XCTAssertEqual(h.horizon(nowMs: 1_500), 1_300)
        // A turn that handles everything moves it to its own start.
        h.beginTurn(atMs: 1_500)
        h.endTurn(listComplete: true, oldestUnhandledMs: nil)
        XCTAssertEqual(h.horizon(nowMs: 1_600), 1_500)
        // A ready list cut at its capacity proves nothing, neither about the sockets left out of it
        // nor about the ones the next list names for the first time.
        h.beginTurn(atMs: 1_600)
        h.endTurn(listComplete: false, oldestUnhandledMs: nil)
        XCTAssertEqual(h.horizon(nowMs: 1_700), 1_500)
        h.beginTurn(atMs: 1_700)
        XCTAssertEqual(h.newlyListedReadThroughMs, 1_500)
        h.endTurn(listComplete: true, oldestUnhandledMs: 1_500)
        XCTAssertEqual(h.horizon(nowMs: 1_800), 1_500)
        h.beginTurn(atMs: 1_800)
        XCTAssertEqual(h.newlyListedReadThroughMs, 1_700)
    }
}
