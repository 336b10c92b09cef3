import TopologyCore
@testable import TopologyProtocol
import TopologyWire
import XCTest

/// A connection's bytes through `FrameSession`: fed whole, byte by byte and in batches, the same
/// replies and actions; bytes that are not frames get the Status the docs promise, once.
final class FrameSessionTests: XCTestCase {
    static let serviceID = "6f1c2a9e-0000-4000-8000-00000000beef"

    static func bytes(_ frames: [Frame]) -> [UInt8] {
        var bytes: [UInt8] = []
        for frame in frames { frame.encodeLengthPrefixed(appendingTo: &bytes) }
        return bytes
    }

    static func heartbeat(_ call: UInt64, sequence: Int64, endOfStream: Bool = false) -> Frame {
        ProtocolHarness.heartbeat(call, serviceID, sequence: sequence, endOfStream: endOfStream)
    }

    /// Every RPC on one connection, as one byte stream.
    static let script: [UInt8] = {
        var register = RegisterServiceRequest(serviceName: "svc", serviceType: .server)
        register.serviceId = serviceID
        var bytes = FrameSessionTests.bytes([
            Frame(callId: 1, message: .registerServiceRequest(register)),
            heartbeat(2, sequence: 1), heartbeat(2, sequence: 2), heartbeat(2, sequence: 3),
            Frame(callId: 3, message: .reportActivityRequest(ReportActivityRequest(serviceId: serviceID, targetService: "db"))),
            Frame(callId: 3, endOfStream: true, message: .reportActivityRequest(ReportActivityRequest(serviceId: serviceID, targetService: "db"))),
            Frame(callId: 4, message: .watchTopologyRequest(WatchTopologyRequest())),
            Frame(callId: 5, message: .getTopologyRequest(GetTopologyRequest(query: TopologyQuery(includeIdle: true)))),
            heartbeat(2, sequence: 4, endOfStream: true),
            Frame(callId: 4, endOfStream: true),
            Frame(callId: 6, message: .authenticateRequest(AuthenticateRequest(token: "t"))),
        ])
        // A heartbeat with an unknown field: the general decoder's, answered the same.
        let body = heartbeat(7, sequence: 9).serializedBytes() + [0xA8, 0x1F, 0x01]
        bytes += [UInt8(body.count)] + body
        bytes += FrameSessionTests.bytes([Frame(callId: 8, message: .unregisterServiceRequest(UnregisterServiceRequest(serviceId: serviceID)))])
        return bytes
    }()

    func testTheScriptGivesTheSameRepliesWholeByteByByteAndBatched() throws {
        var whole = ProtocolHarness()
        let progress = whole.receive(FrameSessionTests.script)
        XCTAssertEqual(progress.frames, 13)
        XCTAssertEqual(progress.fastPathHeartbeats, 4, "the heartbeats after the first frame, in the usual layout")
        let replies = whole.replies()
        XCTAssertEqual(replies.map(\.callId), [1, 2, 2, 2, 3, 5, 2, 2, 4, 6, 7, 8])
        XCTAssertTrue(replies.allSatisfy { $0.status == nil || $0.status?.statusCode == .ok }, "\(replies.compactMap(\.status))")
        guard case .watchOpened(let watcher, callID: 4)? = whole.actions.first else { return XCTFail("actions: \(whole.actions)") }
        XCTAssertEqual(whole.actions, [.watchOpened(watcher, callID: 4), .watchClosed(watcher)])
        XCTAssertEqual(whole.session.state, .open)
        XCTAssertEqual(whole.session.bufferedByteCount, 0)

        for chunk in [1, 2, 3, 7, 64, 1_000] {
            var fed = ProtocolHarness()
            let progress = fed.receive(FrameSessionTests.script, chunk: chunk)
            XCTAssertEqual(progress, FrameSession.Progress(frames: 13, fastPathHeartbeats: 4), "chunks of \(chunk)")
            XCTAssertEqual(fed.queue, whole.queue, "chunks of \(chunk)")
            XCTAssertEqual(fed.actions, whole.actions, "chunks of \(chunk)")
        }
    }

