import CTopologyShims
import XCTest
@testable import TopologyServer
#if canImport(Glibc)
import Glibc
#endif

final class EpollTests: XCTestCase {
    /// One wait reports every ready descriptor up to the capacity it is given: the input horizon
    /// takes a wait that returned fewer than its capacity as having reported all of them (the shim
    /// once cut every wait at 256, and heartbeats then waited unread while deadlines fired).
    func testOneWaitReportsEveryReadyDescriptorUpToItsCapacity() throws {
        let epoll = try Epoll()
        defer { Sockets.close(epoll.fd) }
        var descriptors: [Int32] = []
        defer { for fd in descriptors { Sockets.close(fd) } }
        for token in 0..<1_000 {
            let fd = topology_eventfd_create()
            XCTAssertGreaterThanOrEqual(fd, 0)
            descriptors.append(fd)
            var one: UInt64 = 1
            XCTAssertEqual(write(fd, &one, 8), 8)
            try epoll.add(fd, events: UInt32(TOPOLOGY_EPOLLIN), data: UInt64(token))
        }
        var data = [UInt64](repeating: 0, count: 1_200)
        var events = [UInt32](repeating: 0, count: 1_200)
        XCTAssertEqual(try epoll.wait(data: &data, events: &events, timeoutMs: 0), 1_000)
        XCTAssertEqual(Set(data.prefix(1_000)), Set((0..<1_000).map(UInt64.init)))
        XCTAssertTrue(events.prefix(1_000).allSatisfy { $0 & UInt32(TOPOLOGY_EPOLLIN) != 0 })
        // A smaller capacity is filled, and the rest come at the next wait (level-triggered).
        var small = [UInt64](repeating: 0, count: 300)
        var smallEvents = [UInt32](repeating: 0, count: 300)
        XCTAssertEqual(try epoll.wait(data: &small, events: &smallEvents, timeoutMs: 0), 300)
    }
}
