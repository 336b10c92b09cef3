import Foundation
import TopologyCore
@testable import TopologyServer
import TopologyWire
import XCTest

final class RPCTests: XCTestCase {
    func testUnaryCallsRegisterGetUnregister() throws {
        let server = try RunningServer()
        defer { server.stop() }
        let client = try server.client()
        let handle = try client.register("orders")
        XCTAssertFalse(handle.serviceId.isEmpty)
        XCTAssertEqual(handle.heartbeatIntervalMs, 100)
        XCTAssertEqual(handle.serverEpoch, server.server.serverEpoch)

        let snapshot = try client.topology()
        XCTAssertEqual(snapshot.nodes.map(\.serviceName), ["orders"])
        XCTAssertEqual(snapshot.serverEpoch, server.server.serverEpoch)

        let reply = try client.unary(.unregisterServiceRequest(UnregisterServiceRequest(serviceId: handle.serviceId)))
        XCTAssertTrue(reply.endOfStream)
        XCTAssertEqual(reply.status?.statusCode, .ok)
        guard case .unregisterServiceResponse(let response)? = reply.message else { return XCTFail("wrong reply") }
        XCTAssertTrue(response.removed)
        XCTAssertEqual(try client.topology().nodes.count, 0)
        XCTAssertTrue(server.logLines.contains("msg=\"service registered\""))
    }

    /// A GetTopology of at least `Server.offLoopReplyEntries` nodes is encoded off the loop; the
    /// frames that follow it on its connection are answered after it, in order, as for any other.
    func testLargeWatchSnapshotsAreEncodedOffTheLoopAndKeepTheirOrder() throws {
        let server = try RunningServer { $0.topology.heartbeatIntervalMs = 60_000 }
        defer { server.stop() }
        let producer = try server.client()
        _ = try producer.pipelined(producer.registrations((0..<1_200).map { "svc-\($0)" }))
        let before = server.server.stats().offLoopReplies
        var narrow = TopologyQuery()
        narrow.serviceNames = ["svc-3", "late"]
        let a = try server.client()
        let b = try server.client()
        let watches = [(a, a.startWatch(), 1_200), (a, a.startWatch(narrow), 1), (b, b.startWatch(), 1_200)]
        var snapshotRevision: UInt64 = 0
        for (client, call, count) in watches {
            let first = try client.update(on: call)
            XCTAssertEqual(first.type, .snapshot)
            XCTAssertEqual(first.snapshot?.nodes.count, count)
            snapshotRevision = max(snapshotRevision, first.revision)
        }
        XCTAssertEqual(server.server.stats().offLoopReplies - before, 3)
        // Later updates come after the snapshot on each stream, and the heartbeat path was never held.
        _ = try producer.register("late")
        for (client, call, _) in watches {
            let next = try client.update(on: call)
            XCTAssertEqual(next.type, .nodeAdded)
            XCTAssertEqual(next.node?.serviceName, "late")
            XCTAssertGreaterThan(next.revision, snapshotRevision)
        }
        // A watch cancelled right after it starts (its snapshot may be in the encoder) ends cleanly.
        let c = try server.client()
        let cancelled = c.startWatch()
        c.send(Frame(callId: cancelled, endOfStream: true))
        var sawEnd = false
        for _ in 0..<4 where !sawEnd {
            let frame = try c.readFrame(call: cancelled)
            sawEnd = frame.endOfStream
        }
        XCTAssertTrue(sawEnd)
        _ = try c.topology(TopologyQuery(serviceNames: ["late"]))
    }

