import TopologyCore
@testable import TopologyProtocol
import TopologyWire
import XCTest

/// The RPCs and their call rules, without a socket or a real clock: frames in, replies and actions
/// out (`ProtocolHarness`).
final class RPCDispatcherTests: XCTestCase {
    // MARK: Happy paths

    func testRegisterGetTopologyUnregister() throws {
        var h = ProtocolHarness()
        let id = h.register("checkout")
        XCTAssertEqual(h.dispatcher.metrics.registrations, 1)
        XCTAssertTrue(h.recorder.contains("service registered"))

        h.send(Frame(callId: 2, message: .getTopologyRequest(GetTopologyRequest(query: TopologyQuery(includeIdle: true)))))
        let reply = try XCTUnwrap(h.reply())
        XCTAssertEqual(reply.status?.statusCode, .ok)
        guard case .getTopologyResponse(let response)? = reply.message else { return XCTFail("not a topology: \(reply)") }
        XCTAssertEqual(response.snapshot?.nodes.map(\.serviceId), [id])

        h.send(Frame(callId: 3, message: .unregisterServiceRequest(UnregisterServiceRequest(serviceId: id))))
        XCTAssertEqual(h.reply()?.message, .unregisterServiceResponse(UnregisterServiceResponse(removed: true)))
        XCTAssertEqual(h.dispatcher.metrics.unregistrations, 1)
        XCTAssertEqual(h.actions, [])
        XCTAssertEqual(h.state.calls.count, 0, "unary calls never stay open")
    }

    func testLargeGetTopologyIsHandedOffTheLoop() {
        var h = ProtocolHarness(offLoopReplyEntries: 2)
        let a = h.register("a", call: 1)
        let b = h.register("b", call: 2)
        h.send(Frame(callId: 3, message: .getTopologyRequest(GetTopologyRequest(query: TopologyQuery(includeIdle: true)))))
        XCTAssertEqual(h.replies(), [], "the reply is encoded elsewhere, not queued")
        guard case .encodeOffLoop(let reply)? = h.actions.last else { return XCTFail("actions: \(h.actions)") }
        XCTAssertEqual(reply.callId, 3)
        let before = h.topology.snapshot(for: TopologyQuery(includeIdle: true), now: h.clock.nowMs())
        // The core goes on before the encoder builds the reply: a new service, a heartbeat that
        // changes a node (health), one unregistered. The reply is the topology as it was asked for.
        let c = h.register("c", call: 4)
        h.send(Frame(callId: 5, message: .heartbeatRequest(HeartbeatRequest(serviceId: a, sequence: 1, health: ApplicationHealth(state: .degraded)))))
        h.send(Frame(callId: 6, message: .unregisterServiceRequest(UnregisterServiceRequest(serviceId: b))))
        let frame = reply.frame()
        XCTAssertEqual(frame.callId, 3)
        guard case .getTopologyResponse(let response)? = frame.message else { return XCTFail("not a topology") }
        XCTAssertEqual(response.snapshot, before)
        XCTAssertEqual(response.snapshot?.nodes.map(\.serviceId), [a, b])
        XCTAssertFalse(h.topology.snapshot(for: TopologyQuery(includeIdle: true), now: h.clock.nowMs()).nodes.map(\.serviceId).contains(b))
        XCTAssertTrue(h.topology.snapshot(for: TopologyQuery(includeIdle: true), now: h.clock.nowMs()).nodes.map(\.serviceId).contains(c))
    }

    func testHeartbeatsOnOneCallAreStampedWithTheClockAndAcknowledged() throws {
        var h = ProtocolHarness()
        let id = h.register("svc")
        h.clock.advance(ms: 1_234)
        h.sendFast(ProtocolHarness.heartbeat(7, id, sequence: 1))
        h.clock.advance(ms: 10)
        h.send(ProtocolHarness.heartbeat(7, id, sequence: 2))
        h.clock.advance(ms: 10)
        h.sendFast(ProtocolHarness.heartbeat(7, id, sequence: 3, endOfStream: true))
        let replies = h.replies()
        XCTAssertEqual(replies.map(\.callId), [7, 7, 7, 7])
        for (index, reply) in replies.prefix(3).enumerated() {
            XCTAssertEqual(reply.message, .heartbeatResponse(HeartbeatResponse(sequence: Int64(index + 1), acknowledged: true,
                                                                               serverEpoch: ProtocolHarness.epoch)))
        }
        assertStatus(replies[3], call: 7, .ok)
        XCTAssertEqual(h.topology.node(id: id)?.lastHeartbeatMs, h.clock.nowMs())
        XCTAssertEqual(h.dispatcher.metrics.heartbeats, 3)
        XCTAssertEqual(h.dispatcher.metrics.heartbeatSeconds.count, 3)
        XCTAssertEqual(h.state.calls.count, 0, "end_of_stream ended the call")
    }

