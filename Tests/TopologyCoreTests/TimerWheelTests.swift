import TopologyWire
import XCTest
@testable import TopologyCore

/// The core's timers. The wheel is checked against a plain sorted list driven the way the core
/// drives it: a clock that never goes back, entries pushed for now or later (some far beyond the
/// wheel's span, some already due), and everything due popped at each step.
final class TimerWheelTests: XCTestCase {
    func testEntriesComeOutInTimeOrderWithinAndBeyondTheSpan() {
        var wheel = TimerWheel(startMs: 3)
        let span = TimerWheel.span
        let times: [Int64] = [5, 3 * span, 70, span - 1, span + 10, 5, 2, 400_000_000]
        for (i, time) in times.enumerated() { wheel.push(TimerEntry(time: time, ref: UInt32(i), generation: 0)) }
        XCTAssertEqual(wheel.count, times.count)
        var popped: [Int64] = []
        while let entry = wheel.popFirst() {
            popped.append(entry.time)
            XCTAssertEqual(wheel.count, times.count - popped.count)
        }
        // 2 is before the wheel's start: the heap holds it, and it comes out first.
        XCTAssertEqual(popped, [2, 5, 5, 70, span - 1, span + 10, 3 * span, 400_000_000])
        XCTAssertNil(wheel.first)
    }

    func testAgreesWithASortedListUnderTheCoresPattern() {
        var rng = SplitMix64(seed: 11)
        for round in 0..<20 {
            var now: Int64 = 1_700_000_000_000 + Int64(round)
            var wheel = TimerWheel(startMs: now)
            var model: [TimerEntry] = []
            var nextRef: UInt32 = 0
            for _ in 0..<3_000 {
                for _ in 0..<Int.random(in: 0...6, using: &rng) {
                    let delay: Int64
                    switch Int.random(in: 0..<10, using: &rng) {
                    case 0: delay = 0  // due at once (a throttled refresh whose period is over)
                    case 1: delay = Int64.random(in: TimerWheel.span...(4 * TimerWheel.span), using: &rng)  // beyond the span
                    default: delay = Int64.random(in: 1...15_000, using: &rng)  // liveness, throttle
                    }
                    let entry = TimerEntry(time: now + delay, ref: nextRef, generation: 0)
                    nextRef += 1
                    wheel.push(entry)
                    model.append(entry)
                }
                // The clock moves on, sometimes by a lot (an idle server sleeps until the next deadline).
                now += Int.random(in: 0..<20, using: &rng) == 0 ? Int64.random(in: 0...200_000, using: &rng) : Int64.random(in: 0...40, using: &rng)
                model.sort { $0.time < $1.time }
                XCTAssertEqual(wheel.first?.time, model.first?.time)
                while let entry = wheel.first, entry.time <= now {
                    let popped = wheel.popFirst()!
                    XCTAssertEqual(popped.time, model.first!.time, "round \(round)")
                    let index = model.firstIndex { $0.ref == popped.ref }!
                    XCTAssertEqual(model[index].time, popped.time)
                    model.remove(at: index)
                }
                XCTAssertEqual(wheel.count, model.count)
                if let next = model.first { XCTAssertGreaterThan(next.time, now) }
            }
        }
    }

    /// An entry pushed for a time the wheel has passed is due at once: it is the next one out.
    func testAnEntryForAPastTimeIsTheNextOut() {
        var wheel = TimerWheel(startMs: 50)
        for time: Int64 in [100, 200, 300] { wheel.push(TimerEntry(time: time, ref: UInt32(time), generation: 0)) }
        XCTAssertEqual(wheel.popFirst()?.time, 100)
        XCTAssertEqual(wheel.popFirst()?.time, 200)
        wheel.push(TimerEntry(time: 150, ref: 150, generation: 0))
        XCTAssertEqual(wheel.first?.ref, 150)
        XCTAssertEqual(wheel.popFirst()?.ref, 150)
        XCTAssertEqual(wheel.popFirst()?.time, 300)
        XCTAssertNil(wheel.popFirst())
        XCTAssertEqual(wheel.count, 0)
    }

    /// Buckets come in pages of about a second, made when a timer falls in one and freed with its
    /// last timer: the memory follows the span of the timers held, not the wheel's.
    func testPagesAreMadeForTheTimersHeldAndFreedWithTheirLastOne() {
        var wheel = TimerWheel(startMs: 0)
        XCTAssertEqual(wheel.allocatedPages, 0)
        for time: Int64 in stride(from: 10, to: 3_000, by: 7) { wheel.push(TimerEntry(time: time, ref: 0, generation: 0)) }
        XCTAssertEqual(wheel.allocatedPages, 3, "0-3 s: three pages of 1,024 ms")
        wheel.push(TimerEntry(time: 60_000, ref: 1, generation: 0))
        XCTAssertEqual(wheel.allocatedPages, 4)
        while let entry = wheel.first, entry.time < 2_048 { _ = wheel.popFirst() }
        XCTAssertEqual(wheel.allocatedPages, 2, "the first two pages went with their last timers")
        while wheel.popFirst() != nil {}
        XCTAssertEqual(wheel.allocatedPages, 0)
    }
}
