import XCTest
@testable import TopologyCore

/// `IncrementalDictionary` against a plain `Dictionary` doing the same writes: every value and the
/// count agree after each one, through several moves, with keys updated, removed and re-added while
/// a move is under way.
final class IncrementalDictionaryTests: XCTestCase {
    func testItAgreesWithADictionaryThroughEveryMove() {
        var table = IncrementalDictionary<String, [Int]>()
        var model: [String: [Int]] = [:]
        var generator = SystemRandomNumberGenerator()
        var moves = 0, wasMoving = false
        let keySpace = 200_000
        for step in 0..<300_000 {
            // Mostly inserts early on (the table grows through several moves), then a mix.
            let key = "k\(Int.random(in: 0..<(step < 150_000 ? keySpace : keySpace / 2), using: &generator))"
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<6:
                if table[key]?.append(step) == nil { table[key] = [step] }
                if model[key]?.append(step) == nil { model[key] = [step] }
            case 6..<8:
                table[key] = nil
                model[key] = nil
            default:
                XCTAssertEqual(table[key], model[key], "read of \(key) at step \(step)")
            }
            if table.isMoving && !wasMoving { moves += 1 }
            wasMoving = table.isMoving
            if step % 10_007 == 0 {
                XCTAssertEqual(table.count, model.count, "count at step \(step)")
            }
        }
        XCTAssertGreaterThanOrEqual(moves, 2, "the table grew through moves")
        XCTAssertEqual(table.count, model.count)
        for (key, value) in model { XCTAssertEqual(table[key], value, key) }
        for index in 0..<keySpace where model["k\(index)"] == nil { XCTAssertNil(table["k\(index)"]) }
    }

    /// A full table does not rehash in one write: the write that finds it full starts a move, and
    /// the move ends after a bounded number of writes, or at once with `migrate`.
    func testAMoveIsSpreadOverTheWritesThatFollowAndEnds() {
        var table = IncrementalDictionary<Int, Int>()
        var key = 0
        while !table.isMoving {
            table[key] = key
            key += 1
        }
        let full = key - 1
        XCTAssertGreaterThanOrEqual(full, IncrementalDictionary<Int, Int>.incrementalFrom)
        var writes = 0
        while table.isMoving {
            table[key] = key
            key += 1
            writes += 1
        }
        XCTAssertLessThanOrEqual(writes, full / IncrementalDictionary<Int, Int>.stepPerWrite + 1)
        for k in 0..<key { XCTAssertEqual(table[k], k) }
        XCTAssertEqual(table.count, key)

        while !table.isMoving {
            table[key] = key
            key += 1
        }
        XCTAssertNotNil(table.takeRetired(), "the first move's table is left for the owner to free")
        XCTAssertNil(table.takeRetired())
        table.migrate(.max)
        XCTAssertFalse(table.isMoving)
        XCTAssertGreaterThan(table.takeRetired()?.count ?? 0, full, "the second move's table, larger than the first")
        for k in 0..<key { XCTAssertEqual(table[k], k) }
    }

    /// A value taken over from the old table and modified in place is the one read back, and the
    /// old table's copy never overwrites it.
    func testAValueModifiedDuringAMoveKeepsItsModification() {
        var table = IncrementalDictionary<Int, [Int]>()
        var key = 0
        while !table.isMoving {
            table[key] = [key]
            key += 1
        }
        table[0]?.append(-1)
        table[1] = nil
        table.migrate(.max)
        XCTAssertEqual(table[0], [0, -1])
        XCTAssertNil(table[1])
        XCTAssertEqual(table.count, key - 1)
    }
}
