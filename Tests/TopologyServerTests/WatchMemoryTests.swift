import Foundation
import TopologyServer
import TopologyWire
import XCTest

/// What watchers that stop reading may cost: bounded all together, and given back when they go.
final class WatchMemoryTests: XCTestCase {
    static let mib = 1 << 20

    /// Registers `count` services (by default with ~1 KB of metadata each); returns their ids.
    private func registerFleet(_ client: TestClient, count: Int, metadata: ServiceMetadata = bulkyMetadata(bytesPerField: 200)) throws -> [String] {
        let names = (0..<count).map { "svc-\($0)" }
        return try client.pipelined(client.registrations(names, metadata: metadata)).map { reply in
            guard case .registerServiceResponse(let response)? = reply.message, let id = response.handle?.serviceId else {
                throw TestTimeout(description: "registration failed: \(reply.jsonString())")
            }
            return id
        }
    }

    /// Flips the health of every service once: a NODE_UPDATED each for every watcher.
    private func flipHealth(_ client: TestClient, _ ids: [String], round: Int) throws {
        let beat = client.newCallID()
        let health = ApplicationHealth(state: round % 2 == 0 ? .healthy : .degraded)
        _ = try client.pipelined(ids.map {
            Frame(callId: beat, message: .heartbeatRequest(HeartbeatRequest(serviceId: $0, sequence: Int64(round), health: health)))
        })
    }

    func testStalledWatchersAreClosedWithAStatusOnceTheTotalBudgetIsSpent() throws {
        let server = try RunningServer {
            $0.topology.heartbeatIntervalMs = 60_000
            $0.maxOutboundBytes = 256 * 1024   // each stalled watcher holds about half of it
            $0.maxTotalOutboundBytes = 1 << 20
        }
        defer { server.stop() }
        let producer = try server.client()
        let ids = try registerFleet(producer, count: 2_000)
        let deaf = try (0..<12).map { _ in try TestClient(port: server.port, receiveBuffer: 4096) }
        for client in deaf { _ = client.startWatch() }
        try eventually("the watches to start") { server.server.stats().watchers == deaf.count }

        // Updates until the stalled watchers' queues are over the budget and stalled for long
        // enough (2 s without a byte written) to be closed.
        var round = 0
        try eventually(timeout: 20, "stalled watchers closed") {
            round += 1
            try flipHealth(producer, ids, round: round)
            return server.server.stats().watchers < deaf.count
        }
        let stats = server.server.stats()
        XCTAssertGreaterThan(stats.watchers, 0, "only as many closed as bring the total under the budget")
        XCTAssertTrue(server.logLines.contains("--max-total-outbound-bytes=1048576"), "the log names the flag")
        XCTAssertTrue(server.logLines.contains("have not read for"), "the log says why")
        // The Status is queued behind what the client never read, so it seldom reaches it: the
        // connection is closed at the grace period's end, and the queue goes with it.
        try eventually("the closed watchers' queues to be freed") {
            server.server.stats().outboundBytes <= 1 << 20 && server.server.stats().connections == 1 + server.server.stats().watchers
        }
        withExtendedLifetime(deaf) {}
    }

    /// Event streams (SSE, and Connect's WatchTopology, which streams through the same session) on
    /// the HTTP port count in `--max-total-outbound-bytes` like the frames watchers: once the total
    /// is spent, a stream takes no more updates while anything is queued for it.
    func testEventStreamsCountInTheTotalBudget() throws {
        let budget = 1 << 20
        let server = try httpServer {
            $0.topology.heartbeatIntervalMs = 60_000
            $0.maxOutboundBytes = 512 * 1024   // each stream alone may queue 256 KiB: 3 MiB for the twelve
            $0.maxTotalOutboundBytes = budget
        }
        defer { server.stop() }
        let producer = try server.client()
        // Small nodes (a snapshot of ~50 KB, each round ~50 KB more per stream).
        let ids = try registerFleet(producer, count: 300, metadata: ServiceMetadata(region: "r"))
        let streams = try (0..<12).map { _ in try HTTPTestClient(port: server.httpPort, receiveBuffer: 4096) }
        for stream in streams { stream.send("GET /api/v1/watch HTTP/1.1\r\nHost: t\r\n\r\n") }
        try eventually("the streams to start") { server.server.stats().watchers == streams.count }

        var round = 0
        try eventually(timeout: 20, "the streams' queues counted in the total") {
            round += 1
            try flipHealth(producer, ids, round: round)
            return server.server.stats().outboundBytes >= budget
        }
        // Over the budget each stream keeps what it has queued and takes nothing more: the core
        // coalesces its updates. Without the budget they would go on to 256 KiB each.
        for _ in 0..<20 {
            round += 1
            try flipHealth(producer, ids, round: round)
        }
        _ = try producer.unary(.getTopologyRequest(GetTopologyRequest()))  // the flips above were all read
        let stats = server.server.stats()
        XCTAssertLessThan(stats.outboundBytes, 2 * budget, "the streams went on queueing past the total budget")
        XCTAssertEqual(stats.watchers, streams.count, "the streams are kept, not closed")
        withExtendedLifetime(streams) {}
    }

