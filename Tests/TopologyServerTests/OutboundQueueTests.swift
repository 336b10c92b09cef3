import XCTest
@testable import TopologyServer

/// A drained outbound queue keeps its capacity only while it is in use at about that size: after a
/// burst (a hundred registration replies) an idle connection gives it back (`DrainedBuffer`).
final class OutboundQueueTests: XCTestCase {
    private final class Queue: OutboundQueue {
        let fd: Int32 = -1
        var outbound: [UInt8] = []
        var writeIndex = 0
        var waitingForWritable = false
        var scheduledForFlush = false

        /// Queues `count` bytes and marks them all written, as a complete write would.
        func queueAndDrain(_ count: Int) {
            append(encoded: [UInt8](repeating: 7, count: count))
            writeIndex = outbound.count
            compact()
        }
    }

    func testADrainedQueueGivesBackABurstButKeepsWhatItKeepsUsing() {
        let queue = Queue()
        queue.queueAndDrain(14_000)
        let burstCapacity = queue.outbound.capacity
        XCTAssertGreaterThanOrEqual(burstCapacity, 14_000, "kept right after the burst")
        queue.outbound.append(contentsOf: [UInt8](repeating: 1, count: 12_000))
        queue.writeIndex = queue.outbound.count
        queue.compact()
        XCTAssertEqual(queue.outbound.capacity, burstCapacity, "a batch of about its size: kept, no reallocation")
        queue.outbound.append(contentsOf: [UInt8](repeating: 1, count: 46))
        queue.writeIndex = queue.outbound.count
        queue.compact()
        XCTAssertLessThanOrEqual(queue.outbound.capacity, 4 * 1024, "a heartbeat reply after the burst: given back")
        queue.queueAndDrain(1 << 20)
        XCTAssertEqual(queue.outbound.capacity, 0, "a reply over 256 KiB is never kept")
    }
}
