import Dispatch
import Foundation
import TopologyProtocol
@testable import TopologyServer
import TopologyWire
import XCTest

/// A frames connection is not read while its GetTopology is encoded off the loop (its replies keep
/// the order of its requests). It holds the liveness deadlines of every service (the input horizon)
/// only if input waits on it: a client waiting for its reply holds no one's, one with a heartbeat
/// queued behind the request holds them until the heartbeat is read.
///
/// The reply encoder is kept busy by a job of the test's own that waits on a semaphore, so the
/// pause lasts as long as the test needs. 200 ms interval, multiplier 20: STALE after more than
/// 400 ms of silence; DEAD (and the longest hold of a connection behind) after 4 s.
final class PausedConnectionHorizonTests: XCTestCase {
    private struct Setup {
        let server: RunningServer
        let owner: TestClient
        let watcher: TestClient
        let watch: UInt64
        let service: ServiceHandle
        let gate = DispatchSemaphore(value: 0)
    }

    /// Enough services that a GetTopology is encoded off the loop; a watch on the first of them;
    /// its first heartbeat seen by the watch; then the reply encoder busy until `gate` is signalled.
    private func start() throws -> (Setup, lastHeartbeatMs: Int64) {
        let server = try RunningServer { $0.topology.heartbeatIntervalMs = 200; $0.topology.timeoutMultiplier = 20 }
        let owner = try server.client()
        let names = (0..<Server.offLoopReplyEntries).map { "service-\($0)" }
        let replies = try owner.pipelined(owner.registrations(names))
        guard case .registerServiceResponse(let first)? = replies.first?.message, let service = first.handle else {
            throw TestTimeout(description: "register failed: \(String(describing: replies.first))")
        }
        let watcher = try server.client()
        let watch = watcher.startWatch(TopologyQuery(serviceNames: [names[0]]))
        XCTAssertEqual(try watcher.update(on: watch).type, .snapshot)
        let setup = Setup(server: server, owner: owner, watcher: watcher, watch: watch, service: service)
        let gate = setup.gate
        try XCTUnwrap(server.server.replyEncoder).encode(for: .max) {
            gate.wait()
            return []
        }
        let beat = try owner.heartbeat(call: owner.newCallID(), serviceID: service.serviceId, sequence: 1)
        guard case .heartbeatResponse(let response)? = beat.message, response.acknowledged else { throw TestTimeout(description: "heartbeat not acknowledged") }
        var lastHeartbeatMs: Int64 = 0
        while lastHeartbeatMs == 0 {
            lastHeartbeatMs = try watcher.update(on: watch).node?.lastHeartbeatMs ?? 0
        }
        return (setup, lastHeartbeatMs)
    }

    func testAConnectionWaitingForItsReplyHoldsNoDeadline() throws {
        let (setup, lastHeartbeatMs) = try start()
        defer { setup.gate.signal(); setup.server.stop() }
        let reader = try setup.server.client()
        let call = reader.newCallID()
        reader.send(Frame(callId: call, message: .getTopologyRequest(GetTopologyRequest())))

        // The service goes STALE on time although the reader's reply cannot be encoded yet.
        var staleAtMs: Int64?
        while staleAtMs == nil {
            let update = try setup.watcher.update(on: setup.watch, timeout: 3)
            if update.type == .nodeUpdated, update.node?.state == .stale { staleAtMs = wallMs() }
        }
        let lateness = try XCTUnwrap(staleAtMs) - (lastHeartbeatMs + 400 + 1)
        XCTAssertLessThanOrEqual(lateness, 100, "STALE \(lateness) ms late while a reply was being encoded")

        setup.gate.signal()
        let reply = try reader.readFrame(call: call)
        guard case .getTopologyResponse(let response)? = reply.message else { return XCTFail("not a GetTopology reply: \(reply)") }
        XCTAssertEqual(response.snapshot?.nodes.count, Server.offLoopReplyEntries)
    }

    /// The heartbeat arrives after the request (the loop learns of it without reading it), or with
    /// it in one write (it waits in the session behind the request): either way it holds the
    /// deadlines until it is read, and the service it keeps alive never goes STALE.
    func testAHeartbeatWaitingBehindAPausedRequestHoldsTheDeadlinesUntilItIsRead() throws {
        for separately in [true, false] {
            let (setup, lastHeartbeatMs) = try start()
            defer { setup.gate.signal(); setup.server.stop() }
            let reader = try setup.server.client()
            let topologyCall = reader.newCallID(), beatCall = reader.newCallID()
            var bytes: [UInt8] = []
            Frame(callId: topologyCall, message: .getTopologyRequest(GetTopologyRequest())).encodeLengthPrefixed(appendingTo: &bytes)
            let heartbeat = Frame(callId: beatCall, message: .heartbeatRequest(HeartbeatRequest(serviceId: setup.service.serviceId, sequence: 2)))
            if separately {
                reader.sendRaw(bytes)
                usleep(50_000)  // the request is taken and the connection paused before the heartbeat comes
                reader.send(heartbeat)
            } else {
                heartbeat.encodeLengthPrefixed(appendingTo: &bytes)
                reader.sendRaw(bytes)
            }
            // Twice the STALE timeout from the last heartbeat read, with the next one unread all along.
            let waitMs = lastHeartbeatMs + 800 - wallMs()
            if waitMs > 0 { usleep(UInt32(waitMs) * 1_000) }
            setup.gate.signal()

            XCTAssertNotNil(try reader.readFrame(call: topologyCall).message)
            guard case .heartbeatResponse(let response)? = try reader.readFrame(call: beatCall).message else { return XCTFail("no heartbeat reply") }
            XCTAssertTrue(response.acknowledged, "separately: \(separately)")
            // The watch shows the heartbeat read late, and no STALE before it.
            while true {
                let update = try setup.watcher.update(on: setup.watch, timeout: 3)
                XCTAssertNotEqual(update.node?.state, .stale, "separately: \(separately)")
                if let node = update.node, node.lastHeartbeatMs > lastHeartbeatMs { break }
            }
        }
    }
}
