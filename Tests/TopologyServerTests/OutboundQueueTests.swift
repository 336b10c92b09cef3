#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import TopologyServer

/// An outbound queue keeps its capacity when it drains (a busy connection does not reallocate per
/// batch) and gives it back when the server finds it idle (`Server.releaseIdleBuffers`).
final class OutboundQueueTests: XCTestCase {
    private final class Queue: OutboundQueue {
        let fd: Int32
        var ahead = QueuedSegments()
        var outbound: [UInt8] = []
        var writeIndex = 0
        var waitingForWritable = false
        var scheduledForFlush = false
        var countedPendingBytes = 0

        init(fd: Int32 = -1) { self.fd = fd }
    }

    private func bytes(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) ^ seed }
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

    /// A large encoded reply that comes while bytes are queued is queued as it is, behind them: the
    /// loop copies neither (a 134 MB snapshot took it 150 ms to append), and the socket gets every
    /// byte in the order queued.
    func testALargeReplyBehindQueuedBytesIsNotCopiedAndEverythingIsWrittenInOrder() throws {
        var fds: [Int32] = [-1, -1]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        let queue = Queue(fd: fds[0])
        let first = bytes(10_000, seed: 1), large = bytes(1_000_000, seed: 2), replies = bytes(3_000, seed: 3)
        let small = bytes(1_000, seed: 4), second = bytes(200_000, seed: 5)
        queue.append(encoded: first)
        queue.writeIndex = 4_000  // as if a write had taken that much (those bytes are not expected below)
        queue.append(encoded: large)
        XCTAssertEqual(queue.pendingBytes, 6_000 + 1_000_000)
        XCTAssertTrue(queue.outbound.isEmpty, "new replies go behind the large one")
        queue.outbound += replies  // as the sessions append
        queue.append(encoded: small)  // copied: not worth a segment
        XCTAssertEqual(queue.outbound.count, 4_000)
        queue.append(encoded: second)
        XCTAssertEqual(queue.pendingBytes, 6_000 + 1_000_000 + 4_000 + 200_000)

        // Not copied: each segment is a slice of the buffer it was given.
        let firstStart = first.withUnsafeBytes { $0.baseAddress! } + 4_000
        XCTAssertEqual(queue.ahead.first?.withUnsafeBytes { $0.baseAddress }, firstStart)

        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        for _ in 0..<10_000 where queue.pendingBytes > 0 {
            _ = try queue.writeQueued()
            while true {
                let n = chunk.withUnsafeMutableBytes { recv(fds[1], $0.baseAddress, $0.count, 0) }
                guard n > 0 else { break }
                received += chunk[0..<n]
            }
        }
        XCTAssertEqual(queue.pendingBytes, 0)
        XCTAssertTrue(queue.ahead.isEmpty)
        XCTAssertEqual(received, Array(first[4_000...]) + large + replies + small + second)
    }

    /// A large encoded buffer is always a segment of its own: replies appended after it never copy
    /// it (it may be shared with other queues), and once written whole it goes to `release` (the
    /// server frees it on the reply encoder's thread: freeing a 450 MB snapshot held the loop
    /// 39-76 ms). Smaller buffers are dropped as before, and no byte is lost.
    func testLargeBuffersAreNeverCopiedAndGoToReleaseOnceWritten() throws {
        var fds: [Int32] = [-1, -1]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        let queue = Queue(fd: fds[0])
        let large = [UInt8](repeating: 9, count: QueuedSegments.releasedOffLoopBytes)
        let largeBase = large.withUnsafeBytes { $0.baseAddress! }
        var released: [Any] = []
        func releasedBase(_ index: Int) -> UnsafeRawPointer? {
            guard index < released.count, let slice = released[index] as? ArraySlice<UInt8> else { return nil }
            return slice.withUnsafeBytes { $0.baseAddress.map { $0 - slice.startIndex } }
        }
        func writeAll() throws -> Int {
            var received = 0
            var chunk = [UInt8](repeating: 0, count: 65_536)
            for _ in 0..<100_000 where queue.pendingBytes > 0 {
                _ = try queue.writeQueued(release: { released.append($0) })
                while true {
                    let n = chunk.withUnsafeMutableBytes { recv(fds[1], $0.baseAddress, $0.count, 0) }
                    guard n > 0 else { break }
                    received += n
                }
            }
            return received
        }

        // Into an empty queue, with replies appended behind it before any write.
        queue.append(encoded: large)
        queue.outbound += [1, 2, 3]  // as the sessions append
        queue.append(encoded: [4, 5])
        XCTAssertEqual(queue.ahead.first?.withUnsafeBytes { $0.baseAddress }, largeBase, "not copied")
        XCTAssertEqual(queue.outbound, [1, 2, 3, 4, 5])
        XCTAssertEqual(try writeAll(), large.count + 5)
        XCTAssertEqual(released.count, 1)
        XCTAssertEqual(releasedBase(0), largeBase, "the buffer itself, not a copy")

        // Behind queued bytes, with a smaller segment after it.
        released = []
        queue.append(encoded: [1, 2, 3])
        queue.append(encoded: large)
        queue.append(encoded: [UInt8](repeating: 5, count: 100_000))
        XCTAssertEqual(try writeAll(), 3 + large.count + 100_000)
        XCTAssertEqual(released.count, 1, "only the large one")
        XCTAssertEqual(releasedBase(0), largeBase)
        XCTAssertEqual(queue.pendingBytes, 0)
    }

    func testSegmentsAreTakenFromTheFrontAsTheyAreWritten() {
        var segments = QueuedSegments()
        let a = bytes(100, seed: 1), b = bytes(50, seed: 2)
        segments.append(a[10...])
        segments.append([][...])  // nothing to queue
        segments.append(b[...])
        XCTAssertEqual(segments.byteCount, 140)
        segments.removeFirst(40)
        XCTAssertEqual(segments.first.map(Array.init), Array(a[50...]))
        XCTAssertEqual(segments.byteCount, 100)
        segments.removeFirst(50)
        XCTAssertEqual(segments.first?.withUnsafeBytes { $0.baseAddress }, b.withUnsafeBytes { $0.baseAddress })
        segments.removeFirst(50)
        XCTAssertTrue(segments.isEmpty)
        XCTAssertEqual(segments.byteCount, 0)
    }
}
