import TopologyCore
@testable import TopologyHTTP2
@testable import TopologyProtocol
import TopologyWire
import XCTest

/// The gRPC session without sockets: a client's HTTP/2 bytes in (whole and byte by byte), the
/// dispatcher's answers out as gRPC responses: heads, messages, `grpc-status` trailers.
final class GRPCSessionTests: XCTestCase {
    func testUnaryRegisterWholeAndByteByByte() throws {
        for chunk in [Int.max, 1, 7] {
            var h = GRPCHarness()
            let response = h.unary("RegisterService", RegisterServiceRequest(serviceName: "checkout", serviceType: .server), stream: 1, chunk: chunk)
            XCTAssertEqual(response.head[":status"], "200")
            XCTAssertEqual(response.head["content-type"], "application/grpc")
            XCTAssertEqual(response.grpcStatus, 0)
            XCTAssertTrue(response.ended)
            let reply = try RegisterServiceResponse(serializedBytes: try XCTUnwrap(response.messages.first))
            XCTAssertEqual(reply.handle?.serverEpoch, ProtocolHarness.epoch)
            XCTAssertEqual(h.base.topology.serviceCount, 1)
        }
    }

    func testARefusalCarriesTheFramesStatusAsATrailersOnlyResponse() {
        var h = GRPCHarness()
        let response = h.unary("RegisterService", RegisterServiceRequest(serviceName: "", serviceType: .server), stream: 1)
        XCTAssertEqual(response.grpcStatus, 3)
        XCTAssertEqual(response.grpcMessage, "invalid service_name: must not be empty")
        XCTAssertTrue(response.messages.isEmpty)
        XCTAssertTrue(response.trailers.isEmpty, "one HEADERS frame: trailers-only")
    }

    func testRequestsThatAreNotThisServicesGRPCAreRefusedAlone() throws {
        var h = GRPCHarness()
        h.receive(GRPCHarness.head("Nope", stream: 1, endStream: true).encoded)
        XCTAssertEqual(h.responses[1]?.grpcStatus, 12)
        XCTAssertTrue(try XCTUnwrap(h.responses[1]?.grpcMessage).hasPrefix("unknown method /runtime.v1.TopologyService/Nope"))
        h.receive(GRPCHarness.head("GetTopology", stream: 3, contentType: "application/json", endStream: true).encoded)
        XCTAssertEqual(h.responses[3]?.head[":status"], "415")
        h.receive(GRPCHarness.head("GetTopology", stream: 5, extra: [HeaderField("grpc-encoding", "gzip")], endStream: true).encoded)
        XCTAssertEqual(h.responses[5]?.grpcStatus, 12)
        XCTAssertEqual(h.responses[5]?.head["grpc-accept-encoding"], "identity")
        h.receive(GRPCHarness.head("GetTopology", stream: 7).encoded + GRPCHarness.message(GetTopologyRequest(), stream: 7, endStream: true, flags: 1).encoded)
        XCTAssertEqual(h.responses[7]?.grpcStatus, 12, "a compressed message")
        h.receive(GRPCHarness.head("GetTopology", stream: 9, extra: [HeaderField("grpc-timeout", "soon")], endStream: true).encoded)
        XCTAssertEqual(h.responses[9]?.grpcStatus, 3)
        h.receive(GRPCHarness.head("GetTopology", stream: 11, endStream: true).encoded)
        XCTAssertEqual(h.responses[11]?.grpcMessage, "the call ended without its request message")
        h.receive(GRPCHarness.head("GetTopology", stream: 13).encoded
                  + HTTP2Frame(stream: 13, .data([0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF], endStream: true)).encoded)
        XCTAssertEqual(h.responses[13]?.grpcStatus, 3, "a message that does not decode")
        // The connection serves on.
        XCTAssertEqual(h.unary("GetTopology", GetTopologyRequest(), stream: 15).grpcStatus, 0)
        XCTAssertNil(h.goAway)
    }