    func testLargeGetTopologyKeepsTheOrderOfReplies() throws {
        let server = try RunningServer { $0.topology.heartbeatIntervalMs = 60_000 }
        defer { server.stop() }
        let setup = try server.client()
        var id = ""
        for i in 0..<(Server.offLoopReplyEntries + 100) { id = try setup.register("s\(i)").serviceId }
        let client = try server.client()
        var bytes: [UInt8] = []
        for frame in [
            Frame(callId: 1, message: .getTopologyRequest(GetTopologyRequest())),
            Frame(callId: 2, message: .heartbeatRequest(HeartbeatRequest(serviceId: id, sequence: 7))),
            Frame(callId: 3, message: .getTopologyRequest(GetTopologyRequest(query: TopologyQuery(serviceNames: ["s1", "s2"])))),
            Frame(callId: 4, message: .getTopologyRequest(GetTopologyRequest())),
            Frame(callId: 5, message: .unregisterServiceRequest(UnregisterServiceRequest(serviceId: id))),
        ] { frame.encodeLengthPrefixed(appendingTo: &bytes) }
        client.sendRaw(bytes)  // one write: all five are read at once
        var replies: [Frame] = []
        for _ in 0..<5 { replies.append(try XCTUnwrap(try client.readFrame(timeout: 20))) }
        XCTAssertEqual(replies.map(\.callId), [1, 2, 3, 4, 5])
        func nodes(_ frame: Frame) -> Int? {
            if case .getTopologyResponse(let response)? = frame.message { return response.snapshot?.nodes.count }
            return nil
        }
        XCTAssertEqual(nodes(replies[0]), Server.offLoopReplyEntries + 100)
        XCTAssertEqual(nodes(replies[2]), 2, "a small one, built off the loop too: its filter looks at every node")
        XCTAssertEqual(nodes(replies[3]), Server.offLoopReplyEntries + 100)
        guard case .unregisterServiceResponse(let removed)? = replies[4].message else { return XCTFail("no unregister reply") }
        XCTAssertTrue(removed.removed)
        // And the connection is read again afterwards.
        XCTAssertEqual(try client.topology().nodes.count, Server.offLoopReplyEntries + 99)
        XCTAssertEqual(server.server.stats().offLoopReplies, 4)
    }

    func testInvalidRegistrationGetsStatusOnItsCall() throws {
        let server = try RunningServer()
        defer { server.stop() }
        let client = try server.client()
        let reply = try client.unary(.registerServiceRequest(RegisterServiceRequest()))  // no name
        XCTAssertTrue(reply.endOfStream)
        XCTAssertEqual(reply.status?.statusCode, .invalidArgument)
        // The connection still works.
        XCTAssertEqual(try client.register("ok").heartbeatIntervalMs, 100)
    }