    func testBothDecodersGiveTheSameHeartbeatReplies() {
        // The fast path's input and the general one's, on the same script: byte-identical replies.
        func script(fast: Bool) -> [UInt8] {
            var h = ProtocolHarness()
            let id = h.register("svc")
            h.read = 0
            h.queue = []
            let frames = [
                ProtocolHarness.heartbeat(3, id, sequence: 5),
                ProtocolHarness.heartbeat(3, id, sequence: -1),
                ProtocolHarness.heartbeat(4, "00000000-0000-4000-8000-000000000001", sequence: 9),
                ProtocolHarness.heartbeat(3, id, sequence: .max, endOfStream: true),
            ]
            for frame in frames {
                if fast { h.sendFast(frame) } else { h.send(frame) }
            }
            return h.queue
        }
        let fast = script(fast: true)
        XCTAssertFalse(fast.isEmpty)
        XCTAssertEqual(fast, script(fast: false))
    }

    func testHeartbeatForAnUnknownServiceIsRefusedAndEndsTheCall() {
        var h = ProtocolHarness()
        h.sendFast(ProtocolHarness.heartbeat(9, "00000000-0000-4000-8000-000000000001", sequence: 4))
        let reply = h.reply()
        assertStatus(reply, call: 9, .notFound)
        XCTAssertEqual(reply?.message, .heartbeatResponse(HeartbeatResponse(sequence: 4, acknowledged: false, serverEpoch: ProtocolHarness.epoch)))
        XCTAssertEqual(h.state.calls.count, 0)
        XCTAssertEqual(h.dispatcher.metrics.heartbeatsRefused["not_found"], 1)
        XCTAssertTrue(h.recorder.contains("heartbeat refused"))
    }

    func testReportActivityCountsTheCallsOfItsStream() {
        var h = ProtocolHarness()
        let id = h.register("web")
        let event = ReportActivityRequest(serviceId: id, targetService: "db")
        h.send(Frame(callId: 5, message: .reportActivityRequest(event)))
        XCTAssertEqual(h.replies(), [], "nothing is said until the stream ends")
        var batch = event
        batch.batchSize = 4
        h.send(Frame(callId: 5, endOfStream: true, message: .reportActivityRequest(batch)))
        let reply = h.reply()
        assertStatus(reply, call: 5, .ok)
        XCTAssertEqual(reply?.message, .reportActivityResponse(ReportActivityResponse(acknowledged: true, acceptedEvents: 5)))
        XCTAssertEqual(h.dispatcher.metrics.activityEvents, 5)
    }

    func testWatchOpensAndEndsThroughActions() throws {
        var h = ProtocolHarness()
        h.send(Frame(callId: 11, message: .watchTopologyRequest(WatchTopologyRequest())))
        guard case .watchOpened(let watcher, let call)? = h.actions.first else { return XCTFail("actions: \(h.actions)") }
        XCTAssertEqual(call, 11)
        XCTAssertEqual(h.topology.watcherCount, 1)
        h.send(Frame(callId: 11, endOfStream: true))
        XCTAssertEqual(h.actions, [.watchOpened(watcher, callID: 11), .watchClosed(watcher)])
        assertStatus(h.reply(), call: 11, .ok)
        XCTAssertEqual(h.topology.watcherCount, 0)
        // The end of a call the server already ended: answered once, so the client knows the id is free.
        h.send(Frame(callId: 11, endOfStream: true))
        let replies = h.replies()
        XCTAssertEqual(replies.count, 1)
        assertStatus(replies.first, call: 11, .failedPrecondition)
        XCTAssertEqual(h.topology.watcherCount, 0)
    }

    func testWatchesPerConnectionAreLimited() {
        var h = ProtocolHarness()
        for call in 1...16 { h.send(Frame(callId: UInt64(call), message: .watchTopologyRequest(WatchTopologyRequest()))) }
        XCTAssertEqual(h.topology.watcherCount, 16)
        XCTAssertEqual(h.replies(), [])
        h.send(Frame(callId: 17, message: .watchTopologyRequest(WatchTopologyRequest())))
        let refused = h.replies()
        assertStatus(refused.first, call: 17, .resourceExhausted)
        XCTAssertTrue(refused.first?.status?.message.contains("--max-watchers-per-connection is 16") ?? false, "\(refused)")
        XCTAssertEqual(h.topology.watcherCount, 16)
        XCTAssertEqual(h.dispatcher.metrics.limitRejections["--max-watchers-per-connection"], 1)
        // Ending one makes room for another.
        h.send(Frame(callId: 3, endOfStream: true))
        assertStatus(h.reply(), call: 3, .ok)
        h.send(Frame(callId: 18, message: .watchTopologyRequest(WatchTopologyRequest())))
        XCTAssertEqual(h.replies(), [])
        XCTAssertEqual(h.topology.watcherCount, 16)
    }