    func testTheFirstFrameTakesTheGeneralDecoder() {
        var h = ProtocolHarness()
        XCTAssertEqual(h.receive(FrameSessionTests.bytes([FrameSessionTests.heartbeat(1, sequence: 1)])),
                       FrameSession.Progress(frames: 1, fastPathHeartbeats: 0))
        assertStatus(h.reply(), call: 1, .notFound)
        XCTAssertEqual(h.receive(FrameSessionTests.bytes([FrameSessionTests.heartbeat(2, sequence: 1)])),
                       FrameSession.Progress(frames: 1, fastPathHeartbeats: 1))
        assertStatus(h.reply(), call: 2, .notFound)
    }

    /// `bytes`, fed whole and byte by byte, close the connection with `code` and `message` on
    /// call 0, after answering `answered` frames; nothing after them is taken.
    func assertCloses(_ bytes: [UInt8], _ code: StatusCode, _ message: String, answered: Int = 0, token: String? = nil,
                      file: StaticString = #filePath, line: UInt = #line) {
        for chunk in [Int.max, 1] {
            var h = ProtocolHarness(token: token, maxFrameBytes: 1_024)
            h.receive(bytes + FrameSessionTests.bytes([Frame(callId: 99, message: .getTopologyRequest(GetTopologyRequest()))]), chunk: chunk)
            let replies = h.replies(file: file, line: line)
            XCTAssertEqual(replies.count, answered + 1, "chunk \(chunk): \(replies)", file: file, line: line)
            assertStatus(replies.last, call: 0, code, file: file, line: line)
            XCTAssertEqual(replies.last?.status?.message, message, "chunk \(chunk)", file: file, line: line)
            XCTAssertEqual(h.actions, [.close], "chunk \(chunk)", file: file, line: line)
            XCTAssertEqual(h.session.state, .closed, file: file, line: line)
            XCTAssertEqual(h.receive(FrameSessionTests.bytes([FrameSessionTests.heartbeat(5, sequence: 1)])).frames, 0, file: file, line: line)
            XCTAssertEqual(h.replies(file: file, line: line), [], file: file, line: line)
        }
    }