    func testAMessageOverTheLimitIsRefusedFromItsPrefix() {
        var h = GRPCHarness(maxMessageBytes: 64)
        h.receive(GRPCHarness.head("RegisterService", stream: 1).encoded + HTTP2Frame(stream: 1, .data([0, 0, 1, 0, 0], endStream: false)).encoded)
        XCTAssertEqual(h.responses[1]?.grpcStatus, 8)
        XCTAssertEqual(h.base.dispatcher.metrics.limitRejections["--max-frame-bytes"], 1)
    }

    func testAHeartbeatStreamAnswersEachBeatAndEndsWithTheClient() throws {
        var h = GRPCHarness()
        let id = try h.register("checkout", stream: 1)
        h.receive(GRPCHarness.head("Heartbeat", stream: 3).encoded
                  + GRPCHarness.message(HeartbeatRequest(serviceId: id, sequence: 1), stream: 3).encoded
                  + GRPCHarness.message(HeartbeatRequest(serviceId: id, sequence: 2), stream: 3).encoded)
        let beats = try XCTUnwrap(h.responses[3]).messages.map { try HeartbeatResponse(serializedBytes: $0) }
        XCTAssertEqual(beats.map(\.sequence), [1, 2])
        XCTAssertTrue(beats.allSatisfy(\.acknowledged))
        XCTAssertNil(h.responses[3]?.grpcStatus, "the stream stays open")
        h.receive(HTTP2Frame(stream: 3, .data([], endStream: true)).encoded)
        XCTAssertEqual(h.responses[3]?.grpcStatus, 0)
        XCTAssertEqual(h.base.dispatcher.metrics.heartbeats, 2)
    }

    func testAnUnknownServiceGetsNotFoundAsOverFrames() throws {
        var h = GRPCHarness()
        h.receive(GRPCHarness.head("Heartbeat", stream: 1).encoded
                  + GRPCHarness.message(HeartbeatRequest(serviceId: "7d3c1f4e-0000-4000-8000-000000000000", sequence: 1), stream: 1).encoded)
        XCTAssertEqual(h.responses[1]?.grpcStatus, 5)
        let reply = try HeartbeatResponse(serializedBytes: try XCTUnwrap(h.responses[1]?.messages.first))
        XCTAssertFalse(reply.acknowledged)
    }

    func testHeartbeatRepliesAClientNeverReadsAreBoundedAndItsBeatsStillCount() throws {
        // The client opens no window: every reply waits, as for the seed's TypeScript reporter.
        var h = GRPCHarness(initialWindow: 0)
        let id = try XCTUnwrap(try h.base.topology.register(RegisterServiceRequest(serviceName: "checkout", serviceType: .server),
                                                             now: h.base.clock.nowMs()).handle?.serviceId)
        h.receive(GRPCHarness.head("Heartbeat", stream: 1).encoded)
        let beats = 2_000
        for sequence in 1...beats {
            h.receive(GRPCHarness.message(HeartbeatRequest(serviceId: id, sequence: Int64(sequence)), stream: 1).encoded)
        }
        XCTAssertEqual(h.base.dispatcher.metrics.heartbeats, beats, "every beat counted")
        XCTAssertLessThanOrEqual(h.session.queuedBytes(callID: 1), GRPCSession.maxUnreadHeartbeatReplyBytes + 256)
        XCTAssertGreaterThan(h.base.dispatcher.metrics.grpcHeartbeatRepliesDropped, 0)
        XCTAssertNil(h.goAway)
    }

    func testABatchOfBeatsInOneReadIsAllAnsweredWhenTheClientReads() throws {
        var h = GRPCHarness()
        let id = try h.register("checkout", stream: 1)
        var bytes = GRPCHarness.head("Heartbeat", stream: 3).encoded
        for sequence in 1...1_000 { bytes += GRPCHarness.message(HeartbeatRequest(serviceId: id, sequence: Int64(sequence)), stream: 3).encoded }
        h.receive(bytes)
        XCTAssertEqual(h.responses[3]?.messages.count, 1_000, "replies queued within one read are not unread")
        XCTAssertEqual(h.base.dispatcher.metrics.grpcHeartbeatRepliesDropped, 0)
    }

