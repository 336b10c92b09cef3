import XCTest
@testable import TopologyHTTP2

/// The token bucket behind the abuse budgets, on hand-moved time.
final class HTTP2RateBudgetTests: XCTestCase {
    func testBurstThenSteadyRate() {
        var budget = HTTP2RateBudget(HTTP2RateLimit(events: 4, perMilliseconds: 1_000))
        XCTAssertEqual((0..<5).map { _ in budget.spend(now: 10) }, [true, true, true, true, false])
        // One event back every 250 ms, not before.
        XCTAssertFalse(budget.spend(now: 259))
        XCTAssertTrue(budget.spend(now: 260))
        XCTAssertFalse(budget.spend(now: 260))
        // A whole window later, a whole burst again, and no more.
        XCTAssertEqual((0..<5).map { _ in budget.spend(now: 5_000) }, [true, true, true, true, false])
    }

    func testTimeGoingBackwardsRefillsNothing() {
        var budget = HTTP2RateBudget(HTTP2RateLimit(events: 2, perMilliseconds: 1_000))
        XCTAssertTrue(budget.spend(now: 1_000))
        XCTAssertTrue(budget.spend(now: 1_000))
        XCTAssertFalse(budget.spend(now: 0))
        XCTAssertFalse(budget.spend(now: 1_499), "the clock's high mark was 1,000: 499 ms later is less than one event")
        XCTAssertTrue(budget.spend(now: 1_500))
    }

    func testRefillAndHugeGapsDoNotOverflow() {
        var budget = HTTP2RateBudget(HTTP2RateLimit(events: 1_000, perMilliseconds: 60_000))
        for _ in 0..<1_000 { XCTAssertTrue(budget.spend(now: 0)) }
        XCTAssertFalse(budget.spend(now: 0))
        budget.refill()
        XCTAssertTrue(budget.spend(now: 0))
        XCTAssertTrue(budget.spend(now: Int64.max))
    }
}
