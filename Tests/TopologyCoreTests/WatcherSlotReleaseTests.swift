import XCTest
@testable import TopologyCore
import TopologyWire

/// Watcher slots freed at the end of the slot array are given back once most of it is free, and a
/// handle to a watcher of a slot given back never matches the slot's next occupant.
final class WatcherSlotReleaseTests: XCTestCase {
    func testFreeSlotsAtTheEndAreGivenBackAndOldIdsStayUnknown() {
        var h = Harness()
        _ = h.register("a")
        let ids = (0..<1_000).map { _ in h.watch() }
        let keptCapacity = h.topology.watchers.capacity
        XCTAssertFalse(h.topology.releaseIdleWatcherSlots(), "all in use")
        // Every watcher but the first two goes: the slots after them are free.
        for id in ids.dropFirst(2) { h.topology.endWatch(id) }
        XCTAssertTrue(h.topology.releaseIdleWatcherSlots())
        XCTAssertEqual(h.topology.watchers.count, 2)
        XCTAssertLessThan(h.topology.watchers.capacity, keptCapacity / 100)
        XCTAssertTrue(h.topology.freeWatchers.isEmpty, "the free list loses the slots cut")
        XCTAssertFalse(h.topology.releaseIdleWatcherSlots(), "nothing more to give back")
        // The two left are served as before.
        _ = h.take(ids[0])
        _ = h.register("b")
        XCTAssertEqual(h.take(ids[1]).first?.type, .snapshot)
        XCTAssertEqual(h.take(ids[0]).map(\.type), [.nodeAdded])

        // New watchers take the slots again, under generations the old ids do not carry.
        let newer = (0..<998).map { _ in h.watch() }
        let newBySlot = Dictionary(uniqueKeysWithValues: newer.map { ($0.slot, $0) })
        XCTAssertEqual(Set(newBySlot.keys), Set(ids.dropFirst(2).map(\.slot)))
        for old in ids.dropFirst(2) { XCTAssertNotEqual(newBySlot[old.slot], old) }
        XCTAssertEqual(h.topology.watcherCount, 1_000)
        for old in ids.dropFirst(2) {
            XCTAssertEqual(h.topology.pendingUpdateCount(for: old), 0, "\(old) is still unknown")
            h.topology.endWatch(old)
        }
        XCTAssertEqual(h.topology.watcherCount, 1_000, "ending an old id ends no new watcher")
        XCTAssertTrue(newer.allSatisfy { h.topology.pendingUpdateCount(for: $0) == 1 }, "each has its snapshot pending")
    }

    func testASlotInUseAtTheEndKeepsTheArrayAndSmallArraysAreLeftAlone() {
        var h = Harness()
        let ids = (0..<1_000).map { _ in h.watch() }
        for id in ids.dropLast() { h.topology.endWatch(id) }
        XCTAssertFalse(h.topology.releaseIdleWatcherSlots(), "the last slot is in use")
        h.topology.endWatch(ids.last!)
        XCTAssertTrue(h.topology.releaseIdleWatcherSlots())
        XCTAssertEqual(h.topology.watchers.count, 0)

        let few = (0..<40).map { _ in h.watch() }
        for id in few { h.topology.endWatch(id) }
        XCTAssertFalse(h.topology.releaseIdleWatcherSlots(), "under Topology.keptWatcherSlots")
        XCTAssertEqual(h.topology.watchers.count, 40)
    }
}