    /// Heartbeats in the usual layout are read where they are buffered (the fast path); others
    /// (an id in upper case is still the usual layout; an unknown field or an id that is not a UUID
    /// is not) go through the general decoder. One DATA frame mixing them is answered in order,
    /// whole, byte by byte and in pieces.
    func testBeatsOfEitherLayoutInOneDataFrameAreAnsweredInOrder() throws {
        for chunk in [Int.max, 1, 7] {
            var h = GRPCHarness()
            let id = try h.register("checkout", stream: 1)
            var data: [UInt8] = []
            for sequence in 1...30 {
                var body = HeartbeatRequest(serviceId: sequence % 3 == 1 ? id.uppercased() : id, sequence: Int64(sequence)).serializedBytes()
                if sequence % 3 == 2 { body += [0x78, 0x01] }  // field 15, varint 1: unknown, kept by the general decoder
                ConnectEnvelope.append(flags: 0, payload: body, to: &data)
            }
            h.receive(GRPCHarness.head("Heartbeat", stream: 3).encoded + HTTP2Frame(stream: 3, .data(data, endStream: false)).encoded, chunk: chunk)
            let beats = try XCTUnwrap(h.responses[3]).messages.map { try HeartbeatResponse(serializedBytes: $0) }
            XCTAssertEqual(beats.map(\.sequence), (1...30).map(Int64.init), "chunk \(chunk)")
            XCTAssertTrue(beats.allSatisfy(\.acknowledged))
            XCTAssertEqual(h.base.dispatcher.metrics.heartbeats, 30)
            XCTAssertNil(h.responses[3]?.grpcStatus, "the stream stays open")
        }
    }

    /// A refused heartbeat ends its call, as over frames; beats after it in the same DATA are not
    /// taken (they would open the call again), and the stream ends once.
    func testARefusedBeatEndsTheStreamAndWhatFollowsItIsNotTaken() throws {
        var h = GRPCHarness()
        let id = try h.register("checkout", stream: 1)
        var data: [UInt8] = []
        for (sequence, service) in [id, "7d3c1f4e-0000-4000-8000-000000000000", id].enumerated() {
            ConnectEnvelope.append(flags: 0, payload: HeartbeatRequest(serviceId: service, sequence: Int64(sequence + 1)).serializedBytes(), to: &data)
        }
        h.receive(GRPCHarness.head("Heartbeat", stream: 3).encoded + HTTP2Frame(stream: 3, .data(data, endStream: false)).encoded)
        let response = try XCTUnwrap(h.responses[3])
        let beats = try response.messages.map { try HeartbeatResponse(serializedBytes: $0) }
        XCTAssertEqual(beats.map(\.sequence), [1, 2])
        XCTAssertEqual(beats.map(\.acknowledged), [true, false])
        XCTAssertEqual(response.grpcStatus, 5)
        XCTAssertTrue(response.ended)
        XCTAssertEqual(h.base.dispatcher.metrics.heartbeats, 1)
        XCTAssertEqual(h.session.callState.calls.count, 0, "no call opened again by the third beat")
        XCTAssertEqual(h.session.openCallCount, 0)
    }

    /// A unary call answered by its first message takes no second one from the same DATA.
    func testAUnaryCallTakesOneMessageEvenWhenTwoArriveTogether() throws {
        var h = GRPCHarness()
        var data: [UInt8] = []
        for name in ["first", "second"] {
            ConnectEnvelope.append(flags: 0, payload: RegisterServiceRequest(serviceName: name, serviceType: .server).serializedBytes(), to: &data)
        }
        h.receive(GRPCHarness.head("RegisterService", stream: 1).encoded + HTTP2Frame(stream: 1, .data(data, endStream: true)).encoded)
        XCTAssertEqual(h.responses[1]?.grpcStatus, 0)
        XCTAssertEqual(h.responses[1]?.messages.count, 1)
        XCTAssertEqual(h.base.dispatcher.metrics.registrations, 1)
        XCTAssertEqual(h.base.dispatcher.metrics.frameErrors, [:], "the second message is not refused: the call was over")
    }