    func testAuthenticateWithoutATokenConfiguredIsAccepted() {
        var h = ProtocolHarness()
        h.send(Frame(callId: 1, message: .authenticateRequest(AuthenticateRequest(token: "anything"))))
        let reply = h.reply()
        assertStatus(reply, call: 1, .ok)
        XCTAssertEqual(reply?.message, .authenticateResponse(AuthenticateResponse(authenticated: true)))
    }

    // MARK: Call rules

    func testCallIDZeroClosesTheConnection() {
        var h = ProtocolHarness()
        h.send(Frame(callId: 0, message: .getTopologyRequest(GetTopologyRequest())))
        assertStatus(h.reply(), call: 0, .invalidArgument, "call_id 0 is reserved for the connection itself; number calls from 1")
        XCTAssertEqual(h.actions, [.close])
        XCTAssertEqual(h.dispatcher.metrics.frameErrors["INVALID_ARGUMENT"], 1)
    }

    func testARequestOnAnOpenCallOfAnotherRPCFailsThatCall() {
        var h = ProtocolHarness()
        let id = h.register("svc")
        h.send(Frame(callId: 13, message: .reportActivityRequest(ReportActivityRequest(serviceId: id, targetService: "db"))))
        h.sendFast(ProtocolHarness.heartbeat(13, id, sequence: 1))
        assertStatus(h.reply(), call: 13, .invalidArgument, "call 13 is an open ReportActivity call; a Heartbeat request needs a call_id of its own")
        h.sendFast(ProtocolHarness.heartbeat(14, id, sequence: 1))
        _ = h.reply()
        h.send(Frame(callId: 14, message: .getTopologyRequest(GetTopologyRequest())))
        assertStatus(h.reply(), call: 14, .invalidArgument, "call 14 is an open Heartbeat call; a GetTopology request needs a call_id of its own")
        h.send(Frame(callId: 14, message: .watchTopologyRequest(WatchTopologyRequest())))
        XCTAssertEqual(h.replies(), [], "the failed call was forgotten: the watch opened on it")
        XCTAssertEqual(h.topology.watcherCount, 1)
        XCTAssertEqual(h.actions.filter { if case .close = $0 { true } else { false } }, [], "a call's error leaves the connection open")
    }

    func testCallLimitRefusesTheCallNotTheConnection() {
        var h = ProtocolHarness(maxCalls: 2)
        let id = h.register("svc")
        h.sendFast(ProtocolHarness.heartbeat(2, id, sequence: 1))
        h.send(Frame(callId: 3, message: .watchTopologyRequest(WatchTopologyRequest())))
        _ = h.replies()
        let message = "too many open calls on this connection: the limit --max-calls-per-connection is 2; end some calls or open another connection"
        h.sendFast(ProtocolHarness.heartbeat(4, id, sequence: 1))
        assertStatus(h.reply(), call: 4, .resourceExhausted, message)
        h.send(Frame(callId: 5, message: .watchTopologyRequest(WatchTopologyRequest())))
        assertStatus(h.reply(), call: 5, .resourceExhausted, message)
        h.send(Frame(callId: 6, message: .reportActivityRequest(ReportActivityRequest(serviceId: id, targetService: "db"))))
        assertStatus(h.reply(), call: 6, .resourceExhausted, message)
        XCTAssertEqual(h.dispatcher.metrics.limitRejections["--max-calls-per-connection"], 3)
        // Unary calls do not open: still answered.
        h.send(Frame(callId: 7, message: .getTopologyRequest(GetTopologyRequest())))
        XCTAssertEqual(h.reply()?.status?.statusCode, .ok)
        XCTAssertTrue(h.recorder.contains("call refused"))
    }

    func testAResponseMessageFromTheClientFailsItsCall() {
        var h = ProtocolHarness()
        h.send(Frame(callId: 8, message: .heartbeatResponse(HeartbeatResponse(sequence: 1))))
        assertStatus(h.reply(), call: 8, .invalidArgument, "a client sends requests; this frame carries a response message")
        XCTAssertEqual(h.actions, [])
    }

    func testAFrameWithoutAKnownRequestIsUnimplemented() throws {
        var h = ProtocolHarness()
        // Field 99 of Frame is no member this server knows: the general decoder skips it.
        var decoder = FrameDecoder(maximumFrameSize: 1 << 10)
        decoder.append([5, 0x08, 0x09, 0x9A, 0x06, 0x00])
        let frame = try XCTUnwrap(try decoder.next())
        h.send(frame)
        assertStatus(h.reply(), call: 9, .unimplemented,
                     "the frame carries no request this server knows (an unknown or missing oneof member)")
    }

