import XCTest
@testable import TopologyServer

/// An outbound queue keeps its capacity when it drains (a busy connection does not reallocate per
/// batch) and gives it back when the server finds it idle (`Server.releaseIdleBuffers`).
final class OutboundQueueTests: XCTestCase {
    private final class Queue: OutboundQueue {
        let fd: Int32 = -1
        var outbound: [UInt8] = []
        var writeIndex = 0
        var waitingForWritable = false
        var scheduledForFlush = false
        var countedPendingBytes = 0
    }

    func testAnIdleQueueGivesBackItsCapacityAndAPendingOneKeepsItsBytes() {
        let queue = Queue()
        queue.append(encoded: [UInt8](repeating: 7, count: 14_000))  // a hundred registration replies
        queue.writeIndex = 10_000  // a partial write
        queue.releaseIdleCapacity()
        XCTAssertEqual(queue.pendingBytes, 4_000, "bytes still to write are never dropped")
        XCTAssertEqual(Array(queue.outbound[queue.writeIndex...]), [UInt8](repeating: 7, count: 4_000))
        queue.writeIndex = queue.outbound.count
        queue.compact()
        XCTAssertGreaterThan(queue.outbound.capacity, 0, "drained: the capacity is kept for the next batch")
        queue.releaseIdleCapacity()
        XCTAssertEqual(queue.outbound.capacity, 0, "idle: given back")
        XCTAssertEqual(queue.writeIndex, 0)
        queue.append(encoded: [1, 2, 3])
        XCTAssertEqual(queue.pendingBytes, 3)
    }
}