    /// A GetTopology over the off-loop size is left to the server's reply encoder, as over frames;
    /// the connection's other streams are served meanwhile, and the encoded reply goes out on its
    /// stream with its trailers.
    func testALargeGetTopologyIsEncodedOffTheLoopAndAnsweredOnItsStream() throws {
        var h = GRPCHarness(offLoopReplyEntries: 2)
        let ids = try ["checkout", "billing"].enumerated().map { try h.register($0.element, stream: UInt32(2 * $0.offset + 1)) }
        XCTAssertNil(h.unary("GetTopology", GetTopologyRequest(), stream: 5).grpcStatus, "nothing on the stream before the encoder is done")
        guard case .encodeOffLoop(let reply)? = h.base.actions.last else { return XCTFail("actions: \(h.base.actions)") }
        h.receive(GRPCHarness.head("Heartbeat", stream: 7).encoded + GRPCHarness.message(HeartbeatRequest(serviceId: ids[0], sequence: 1), stream: 7).encoded)
        XCTAssertEqual(h.responses[7]?.messages.count, 1, "another stream is served meanwhile")
        h.takeEncoded(reply)
        let response = try XCTUnwrap(h.responses[5])
        XCTAssertEqual(response.grpcStatus, 0)
        let topology = try GetTopologyResponse(serializedBytes: try XCTUnwrap(response.messages.first))
        XCTAssertEqual(Set(topology.snapshot?.nodes.map(\.serviceId) ?? []), Set(ids))
        XCTAssertEqual(h.session.openCallCount, 1, "the heartbeat stream only")
    }

    func testAnOffLoopReplyForAStreamResetMeanwhileIsDropped() throws {
        var h = GRPCHarness(offLoopReplyEntries: 1)
        _ = try h.register("checkout", stream: 1)
        _ = h.unary("GetTopology", GetTopologyRequest(), stream: 3)
        guard case .encodeOffLoop(let reply)? = h.base.actions.last else { return XCTFail("actions: \(h.base.actions)") }
        h.receive(HTTP2Frame(stream: 3, .rstStream(errorCode: HTTP2ErrorCode.cancel.rawValue)).encoded)
        h.takeEncoded(reply)
        XCTAssertNil(h.responses[3], "nothing written on the reset stream")
        XCTAssertNil(h.goAway)
        XCTAssertEqual(h.session.openCallCount, 0)
    }

    func testReportActivityCountsWhatTheStreamCarried() throws {
        var h = GRPCHarness()
        let id = try h.register("checkout", stream: 1)
        var bytes = GRPCHarness.head("ReportActivity", stream: 3).encoded
        for _ in 0..<3 {
            bytes += GRPCHarness.message(ReportActivityRequest(serviceId: id, targetService: "payments", type: .requestSent), stream: 3).encoded
        }
        h.receive(bytes + HTTP2Frame(stream: 3, .data([], endStream: true)).encoded)
        XCTAssertEqual(h.responses[3]?.grpcStatus, 0)
        let reply = try ReportActivityResponse(serializedBytes: try XCTUnwrap(h.responses[3]?.messages.first))
        XCTAssertEqual(reply.acceptedEvents, 3)
        // None at all: acknowledged, zero.
        h.receive(GRPCHarness.head("ReportActivity", stream: 5, endStream: true).encoded)
        XCTAssertEqual(try ReportActivityResponse(serializedBytes: try XCTUnwrap(h.responses[5]?.messages.first)).acceptedEvents, 0)
    }

