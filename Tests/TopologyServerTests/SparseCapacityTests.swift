import TopologyCore
import XCTest
@testable import TopologyServer

/// Tables of connections and watchers are rebuilt at their count once at most a quarter full.
final class SparseCapacityTests: XCTestCase {
    func testADictionaryAndASetAreRebuiltOnceAQuarterFullAndKeepTheirEntries() {
        var table: [UInt64: Int] = [:]
        var members: Set<UInt64> = []
        for k in 0..<5_000 as Range<UInt64> {
            table[k] = Int(k)
            members.insert(k)
        }
        let full = table.capacity
        for k in 100..<5_000 as Range<UInt64> {
            table[k] = nil
            members.remove(k)
        }
        XCTAssertEqual(table.capacity, full, "removing keeps the capacity")
        XCTAssertTrue(table.releaseSparseCapacity())
        XCTAssertTrue(members.releaseSparseCapacity())
        XCTAssertLessThan(table.capacity, 256)
        XCTAssertLessThan(members.capacity, 256)
        XCTAssertEqual(table, Dictionary(uniqueKeysWithValues: (0..<100 as Range<UInt64>).map { ($0, Int($0)) }))
        XCTAssertEqual(members, Set(0..<100))
        XCTAssertFalse(table.releaseSparseCapacity(), "small tables are left alone")
    }

    func testATableMoreThanAQuarterFullIsLeftAlone() {
        var table: [UInt64: Int] = [:]
        for k in 0..<5_000 as Range<UInt64> { table[k] = 0 }
        let full = table.capacity
        for k in 0..<3_000 as Range<UInt64> { table[k] = nil }
        XCTAssertGreaterThan(table.count * 4, full)
        XCTAssertFalse(table.releaseSparseCapacity())
        XCTAssertEqual(table.capacity, full)
    }

    /// The retry list is emptied at every round: what it needs is the most listed at once.
    func testTheRetryListIsGivenBackWhenNoRoundSinceTheLastLookNeededAQuarterOfIt() {
        var list = WatcherRetryList()
        list.append(contentsOf: (0..<5_000 as Range<UInt64>).map { WatcherID(rawValue: $0) })
        XCTAssertEqual(list.take().count, 5_000)
        XCTAssertFalse(list.releaseSparseCapacity(), "a round since the last look listed 5,000")
        list.append(WatcherID(rawValue: 7))
        XCTAssertTrue(list.releaseSparseCapacity(), "none since did")
        XCTAssertEqual(list.take(), [WatcherID(rawValue: 7)], "what was listed stays")
        XCTAssertFalse(list.releaseSparseCapacity())
    }
}