    /// An HTTP client on the frames port gets a plain HTTP 400 naming the HTTP port (or saying
    /// there is none), then the connection closes; nothing after it is read.
    func testAnHTTPRequestOnTheFramesPortIsAnsweredInHTTP() {
        for (httpAddress, names) in [("127.0.0.1:50054", "the dashboard and the HTTP API are at http://127.0.0.1:50054/"),
                                     (nil, "the dashboard and the HTTP API are not enabled on this server (--http-address)")] {
            for (request, chunk) in [("GET /api/v1/topology HTTP/1.1\r\nHost: x\r\n\r\n", Int.max), ("POST", 1)] {
                var h = ProtocolHarness()
                h.dispatcher.configuration.httpAddress = httpAddress
                h.receive(Array(request.utf8), chunk: chunk)
                let text = String(decoding: h.queue, as: UTF8.self)
                XCTAssertTrue(text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), text)
                XCTAssertTrue(text.contains("Connection: close\r\n"), text)
                XCTAssertTrue(text.hasSuffix("this is the frames port of topology-server: length-prefixed protobuf Frames "
                                             + "(runtime.v1.Frame) and gRPC, not HTTP/1.1; \(names) (docs/operations.md)\n"), text)
                XCTAssertEqual(h.actions, [.close])
                XCTAssertEqual(h.session.state, .closed)
                XCTAssertEqual(h.dispatcher.metrics.frameErrors[StatusCode.invalidArgument.description], 1)
            }
        }
        // Only as the first bytes: after a frame, the same bytes are a (too long) frame.
        var h = ProtocolHarness()
        h.receive(FrameSessionTests.bytes([Frame(callId: 1, message: .getTopologyRequest(GetTopologyRequest()))]) + Array("GET ".utf8))
        XCTAssertEqual(h.replies().map(\.callId), [1])
        XCTAssertEqual(h.session.state, .open)
    }

    func testTheHTTP2PrefaceHandsTheConnectionToGRPCWithItsBytes() {
        let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [0, 0, 0, 4, 0, 0, 0, 0, 0]
        for chunk in [Int.max, 1, 3] {
            var h = ProtocolHarness()
            h.receive(preface, chunk: chunk)
            XCTAssertEqual(h.session.state, .http2, "chunk \(chunk)")
            XCTAssertEqual(h.replies(), [], "nothing is answered in frames")
            XCTAssertEqual(h.session.takeBufferedBytes(), preface, "chunk \(chunk): every byte handed over")
        }
    }

    func testAnOversizedFrameIsRefusedByItsLengthPrefix() {
        var h = ProtocolHarness(maxFrameBytes: 1_024)
        // 2,000 as a varint; no body needs to arrive for the verdict.
        h.receive([0xD0, 0x0F], chunk: 1)
        assertStatus(h.reply(), call: 0, .resourceExhausted,
                     "frame of 2000 bytes is over the limit --max-frame-bytes=1024; the connection is closed")
        XCTAssertEqual(h.dispatcher.metrics.limitRejections["--max-frame-bytes"], 1)
        XCTAssertEqual(h.dispatcher.metrics.frameErrors["RESOURCE_EXHAUSTED"], 1)
        assertCloses(FrameSessionTests.bytes([FrameSessionTests.heartbeat(1, sequence: 1)]) + [0xD0, 0x0F], .resourceExhausted,
                     "frame of 2000 bytes is over the limit --max-frame-bytes=1024; the connection is closed", answered: 1)
    }

    func testBytesThatAreNotAFrameCloseTheConnection() {
        assertCloses([0x80, 0x80, 0x80, 0x80, 0x80], .invalidArgument, "malformed length prefix: longer than 5 bytes; the connection is closed")
        // A body whose call_id varint stops mid-way.
        var h = ProtocolHarness()
        h.receive([2, 0x08, 0x80])
        let message = h.reply()?.status?.message ?? ""
        XCTAssertTrue(message.hasPrefix("undecodable frame: ") && message.hasSuffix("; the connection is closed"), message)
        XCTAssertEqual(h.actions, [.close])
        XCTAssertEqual(h.dispatcher.metrics.frameErrors["INVALID_ARGUMENT"], 1)
    }

    func testCallIDZeroAndAuthenticationAreCheckedOnBytes() {
        assertCloses(FrameSessionTests.bytes([Frame(callId: 0, message: .getTopologyRequest(GetTopologyRequest()))]), .invalidArgument,
                     "call_id 0 is reserved for the connection itself; number calls from 1")
        assertCloses(FrameSessionTests.bytes([FrameSessionTests.heartbeat(1, sequence: 1)]), .unauthenticated,
                     "this server requires authentication: the first frame of a connection must carry an authenticate_request with the token of the server's --auth-token-file (docs/security.md); the connection is closed",
                     token: "s3cret")
        // With the token: answered, and heartbeats take the fast path from the second frame on.
        var h = ProtocolHarness(token: "s3cret")
        let progress = h.receive(FrameSessionTests.bytes([
            Frame(callId: 1, message: .authenticateRequest(AuthenticateRequest(token: "s3cret"))),
            FrameSessionTests.heartbeat(2, sequence: 1),
        ]), chunk: 1)
        XCTAssertEqual(progress, FrameSession.Progress(frames: 2, fastPathHeartbeats: 1))
        XCTAssertEqual(h.replies().map(\.callId), [1, 2])
    }

    func testAReplyEncodedOffTheLoopHoldsTheFramesAfterIt() {
        var h = ProtocolHarness(offLoopReplyEntries: 1)
        let frames = [
            Frame(callId: 1, message: .registerServiceRequest(RegisterServiceRequest(serviceName: "svc"))),
            Frame(callId: 2, message: .getTopologyRequest(GetTopologyRequest(query: TopologyQuery(includeIdle: true)))),
            Frame(callId: 3, message: .unregisterServiceRequest(UnregisterServiceRequest(serviceId: FrameSessionTests.serviceID))),
        ]
        XCTAssertEqual(h.receive(FrameSessionTests.bytes(frames)).frames, 2)
        XCTAssertEqual(h.replies().map(\.callId), [1])
        XCTAssertEqual(h.session.state, .awaitingEncodedReply)
        guard case .encodeOffLoop(let reply)? = h.actions.last else { return XCTFail("actions: \(h.actions)") }
        XCTAssertEqual(reply.callId, 2)
        XCTAssertGreaterThan(h.session.bufferedByteCount, 0, "call 3 waits in the decoder")
        // More bytes meanwhile are kept, not taken.
        XCTAssertEqual(h.receive(FrameSessionTests.bytes([FrameSessionTests.heartbeat(4, sequence: 1)])).frames, 0)

        h.session.resumeAfterEncodedReply()
        XCTAssertEqual(h.session.state, .open)
        var progress = FrameSession.Progress()
        h.answer { harness, sink in
            progress = harness.session.handleFrames(limit: .max, &harness.dispatcher, topology: &harness.topology, &sink)
        }
        XCTAssertEqual(progress.frames, 2)
        XCTAssertEqual(h.replies().map(\.callId), [3, 4])
    }

    /// A client that pipelines requests without reading the replies: once more than
    /// `--max-outbound-bytes` are queued, no frame is taken (heartbeats on the fast path neither),
    /// and nothing is refused or closed; once the client has read, the frames held are taken.
    func testFramesWaitWhileTheRepliesQueuedAreOverTheOutboundLimit() {
        var h = ProtocolHarness(maxOutboundBytes: 300)
        let id = h.register("svc")
        _ = h.replies()
        h.clientReads = false
        let getTopology = Frame(callId: 3, message: .getTopologyRequest(GetTopologyRequest(query: TopologyQuery(includeIdle: true))))
        let frames = Array(repeating: getTopology, count: 10) + (1...20).map { ProtocolHarness.heartbeat(2, id, sequence: Int64($0)) }
        let progress = h.receive(FrameSessionTests.bytes(frames))
        let queuedWhilePaused = h.queue.count
        XCTAssertGreaterThan(queuedWhilePaused, 300, "the replies were not over the limit: the test proves nothing")
        XCTAssertLessThan(progress.frames, 10, "frames were taken past the limit")
        XCTAssertEqual(h.session.state, .awaitingDrain)
        XCTAssertFalse(h.closing)
        XCTAssertEqual(h.actions, [], "nothing for the server but to stop reading")
        // More bytes meanwhile are kept, not taken.
        XCTAssertEqual(h.receive(FrameSessionTests.bytes([ProtocolHarness.heartbeat(2, id, sequence: 21)])).frames, 0)
        XCTAssertEqual(h.queue.count, queuedWhilePaused)

        // The client reads; the server resumes the session each time the queue has drained.
        h.clientReads = true
        var replies = h.replies()
        var resumes = 0
        while h.session.state == .awaitingDrain, resumes < 100 {
            resumes += 1
            h.session.resumeAfterDrain()
            h.answer { harness, sink in
                _ = harness.session.handleFrames(limit: .max, &harness.dispatcher, topology: &harness.topology, &sink)
            }
            replies += h.replies()
        }
        XCTAssertEqual(h.session.state, .open)
        XCTAssertEqual(replies.map(\.callId), Array(repeating: 3, count: 10) + Array(repeating: 2, count: 21), "every request answered, in order")
        XCTAssertTrue(replies.allSatisfy { $0.status == nil || $0.status?.statusCode == .ok }, "\(replies.compactMap(\.status))")
        XCTAssertEqual(h.session.bufferedByteCount, 0)
    }

    func testALimitTakesAtMostThatManyFrames() {
        var h = ProtocolHarness()
        let id = h.register("svc")
        let bytes = FrameSessionTests.bytes((1...5).map { ProtocolHarness.heartbeat(2, id, sequence: $0) })
        bytes.withUnsafeBytes { h.session.append($0) }
        var taken: [Int] = []
        for _ in 0..<4 {
            h.answer { harness, sink in
                taken.append(harness.session.handleFrames(limit: 2, &harness.dispatcher, topology: &harness.topology, &sink).frames)
            }
        }
        XCTAssertEqual(taken, [2, 2, 1, 0])
        XCTAssertEqual(h.replies().count, 5)
    }

    func testAHeartbeatIsStampedWithTheClockAtItsTurn() {
        var h = ProtocolHarness()
        let id = h.register("svc")
        h.clock.advance(ms: 5_000)
        h.receive(FrameSessionTests.bytes([ProtocolHarness.heartbeat(2, id, sequence: 1)]))
        XCTAssertEqual(h.topology.node(id: id)?.lastHeartbeatMs, h.clock.nowMs())
    }
}
