import TopologyCore
import XCTest
@testable import TopologyServer

/// The watchers a delivery round offers updates again: each once, in the order first added.
final class WatcherRetryListTests: XCTestCase {
    func testAWatcherAddedAgainIsListedOnceInItsFirstPlace() {
        var list = WatcherRetryList()
        let (a, b, c) = (WatcherID(rawValue: 1), WatcherID(rawValue: 2), WatcherID(rawValue: 3))
        list.append(b)
        list.append(contentsOf: [a, b, c, a])
        list.append(b)
        XCTAssertEqual(list.count, 3)
        XCTAssertEqual(list.take(), [b, a, c])
        XCTAssertTrue(list.isEmpty)
        // After a take, a watcher is listed again.
        list.append(contentsOf: [c, c])
        XCTAssertEqual(list.take(), [c])
    }

    /// What a round does under many watchers: the blocked ones come back on every drained write,
    /// the rest of a round cut short is put back, and the core's ready ones join. The list stays at
    /// one entry per watcher however many rounds run.
    func testRoundsCutShortDoNotGrowTheList() {
        var list = WatcherRetryList()
        let watchers = (0..<5_000).map { WatcherID(rawValue: UInt64($0)) }
        for round in 0..<200 {
            list.append(contentsOf: watchers.shuffled().prefix(3_000))  // drained writes, ready in the core
            let ready = list.take()
            let served = 64 * (1 + round % 4)
            list.append(contentsOf: ready[served...])  // the budget ran out
            list.append(contentsOf: watchers[(round * 7) % 4_000..<((round * 7) % 4_000 + 500)])
            XCTAssertLessThanOrEqual(list.count, watchers.count)
        }
    }
}