    func testAWatchRunsPastTheClientsHalfCloseAndEndsWhenItCancels() throws {
        var h = GRPCHarness()
        h.receive(GRPCHarness.head("WatchTopology", stream: 1).encoded + GRPCHarness.message(WatchTopologyRequest(), stream: 1, endStream: true).encoded)
        guard case .watchOpened(let watcher, callID: 1)? = h.base.actions.first else { return XCTFail("actions: \(h.base.actions)") }
        // What the server's watch delivery hands over for the call.
        var cache = WatchEncodingCache()
        for bytes in cache.take(for: watcher, max: 8, from: &h.base.topology) { h.session.sendWatchResponse(callID: 1, encoded: bytes, to: &h.base.queue) }
        h.read()
        let update = try WatchTopologyResponse(serializedBytes: try XCTUnwrap(h.responses[1]?.messages.first)).update
        XCTAssertEqual(update?.type, .snapshot)
        XCTAssertNil(h.responses[1]?.grpcStatus)
        h.receive(HTTP2Frame(stream: 1, .rstStream(errorCode: HTTP2ErrorCode.cancel.rawValue)).encoded)
        XCTAssertEqual(h.base.actions.last, .watchClosed(watcher))
        XCTAssertEqual(h.base.topology.watcherCount, 0)
    }

    func testADeadlineEndsAWatchWithDeadlineExceeded() {
        var h = GRPCHarness()
        h.receive(GRPCHarness.head("WatchTopology", stream: 1, extra: [HeaderField("grpc-timeout", "250m")]).encoded
                  + GRPCHarness.message(WatchTopologyRequest(), stream: 1, endStream: true).encoded)
        XCTAssertEqual(h.session.nextDeadlineMs, h.base.clock.nowMs() + 250)
        h.base.clock.advance(ms: 250)
        h.base.answer { base, sink in h.session.runTimers(now: base.clock.nowMs(), &base.dispatcher, topology: &base.topology, &sink) }
        h.read()
        XCTAssertEqual(h.responses[1]?.grpcStatus, 4)
        XCTAssertEqual(h.base.topology.watcherCount, 0)
    }

    func testTheTokenIsCheckedPerCall() throws {
        var h = GRPCHarness(token: "s3cret")
        XCTAssertEqual(h.unary("GetTopology", GetTopologyRequest(), stream: 1).grpcStatus, 16)
        h.receive(GRPCHarness.head("GetTopology", stream: 3, extra: [HeaderField("authorization", "Bearer wrong")]).encoded
                  + GRPCHarness.message(GetTopologyRequest(), stream: 3, endStream: true).encoded)
        XCTAssertEqual(h.responses[3]?.grpcStatus, 16)
        h.receive(GRPCHarness.head("GetTopology", stream: 5, extra: [HeaderField("authorization", "Bearer s3cret")]).encoded
                  + GRPCHarness.message(GetTopologyRequest(), stream: 5, endStream: true).encoded)
        XCTAssertEqual(h.responses[5]?.grpcStatus, 0)
        XCTAssertEqual(h.base.dispatcher.metrics.authenticationFailures["grpc"], 2)
    }

    func testShutdownSaysGoAwayAndEndsOpenCallsWithUnavailable() {
        var h = GRPCHarness()
        h.receive(GRPCHarness.head("WatchTopology", stream: 1).encoded + GRPCHarness.message(WatchTopologyRequest(), stream: 1).encoded)
        h.base.answer { base, sink in h.session.shutdown(&base.dispatcher, topology: &base.topology, &sink) }
        h.read()
        XCTAssertEqual(h.goAway?.code, 0)
        XCTAssertEqual(h.goAway?.lastStream, 1)
        XCTAssertEqual(h.responses[1]?.grpcStatus, 14)
        XCTAssertEqual(h.base.topology.watcherCount, 0)
    }

    func testGRPCMessagesArePercentEncodedAndTimeoutsRoundUp() {
        XCTAssertEqual(GRPCHeaders.percentEncoded("ok: 100% é\n"), "ok: 100%25 %C3%A9%0A")
        XCTAssertEqual(GRPCHeaders.timeoutMs("4999m"), 4_999)
        XCTAssertEqual(GRPCHeaders.timeoutMs("1S"), 1_000)
        XCTAssertEqual(GRPCHeaders.timeoutMs("2H"), 7_200_000)
        XCTAssertEqual(GRPCHeaders.timeoutMs("1500u"), 2)
        XCTAssertEqual(GRPCHeaders.timeoutMs("1n"), 1)
        for bad in ["", "m", "123456789m", "10x", "-1S", "1.5S"] { XCTAssertNil(GRPCHeaders.timeoutMs(bad), bad) }
    }
}