    func testInterleavedCallsOnOneConnectionAreMatchedByCallID() throws {
        let server = try RunningServer()
        defer { server.stop() }
        let client = try server.client()
        let a = try client.register("a")
        let b = try client.register("b")
        let watch = client.startWatch()
        let hbA = client.newCallID(), hbB = client.newCallID(), activity = client.newCallID(), get = client.newCallID()
        // Everything in one write: two heartbeat streams, an activity stream, a unary call.
        var bytes: [UInt8] = []
        Frame(callId: hbA, message: .heartbeatRequest(HeartbeatRequest(serviceId: a.serviceId, sequence: 7))).encodeLengthPrefixed(appendingTo: &bytes)
        Frame(callId: hbB, message: .heartbeatRequest(HeartbeatRequest(serviceId: b.serviceId, sequence: 9))).encodeLengthPrefixed(appendingTo: &bytes)
        var report = ReportActivityRequest()
        report.serviceId = a.serviceId
        report.targetService = "b"
        report.type = .requestSent
        report.latencyMs = 10
        Frame(callId: activity, message: .reportActivityRequest(report)).encodeLengthPrefixed(appendingTo: &bytes)
        Frame(callId: get, message: .getTopologyRequest(GetTopologyRequest())).encodeLengthPrefixed(appendingTo: &bytes)
        Frame(callId: activity, endOfStream: true, message: .reportActivityRequest(report)).encodeLengthPrefixed(appendingTo: &bytes)
        client.sendRaw(bytes)

        let replyB = try client.readFrame(call: hbB)
        guard case .heartbeatResponse(let rb)? = replyB.message else { return XCTFail() }
        XCTAssertEqual(rb.sequence, 9)
        XCTAssertTrue(rb.acknowledged)
        XCTAssertFalse(replyB.endOfStream)
        let replyA = try client.readFrame(call: hbA)
        guard case .heartbeatResponse(let ra)? = replyA.message else { return XCTFail() }
        XCTAssertEqual(ra.sequence, 7)
        XCTAssertEqual(ra.serverEpoch, server.server.serverEpoch)
        let act = try client.readFrame(call: activity)
        guard case .reportActivityResponse(let ar)? = act.message else { return XCTFail() }
        XCTAssertEqual(ar.acceptedEvents, 2)
        XCTAssertTrue(act.endOfStream)
        let topo = try client.readFrame(call: get)
        guard case .getTopologyResponse? = topo.message else { return XCTFail() }
        let first = try client.update(on: watch)
        XCTAssertEqual(first.type, .snapshot)

        // The heartbeat stream stays open: another beat on the same call.
        let again = try client.heartbeat(call: hbA, serviceID: a.serviceId, sequence: 8)
        guard case .heartbeatResponse(let r2)? = again.message else { return XCTFail() }
        XCTAssertEqual(r2.sequence, 8)

        // Cancel the watch: the server ends the call.
        client.send(Frame(callId: watch, endOfStream: true))
        var ended = false
        for _ in 0..<50 {
            let frame = try client.readFrame(call: watch)
            if frame.endOfStream { ended = true; XCTAssertEqual(frame.status?.statusCode, .ok); break }
        }
        XCTAssertTrue(ended)
    }

    func testActivityBecomesAnEdgeOnTheWatchAndInGetTopology() throws {
        let server = try RunningServer()
        defer { server.stop() }
        let client = try server.client()
        let source = try client.register("frontend")
        _ = try client.register("backend")
        let watch = client.startWatch()
        XCTAssertEqual(try client.update(on: watch).type, .snapshot)

        let call = client.newCallID()
        for (latency, ok) in [(10, true), (20, true), (30, false)] {
            var report = ReportActivityRequest()
            report.serviceId = source.serviceId
            report.targetService = "backend"
            report.type = ok ? .requestSent : .error
            report.latencyMs = Int32(latency)
            report.success = ok
            client.send(Frame(callId: call, message: .reportActivityRequest(report)))
        }
        client.send(Frame(callId: call, endOfStream: true))
        let reply = try client.readFrame(call: call)
        guard case .reportActivityResponse(let response)? = reply.message else { return XCTFail() }
        XCTAssertEqual(response.acceptedEvents, 3)

        var edge: ServiceEdge?
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            let update = try client.update(on: watch)
            if let e = update.edge, e.totalRequests == 3 { edge = e; break }
        }
        let watched = try XCTUnwrap(edge, "no edge update with 3 requests on the watch")
        XCTAssertEqual(watched.sourceServiceId, source.serviceId)
        XCTAssertEqual(watched.targetService, "backend")
        XCTAssertEqual(watched.totalErrors, 1)
        XCTAssertEqual(watched.avgLatencyMs, 20, accuracy: 0.5)

