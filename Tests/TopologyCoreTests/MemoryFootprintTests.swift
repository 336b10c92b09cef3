import XCTest
@testable import TopologyCore
import TopologyWire

/// The per-service structures of the core, held to the budget that puts a million services in one
/// process under 1 GiB (issue 18; the whole-process figures are in docs/performance.md). The sizes
/// are the compiler's, exact on a given Swift version, so these cannot be noisy; a field added to
/// a node must be worth its bytes a million times over, and raising a budget here says so in review.
final class MemoryFootprintTests: XCTestCase {
    func testNodeRecordStaysWithinItsBudget() {
        // 440 bytes before issue 18: metadata inline (112), a resolution key list per node, padding.
        XCTAssertLessThanOrEqual(MemoryLayout<NodeRecord>.stride, 304)
        XCTAssertLessThanOrEqual(MemoryLayout<ServiceNode>.stride, 208)
    }

    func testResolutionSlotsAreOneWord() {
        // A word, as the array it replaced: the one slot of a key is inline, not a heap block.
        XCTAssertEqual(MemoryLayout<ResolutionSlots>.stride, 8)
    }

    /// Random inserts and removes against a plain array of the slots that should be listed.
    func testResolutionSlotsAgainstAModel() {
        var rng = SplitMix64(seed: 18)
        for _ in 0..<200 {
            var slots: ResolutionSlots?
            var model: [Int32] = []
            for _ in 0..<40 {
                if model.isEmpty || rng.next() % 3 != 0 {
                    let slot = Int32(rng.next() % 1_000)
                    guard !model.contains(slot) else { continue }
                    if slots?.insert(slot) == nil { slots = .one(slot) }
                    model.append(slot)
                } else {
                    let slot = model.remove(at: Int(rng.next() % UInt64(model.count)))
                    if slots?.remove(slot) == false { slots = nil }
                }
                var listed: [Int32] = []
                slots?.forEach { listed.append($0) }
                XCTAssertEqual(listed.sorted(), model.sorted())
                if model.count == 1 { XCTAssertEqual(slots, .one(model[0]), "one slot is held inline") }
            }
        }
    }

    /// Replicas share a name: resolution picks the earliest registered, and the name keeps resolving
    /// as replicas leave, down to none.
    func testSharedNameResolvesAsReplicasComeAndGo() {
        var harness = Harness()
        let ids = (0..<5).map { harness.register("checkout", address: "10.0.0.\($0):80") }
        harness.register("frontend")
        func resolved(_ target: String) -> String? {
            harness.topology.resolve(target).map { harness.topology.nodes[Int($0)].wire.serviceId }
        }
        for (index, id) in ids.enumerated() {
            XCTAssertEqual(resolved("checkout"), id)
            XCTAssertEqual(resolved("10.0.0.\(index):80"), id)
            XCTAssertEqual(resolved("checkout@10.0.0.\(index):80"), id)
            _ = harness.topology.unregister(UnregisterServiceRequest(serviceId: id), now: harness.now)
        }
        XCTAssertNil(resolved("checkout"))
        XCTAssertNil(harness.topology.resolutionIndex["checkout"], "a key with no node left is dropped")
        XCTAssertEqual(harness.topology.resolutionIndex.count, 1, "only the last service's name is left")
        XCTAssertNotNil(harness.topology.resolutionIndex["frontend"])
    }
}
