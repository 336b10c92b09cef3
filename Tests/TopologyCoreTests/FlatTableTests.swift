import XCTest
@testable import TopologyCore
import TopologyWire

/// `FlatTable` against `Dictionary`: random inserts, updates and removals (the removals exercise the
/// backward shift), for service keys and for call ids, including keys that share their home slot.
final class FlatTableTests: XCTestCase {
    func testRandomOperationsMatchADictionary() {
        var rng = SplitMix64(seed: 21)
        for round in 0..<4 {
            var table = FlatTable<ServiceKey, Int32>(seed: (rng.next(), rng.next()))
            var reference: [ServiceKey: Int32] = [:]
            // A small key space, so inserts, updates and removals hit the same keys again and again;
            // round 3 uses keys that differ only in a few bits (clustering).
            let keys: [ServiceKey] = (0..<300).map {
                round == 3 ? ServiceKey(high: 7, low: UInt64($0)) : ServiceKey(high: rng.next(), low: rng.next())
            }
            for step in 0..<20_000 {
                let key = keys[Int(rng.next() % UInt64(keys.count))]
                switch rng.next() % 3 {
                case 0, 1:
                    let value = Int32(truncatingIfNeeded: step)
                    XCTAssertEqual(table.updateValue(value, forKey: key), reference.updateValue(value, forKey: key))
                default:
                    XCTAssertEqual(table.removeValue(forKey: key), reference.removeValue(forKey: key))
                }
                XCTAssertEqual(table.count, reference.count)
                if step % 997 == 0 {
                    for key in keys { XCTAssertEqual(table[key], reference[key], "round \(round) step \(step)") }
                    XCTAssertEqual(Dictionary(uniqueKeysWithValues: table.elements.map { ($0.key, $0.value) }), reference)
                }
            }
            for key in keys { XCTAssertEqual(table[key], reference[key]) }
            table.removeAll()
            XCTAssertTrue(table.isEmpty)
            XCTAssertNil(table[keys[0]])
        }
    }

    func testCallIdsThroughTheSubscript() {
        var table = FlatTable<UInt64, String>(seed: (1, 2))
        var reference: [UInt64: String] = [:]
        var rng = SplitMix64(seed: 22)
        for step in 0..<5_000 {
            let id = UInt64(rng.next() % 64) + 1  // small, sequential ids, as clients number calls
            if rng.next() % 2 == 0 {
                table[id] = "v\(step)"
                reference[id] = "v\(step)"
            } else {
                table[id] = nil
                reference[id] = nil
            }
            XCTAssertEqual(table[id], reference[id])
        }
        for id in UInt64(0)...70 { XCTAssertEqual(table[id], reference[id]) }
        XCTAssertEqual(table.count, reference.count)
    }
}