        let snapshot = try client.topology()
        let got = try XCTUnwrap(snapshot.edges.first)
        XCTAssertEqual(got.totalRequests, 3)
        XCTAssertEqual(got.totalErrors, 1)
        XCTAssertEqual(got.avgLatencyMs, 20, accuracy: 0.5)
    }

    func testLivenessStaleDeadRemovalWithinFiftyMillisecondsThenNotFoundAndReRegister() throws {
        let server = try RunningServer()
        defer { server.stop() }
        let client = try server.client()
        let watcher = try server.client()
        let handle = try client.register("payments")
        let beat = client.newCallID()
        // Heartbeats keep it alive, well past the stale timeout.
        for sequence in 1...8 {
            let reply = try client.heartbeat(call: beat, serviceID: handle.serviceId, sequence: Int64(sequence))
            guard case .heartbeatResponse(let response)? = reply.message else { return XCTFail() }
            XCTAssertTrue(response.acknowledged)
            usleep(50_000)
        }
        let alive = try XCTUnwrap(client.topology().nodes.first)
        XCTAssertEqual(alive.state, .idle)

        let watch = watcher.startWatch()
        XCTAssertEqual(try watcher.update(on: watch).type, .snapshot)
        // Silence from now on. STALE when silence > 2 x 100 ms, DEAD (and removal) when > 3 x 100 ms,
        // measured from the last heartbeat as the server recorded it.
        var sawStale: Int64?, sawDead: Int64?, sawRemoved: Int64?
        var lastHeartbeatMs: Int64 = 0
        let deadline = Date().addingTimeInterval(5)
        while sawRemoved == nil, Date() < deadline {
            let update = try watcher.update(on: watch)
            let at = wallMs()
            guard let node = update.node else { continue }
            if node.lastHeartbeatMs > 0 { lastHeartbeatMs = node.lastHeartbeatMs }
            if update.type == .nodeUpdated && node.state == .stale && sawStale == nil { sawStale = at }
            if update.type == .nodeUpdated && node.state == .dead { sawDead = at }
            if update.type == .nodeRemoved { sawRemoved = at }
        }
        let stale = try XCTUnwrap(sawStale, "no STALE update")
        let dead = try XCTUnwrap(sawDead, "no DEAD update")
        let removed = try XCTUnwrap(sawRemoved, "no NODE_REMOVED update")
        XCTAssertGreaterThan(lastHeartbeatMs, 0)
        let staleDue = lastHeartbeatMs + 200 + 1
        let deadDue = lastHeartbeatMs + 300 + 1
        // Lateness against each deadline (never early), with the 50 ms bound.
        XCTAssertGreaterThanOrEqual(stale, staleDue - 2)
        XCTAssertLessThanOrEqual(stale - staleDue, 50, "STALE \(stale - staleDue) ms late")
        XCTAssertGreaterThanOrEqual(dead, deadDue - 2)
        XCTAssertLessThanOrEqual(dead - deadDue, 50, "DEAD \(dead - deadDue) ms late")
        XCTAssertLessThanOrEqual(removed - deadDue, 50, "removal \(removed - deadDue) ms late")
        XCTAssertLessThanOrEqual(server.server.stats().maxTimerLatenessMs, 50)

        // A heartbeat now: acknowledged=false, NOT_FOUND.
        let reply = try client.heartbeat(call: beat, serviceID: handle.serviceId, sequence: 99)
        guard case .heartbeatResponse(let response)? = reply.message else { return XCTFail() }
        XCTAssertFalse(response.acknowledged)
        XCTAssertEqual(response.sequence, 99)
        XCTAssertEqual(reply.status?.statusCode, .notFound)

        // Re-registering with the old id restores the same node.
        let again = try client.register("payments", id: handle.serviceId)
        XCTAssertEqual(again.serviceId, handle.serviceId)
        let restored = try XCTUnwrap(client.topology().nodes.first)
        XCTAssertEqual(restored.serviceId, handle.serviceId)
        let beat2 = client.newCallID()
        guard case .heartbeatResponse(let ok)? = try client.heartbeat(call: beat2, serviceID: handle.serviceId, sequence: 100).message
        else { return XCTFail() }
        XCTAssertTrue(ok.acknowledged)
        XCTAssertTrue(server.logLines.contains("msg=\"service dead\""))
    }

    func testQuietWatchGetsProgressUpdates() throws {
        let server = try RunningServer { $0.topology.progressIntervalMs = 100; $0.topology.heartbeatIntervalMs = 5_000 }
        defer { server.stop() }
        let client = try server.client()
        let watch = client.startWatch()
        let snapshot = try client.update(on: watch)
        XCTAssertEqual(snapshot.type, .snapshot)
        let start = Date()
        let progress = try client.update(on: watch, timeout: 2)
        XCTAssertEqual(progress.type, .progress)
        XCTAssertGreaterThanOrEqual(progress.revision, snapshot.revision)
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    }

    /// A closed connection does not end its services: they live on until their heartbeats stop
    /// counting, then go STALE and DEAD by their timers, as a watcher on another connection sees.
    func testClosedConnectionDoesNotKillItsServices() throws {
        let interval: Int64 = 200  // STALE after more than 400 ms of silence, DEAD after more than 600 ms
        let server = try RunningServer { $0.topology.heartbeatIntervalMs = interval; $0.topology.timeoutMultiplier = 3 }
        defer { server.stop() }
        let other = try server.client()
        let watch = other.startWatch()
        XCTAssertEqual(try other.update(on: watch).type, .snapshot)
        var client: TestClient? = try server.client()
        let registeredAt = Date()
        let handle = try client!.register("survivor")
        XCTAssertEqual(try other.update(on: watch).type, .nodeAdded)
        client = nil  // closes the socket
        try eventually("the server to see the close") { server.server.stats().connections == 1 }
        // Still there once the server has closed the connection (well before it could go STALE).
        XCTAssertEqual(try other.topology().nodes.map(\.serviceId), [handle.serviceId])

        func nextNodeUpdate() throws -> TopologyUpdate {
            while true {
                let update = try other.update(on: watch, timeout: 5)
                if update.type != .progress { return update }
            }
        }
        let stale = try nextNodeUpdate()
        XCTAssertEqual(stale.type, .nodeUpdated)
        XCTAssertEqual(stale.node?.serviceId, handle.serviceId)
        XCTAssertEqual(stale.node?.state, .stale)
        XCTAssertGreaterThan(Date().timeIntervalSince(registeredAt) * 1000, Double(2 * interval), "STALE before its time")
        let dead = try nextNodeUpdate()
        XCTAssertEqual(dead.type, .nodeUpdated)
        XCTAssertEqual(dead.node?.state, .dead)
        XCTAssertGreaterThan(Date().timeIntervalSince(registeredAt) * 1000, Double(3 * interval), "DEAD before its time")
        let removed = try nextNodeUpdate()
        XCTAssertEqual(removed.type, .nodeRemoved)
        XCTAssertEqual(removed.node?.serviceId, handle.serviceId)
        XCTAssertEqual(try other.topology().nodes.count, 0)
        try eventually("the death in the log") { server.logLines.contains("msg=\"service dead\"") }
    }

    func testFiveHundredConnectionsRegisteringAndHeartbeating() throws {
        let server = try RunningServer { $0.topology.heartbeatIntervalMs = 2_000 }
        defer { server.stop() }
        var clients: [TestClient] = []
        for _ in 0..<500 { clients.append(try server.client()) }
        // Each sends its registration before any reply is read: 500 calls in flight at once.
        for (i, client) in clients.enumerated() {
            var request = RegisterServiceRequest()
            request.serviceName = "svc-\(i)"
            client.send(Frame(callId: 1, message: .registerServiceRequest(request)))
        }
        var ids: [String] = []
        for client in clients {
            let reply = try client.readFrame(call: 1)
            guard case .registerServiceResponse(let r)? = reply.message, let id = r.handle?.serviceId else { return XCTFail() }
            ids.append(id)
        }
        for (client, id) in zip(clients, ids) {
            client.send(Frame(callId: 2, message: .heartbeatRequest(HeartbeatRequest(serviceId: id, sequence: 1))))
        }
        for client in clients {
            guard case .heartbeatResponse(let r)? = try client.readFrame(call: 2).message else { return XCTFail() }
            XCTAssertTrue(r.acknowledged)
        }
        XCTAssertEqual(try clients[0].topology().nodes.count, 500)
        XCTAssertEqual(server.server.stats().connections, 500)
    }
}