    func testMemoryIsGivenBackWhenStalledWatchersClose() throws {
        let server = try RunningServer { $0.topology.heartbeatIntervalMs = 60_000 }
        defer { server.stop() }
        let producer = try server.client()
        let ids = try registerFleet(producer, count: 2_000)
        try flipHealth(producer, ids, round: 0)
        let baseline = residentBytes()

        // 30 watchers that never read: each makes the server queue about half of
        // --max-outbound-bytes (2 MiB), 60 MiB in all, within the default total budget of 64 MiB.
        // Twice: after the first large buffers are freed, glibc by default serves such sizes from
        // the heap, where they stay once freed (`MemoryReturn`).
        var peak = 0, after = 0, round = 0
        for _ in 0..<2 {
            var deaf = try (0..<30).map { _ in try TestClient(port: server.port, receiveBuffer: 4096) }
            for client in deaf { _ = client.startWatch() }
            try eventually("the watches to start") { server.server.stats().watchers == deaf.count }
            try eventually(timeout: 30, "the stalled watchers' queues to fill") {
                round += 1
                try flipHealth(producer, ids, round: round)
                return server.server.stats().outboundBytes >= 30 * Self.mib
            }
            peak = residentBytes()
            deaf.removeAll()  // closed: the server closes them and frees what they held
            try eventually("the watchers to be gone") { server.server.stats().watchers == 0 && server.server.stats().outboundBytes == 0 }
            // The trim runs at a wake-up of the loop once a second has passed since the last one.
            try? eventually(timeout: 3, "memory given back") {
                try flipHealth(producer, ids, round: round)
                after = residentBytes()
                return after - baseline < (peak - baseline) / 5
            }
        }
        print("stalled watchers: baseline \(baseline / Self.mib) MiB, peak \(peak / Self.mib) MiB, after \(after / Self.mib) MiB")
        XCTAssertGreaterThan(peak - baseline, 20 * Self.mib, "the watchers did not make the server hold memory: the test proves nothing")
        XCTAssertLessThan(after - baseline, (peak - baseline) / 5, "memory kept after the watchers closed")
    }

    /// Memory freed while every connection stays open (large replies written out) is given back
    /// too: `MemoryReturn` measures what the allocator keeps free instead of counting closes. Whether
    /// a trim or glibc itself (unmapping a large buffer) gives it back depends on the allocator's
    /// mmap threshold, which earlier tests in the process move, so only the outcome is asserted.
    /// The client pipelines its requests: the server reads them as it writes the replies (over
    /// `--max-outbound-bytes` queued it waits), without closing the connection.
    func testMemoryFreedWithoutAnyConnectionClosingIsGivenBack() throws {
        let server = try RunningServer { $0.topology.heartbeatIntervalMs = 60_000 }
        defer { server.stop() }
        let producer = try server.client()
        let ids = try registerFleet(producer, count: 2_000)  // a GetTopology reply of ~3 MB
        let reader = try server.client()
        let baseline = residentBytes()
        var peak = 0, after = 0
        // Twice, as above: the second time glibc serves the large buffers from its heap.
        for _ in 0..<2 {
            let requests = (0..<12).map { _ in Frame(callId: reader.newCallID(), message: .getTopologyRequest(GetTopologyRequest())) }
            let replies = try reader.pipelined(requests)
            XCTAssertEqual(replies.count, 12)
            peak = max(peak, residentBytes())
        }
        try? eventually(timeout: 3, "memory given back") {
            try flipHealth(producer, ids, round: 1)  // wakes the loop, whose timers look at the heap
            after = residentBytes()
            return after - baseline < (peak - baseline) / 5
        }
        print("large replies: baseline \(baseline / Self.mib) MiB, peak \(peak / Self.mib) MiB, after \(after / Self.mib) MiB")
        XCTAssertEqual(server.server.stats().connections, 2, "no connection closed")
        XCTAssertGreaterThan(peak - baseline, 20 * Self.mib, "the replies did not make the process hold memory: the test proves nothing")
        XCTAssertLessThan(after - baseline, (peak - baseline) / 5, "memory kept after the replies were written and read")
    }
}
