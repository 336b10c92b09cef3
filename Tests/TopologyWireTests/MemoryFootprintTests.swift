import XCTest
@testable import TopologyWire

/// What the wire layer keeps per connection and per node (issue 18: a million services in one
/// process): a buffer gives back a burst's capacity, and a node's metadata lives out of line.
final class MemoryFootprintTests: XCTestCase {
    func testDrainedBufferKeepsSmallAndBusyCapacityAndGivesBackABurst() {
        let small = DrainedBuffer.smallCapacity
        // Small: kept whatever was used.
        XCTAssertTrue(DrainedBuffer.keepsCapacity(small, used: 0, largest: 64 * 1024))
        // A batch that filled a quarter or more: kept (a busy connection does not reallocate per batch).
        XCTAssertTrue(DrainedBuffer.keepsCapacity(16 * 1024, used: 4 * 1024, largest: 64 * 1024))
        // The same capacity after a small batch: given back.
        XCTAssertFalse(DrainedBuffer.keepsCapacity(16 * 1024, used: 4 * 1024 - 1, largest: 64 * 1024))
        // Over `largest`, however full: given back.
        XCTAssertFalse(DrainedBuffer.keepsCapacity(128 * 1024, used: 128 * 1024, largest: 64 * 1024))

        var buffer = [UInt8](repeating: 1, count: 20_000)
        DrainedBuffer.drain(&buffer, used: buffer.count, largest: 64 * 1024)
        XCTAssertTrue(buffer.isEmpty)
        XCTAssertGreaterThanOrEqual(buffer.capacity, 20_000)
        buffer.append(contentsOf: [1, 2, 3])
        DrainedBuffer.drain(&buffer, used: buffer.count, largest: 64 * 1024)
        XCTAssertTrue(buffer.isEmpty)
        XCTAssertLessThanOrEqual(buffer.capacity, small)
    }

    /// A connection's first reads hold its services' registrations (300 here, 17 KB); its later
    /// reads a heartbeat or two. The decoder keeps the burst's buffer while bursts come, and gives it back after.
    func testFrameDecoderGivesBackABurstsCapacity() throws {
        var burst: [UInt8] = []
        for number in 0..<300 {
            Frame(callId: UInt64(2 * number + 1), endOfStream: true, message: .registerServiceRequest(RegisterServiceRequest(
                serviceName: "svc-\(number)", serviceType: .server, language: .swift, version: "1.0.0",
                address: "10.0.\(number).1:8080", host: "bench-host-\(number)")))
                .encodeLengthPrefixed(appendingTo: &burst)
        }
        var heartbeat: [UInt8] = []
        Frame(callId: 2, message: .heartbeatRequest(HeartbeatRequest(serviceId: "00000000-0000-4000-8000-000000000001", sequence: 1)))
            .encodeLengthPrefixed(appendingTo: &heartbeat)
        XCTAssertGreaterThan(burst.count, 2 * DrainedBuffer.smallCapacity, "a burst larger than what is always kept")

        var decoder = FrameDecoder(maximumFrameSize: 1 << 20)
        func take(_ bytes: [UInt8]) throws -> Int {
            bytes.withUnsafeBytes { decoder.append($0) }
            var count = 0
            while try decoder.next() != nil { count += 1 }
            XCTAssertEqual(decoder.bufferedByteCount, 0)
            return count
        }
        XCTAssertEqual(try take(burst), 300)
        let burstCapacity = decoder.bufferCapacity
        XCTAssertGreaterThanOrEqual(burstCapacity, burst.count)
        XCTAssertEqual(try take(burst), 300)
        XCTAssertEqual(decoder.bufferCapacity, burstCapacity, "a second burst reuses the buffer")
        XCTAssertEqual(try take(heartbeat), 1)
        XCTAssertLessThanOrEqual(decoder.bufferCapacity, DrainedBuffer.smallCapacity, "a heartbeat after the burst gives it back")
        XCTAssertEqual(try take(burst), 300, "and a later burst decodes as before")
    }

    /// `ServiceNode.metadata` is held in a box; it still behaves as a value.
    func testServiceNodeMetadataOutOfLineIsAValue() throws {
        XCTAssertLessThanOrEqual(MemoryLayout<OutOfLine<ServiceMetadata>?>.size, 8, "one pointer, nil included")
        var node = ServiceNode(serviceId: "a", serviceName: "checkout", metadata: ServiceMetadata(region: "eu", team: "pay"))
        let copy = node
        node.metadata?.region = "us"
        XCTAssertEqual(node.metadata?.region, "us")
        XCTAssertEqual(copy.metadata?.region, "eu", "the copy's metadata is not changed through the box")
        XCTAssertNotEqual(node, copy)
        node.metadata?.region = "eu"
        XCTAssertEqual(node, copy, "equal metadata in different boxes: equal nodes")
        node.metadata = nil
        XCTAssertNil(node.metadata)
        XCTAssertEqual(try ServiceNode(serializedBytes: copy.serializedBytes()), copy)
        XCTAssertEqual(try ServiceNode(serializedBytes: node.serializedBytes()), node)
    }
}