    func testCoreRefusalsNameTheFlag() {
        var h = ProtocolHarness()
        for call in 1...50 { _ = h.register("svc-\(call)", call: UInt64(call)) }
        h.send(Frame(callId: 51, message: .registerServiceRequest(RegisterServiceRequest(serviceName: "one-too-many"))))
        assertStatus(h.reply(), call: 51, .resourceExhausted, "limit reached: --max-services is 50; retry later, or raise --max-services")
        XCTAssertEqual(h.dispatcher.metrics.limitRejections["--max-services"], 1)
        XCTAssertEqual(h.recorder.lines.last?.level, .warning)
    }

    func testAClientThatDoesNotReadIsClosedAtTheOutboundLimit() {
        var h = ProtocolHarness(maxOutboundBytes: 200)
        let id = h.register("svc")
        h.clientReads = false
        h.send(Frame(callId: 3, message: .watchTopologyRequest(WatchTopologyRequest())))
        var sequence: Int64 = 0
        while !h.closing, sequence < 100 {
            sequence += 1
            h.sendFast(ProtocolHarness.heartbeat(2, id, sequence: sequence))
        }
        XCTAssertTrue(h.closing, "never closed")
        let last = h.replies().last
        assertStatus(last, call: 0, .resourceExhausted, "the client is not reading its replies:")
        assertStatus(last, call: 0, .resourceExhausted, "over the limit --max-outbound-bytes=200")
        guard case .watchOpened(let watcher, _)? = h.actions.first else { return XCTFail("actions: \(h.actions)") }
        XCTAssertEqual(Array(h.actions.dropFirst()), [.watchClosed(watcher), .close], "the watch ends with the connection")
        XCTAssertEqual(h.topology.watcherCount, 0)
        // Closing: nothing more is queued.
        let queued = h.queue.count
        h.sendFast(ProtocolHarness.heartbeat(2, id, sequence: 1_000))
        XCTAssertEqual(h.queue.count, queued)
    }

    func testShutdownAnswersEveryOpenCallUnavailableInOrder() {
        var h = ProtocolHarness()
        let id = h.register("svc")
        h.send(Frame(callId: 30, message: .watchTopologyRequest(WatchTopologyRequest())))
        h.sendFast(ProtocolHarness.heartbeat(20, id, sequence: 1))
        _ = h.replies()
        h.answer { harness, sink in
            harness.dispatcher.endCallsForShutdown(&harness.session.callState, &sink, topology: &harness.topology)
        }
        let replies = h.replies()
        XCTAssertEqual(replies.map(\.callId), [20, 30])
        for reply in replies { assertStatus(reply, call: reply.callId, .unavailable, "server shutting down") }
        XCTAssertEqual(h.topology.watcherCount, 0)
        XCTAssertEqual(h.state.calls.count, 0)
    }

    // MARK: Authentication

    func testAuthRequiredRefusesAnyOtherFirstFrame() {
        var h = ProtocolHarness(token: "s3cret")
        h.send(Frame(callId: 1, message: .getTopologyRequest(GetTopologyRequest())))
        assertStatus(h.reply(), call: 0, .unauthenticated,
                     "this server requires authentication: the first frame of a connection must carry an authenticate_request with the token of the server's --auth-token-file (docs/security.md); the connection is closed")
        XCTAssertEqual(h.actions, [.close])
        XCTAssertEqual(h.dispatcher.metrics.authenticationFailures["frames"], 1)
        XCTAssertTrue(h.recorder.contains("authentication failed"))
        XCTAssertFalse(h.recorder.lines.contains { $0.fields.values.contains { $0.contains("s3cret") } }, "the token was logged")
    }

    func testAuthWithAWrongTokenClosesAndTheRightOneOpens() {
        var wrong = ProtocolHarness(token: "s3cret")
        wrong.send(Frame(callId: 1, message: .authenticateRequest(AuthenticateRequest(token: "guess"))))
        assertStatus(wrong.reply(), call: 0, .unauthenticated,
                     "authentication failed: the token does not match the server's --auth-token-file; give the client the current token (docs/security.md); the connection is closed")
        XCTAssertEqual(wrong.actions, [.close])

        var right = ProtocolHarness(token: "s3cret")
        right.send(Frame(callId: 1, message: .authenticateRequest(AuthenticateRequest(token: "s3cret"))))
        XCTAssertEqual(right.reply()?.message, .authenticateResponse(AuthenticateResponse(authenticated: true)))
        XCTAssertFalse(right.state.awaitingAuthentication)
        XCTAssertFalse(right.register("svc").isEmpty)
        XCTAssertEqual(right.actions, [])
    }
}
