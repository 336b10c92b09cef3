import XCTest
@testable import TopologyWire

/// What the wire layer keeps per connection and per node (issue 18: a million services in one
/// process): an idle decoder gives back its buffer, and a node's metadata lives out of line.
final class MemoryFootprintTests: XCTestCase {
    /// A connection's first reads hold its services' registrations (300 here, 17 KB). The decoder
    /// keeps the buffer while it is used; once idle, the server has it give the buffer back.
    func testFrameDecoderGivesBackItsBufferOnlyWhenIdle() throws {
        var burst: [UInt8] = []
        for number in 0..<300 {
            Frame(callId: UInt64(2 * number + 1), endOfStream: true, message: .registerServiceRequest(RegisterServiceRequest(
                serviceName: "svc-\(number)", serviceType: .server, language: .swift, version: "1.0.0",
                address: "10.0.\(number).1:8080", host: "bench-host-\(number)")))
                .encodeLengthPrefixed(appendingTo: &burst)
        }
        var decoder = FrameDecoder(maximumFrameSize: 1 << 20)
        func take(_ bytes: ArraySlice<UInt8>) throws -> Int {
            bytes.withUnsafeBytes { decoder.append($0) }
            var count = 0
            while try decoder.next() != nil { count += 1 }
            return count
        }
        XCTAssertEqual(try take(burst[...]), 300)
        let burstCapacity = decoder.bufferCapacity
        XCTAssertGreaterThanOrEqual(burstCapacity, burst.count, "kept after the burst, for the next one")
        // Half a frame buffered: nothing is given back.
        XCTAssertEqual(try take(burst[0..<10]), 0)
        decoder.releaseIdleCapacity()
        XCTAssertEqual(decoder.bufferedByteCount, 10)
        XCTAssertGreaterThanOrEqual(decoder.bufferCapacity, 10)
        XCTAssertEqual(try take(burst[10...]), 300, "the frame begun before is whole")
        decoder.releaseIdleCapacity()
        XCTAssertEqual(decoder.bufferCapacity, 0, "idle: given back")
        XCTAssertEqual(try take(burst[...]), 300, "and the next burst decodes as before")
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
