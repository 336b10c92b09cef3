@testable import TopologyCore
@testable import TopologyProtocol
import XCTest

/// The heartbeat bits of a connection's call table always agree with the table, and a call's node
/// hint goes with the call.
final class CallTableTests: XCTestCase {
    func testHeartbeatBitsFollowTheTable() {
        var table = CallTable(seed: (3, 4))
        var reference: [UInt64: CallTable.Call] = [:]
        var hints: [UInt64: NodeHint] = [:]
        var state: UInt64 = 9
        func next() -> UInt64 {  // xorshift: ids and operations
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return state
        }
        let ids: [UInt64] = [1, 2, 63, 64, 65, 127, 8_191, 8_192, 8_193, 1 << 40] + (0..<40).map { _ in next() % 9_000 }
        for step in 0..<20_000 {
            let id = ids[Int(next() % UInt64(ids.count))]
            switch next() % 5 {
            case 0, 1:
                table[id] = .heartbeat
                reference[id] = .heartbeat
                table.setHint(id, NodeHint(slot: Int32(step)))
                hints[id] = id < CallTable.hintLimit ? NodeHint(slot: Int32(step)) : NodeHint.none
            case 2:
                table[id] = .activity(accepted: Int64(step))
                reference[id] = .activity(accepted: Int64(step))
            case 3:
                XCTAssertEqual(table.removeValue(forKey: id).map(\.name), reference.removeValue(forKey: id).map(\.name))
            default:
                if step % 1_000 == 0 {
                    table.removeAll()
                    reference.removeAll()
                } else {
                    table[id] = nil
                    reference[id] = nil
                }
            }
            for (id, call) in reference { if case .heartbeat = call {} else { hints[id] = nil } }
            for id in hints.keys where reference[id] == nil { hints[id] = nil }
            for id in ids {
                XCTAssertEqual(table.hint(id), hints[id] ?? .none, "hint of \(id) at step \(step)")
                let isHeartbeat: Bool
                if case .heartbeat? = reference[id] { isHeartbeat = true } else { isHeartbeat = false }
                // The bit is a cache: set only for open heartbeat calls, and for every one with a small id.
                XCTAssertEqual(table.isOpenHeartbeat(id), isHeartbeat && id < CallTable.bitLimit, "id \(id) step \(step)")
                XCTAssertEqual(table[id].map(\.name), reference[id].map(\.name))
            }
            XCTAssertEqual(table.count, reference.count)
        }
    }
}
