import TopologyCore
@testable import TopologyProtocol
import TopologyWire
import XCTest

/// One HTTP connection's session with nothing but values around it: bytes and time in, the
/// queued bytes and the actions out. Time is the test's (`now`); nothing sleeps.
final class HTTPSessionTests: XCTestCase {
    struct Harness {
        let clock = ManualClock(startMs: 1_000)
        /// The dispatcher's clock; setting it moves the clock (forward only).
        var now: Int64 {
            get { clock.nowMs() }
            set { clock.advance(ms: newValue - clock.nowMs()) }
        }
        var topology: Topology
        var rpc: RPCDispatcher<ManualClock>
        var metrics: ServerMetrics { rpc.metrics }
        var env: HTTPEnvironment
        var session: HTTPSession
        /// The connection's queue; `read` bytes of it the client has read.
        var queue: [UInt8] = []
        var read = 0
        var actions: [HTTPAction] = []
        /// The buffers the last `run` sealed behind a large encoded reply.
        var lastSealed: [[UInt8]] = []
        let recorder = LogRecorder()

        init(offLoopReplyEntries: Int = 1_000, maxOutboundBytes: Int = 1 << 20, canEncodeOffLoop: Bool = true) {
            topology = Topology(configuration: TopologyConfiguration(), serverEpoch: ProtocolHarness.epoch, now: clock.nowMs())
            rpc = RPCDispatcher(configuration: RPCConfiguration(maxCallsPerConnection: 100, maxOutboundBytes: maxOutboundBytes,
                                                                 offLoopReplyEntries: offLoopReplyEntries, tokenMatches: nil, limitFlag: { _ in nil }),
                                clock: clock, serverEpoch: ProtocolHarness.epoch, log: recorder.log)
            env = HTTPEnvironment(limits: HTTPLimits(), requestTimeoutMs: 10_000, sseCommentIntervalMs: 15_000,
                                  maxOutboundBytes: maxOutboundBytes, closeGraceMs: 1_000, offLoopReplyEntries: offLoopReplyEntries,
                                  canEncodeOffLoop: canEncodeOffLoop, tokenMatches: nil, limitFlag: { _ in nil },
                                  serverEpoch: ProtocolHarness.epoch, shuttingDown: false, dashboardPage: Array("<html>".utf8),
                                  renderMetrics: { _, topology, _ in "topology_services \(topology.serviceCount)\n" }, log: recorder.log)
            session = HTTPSession(peer: "test-peer", limits: env.limits, now: clock.nowMs(), requestTimeoutMs: env.requestTimeoutMs)
        }

        mutating func run(_ body: (inout Harness, inout HTTPOutput) -> Void) {
            var out = HTTPOutput(outbound: queue, written: read)
            body(&self, &out)
            lastSealed = out.sealed
            queue = out.sealed.flatMap { $0 } + out.outbound
            actions += out.actions
        }

        mutating func receive(_ text: String, chunk: Int = .max) {
            receive(Array(text.utf8), chunk: chunk)
        }

        mutating func receive(_ bytes: [UInt8], chunk: Int = .max) {
            var start = 0
            while start < bytes.count {
                let end = start + min(chunk, bytes.count - start)
                run { h, out in
                    bytes[start..<end].withUnsafeBytes {
                        h.session.receive($0, now: h.now, h.env, topology: &h.topology, rpc: &h.rpc, &out)
                    }
                }
                start = end
            }
        }

        /// The bytes queued since the client last read.
        mutating func responseBytes() -> [UInt8] {
            defer { read = queue.count }
            return Array(queue[read...])
        }

        /// What the client reads: the bytes queued since it last read.
        mutating func response() -> String {
            defer { read = queue.count }
            return String(decoding: queue[read...], as: UTF8.self)
        }

        mutating func advance(to time: Int64) {
            now = time
            run { h, out in h.session.runTimers(now: h.now, h.env, topology: &h.topology, rpc: &h.rpc, &out) }
        }

        mutating func deliver() {
            run { h, out in
                var cache = WatchEncodingCache()
                h.session.deliverUpdates(h.env, topology: &h.topology, cache: &cache, &out)
            }
        }

        mutating func takeActions() -> [HTTPAction] {
            defer { actions = [] }
            return actions
        }

        mutating func register(_ name: String) {
            _ = try! topology.register(RegisterServiceRequest(serviceName: name, serviceType: .server, language: .swift), now: now)
        }
    }

    private func describe(_ actions: [HTTPAction]) -> [String] {
        actions.map {
            switch $0 {
            case .closeNow(let reason): "closeNow(\(reason))"
            case .watchOpened: "watchOpened"
            case .watchClosed: "watchClosed"
            case .deliverUpdates: "deliverUpdates"
            case .encodeOffLoop: "encodeOffLoop"
            }
        }
    }

    /// A Frames or gRPC client given the HTTP port (its first bytes are a length prefix, not a
    /// method and a space) gets a 400 naming the frames port, whole or byte by byte; a request
    /// line is served as ever, also after empty lines.
    func testAFramesClientOnTheHTTPPortIsToldWhichPortItWants() {
        let register: [UInt8] = [0x0c, 0x08, 0x01, 0x52, 0x08, 0x0a, 0x06] + Array("python".utf8)
        for (bytes, framesAddress) in [(register, "127.0.0.1:50053" as String?), (Array("HTTP2".utf8) + [0], nil),
                                       ([0x16, 0x03, 0x01], "127.0.0.1:50053")] {
            for chunk in [Int.max, 1] {
                var h = Harness()
                h.env.framesAddress = framesAddress
                h.receive(bytes, chunk: chunk)
                let response = h.response()
                XCTAssertTrue(response.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), response)
                let frames = framesAddress.map { "its frames port, \($0)" } ?? "its frames port (--address)"
                XCTAssertTrue(response.hasSuffix("this is the HTTP port of topology-server (dashboard, JSON, Connect), not the "
                                                 + "frames port: services speaking Frames or gRPC connect to \(frames)\n"), response)
                XCTAssertEqual(h.metrics.httpRequests[400], 1)
                XCTAssertTrue(h.session.isClosing)
            }
        }
        XCTAssertNil(HTTPSession.requestLineStart(Array("DELE".utf8)), "a method so far: wait")
        XCTAssertEqual(HTTPSession.requestLineStart(Array("\r\nGET ".utf8)), true)
        XCTAssertEqual(HTTPSession.requestLineStart(Array(" GET".utf8)), false)
        XCTAssertEqual(HTTPSession.requestLineStart(Array(repeating: 65, count: 20)), false, "no method is that long")
        var h = Harness()
        h.receive("\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n", chunk: 1)
        XCTAssertTrue(h.response().hasPrefix("HTTP/1.1 200 OK\r\n"))
    }

    func testARequestIsAnsweredWholeOrByteByByteAndTheConnectionStays() {
        for chunk in [Int.max, 1, 7] {
            var h = Harness()
            h.receive("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n", chunk: chunk)
            let response = h.response()
            XCTAssertTrue(response.hasPrefix("HTTP/1.1 200 OK\r\n"), response)
            XCTAssertTrue(response.contains("Connection: keep-alive\r\n"))
            XCTAssertTrue(response.hasSuffix("\r\n\r\nok\n"))
            XCTAssertEqual(h.session.phase, .requests)
            XCTAssertEqual(h.metrics.httpRequests[200], 1)
            XCTAssertTrue(h.takeActions().isEmpty)
        }
    }

    func testPipelinedRequestsAreAnsweredInOrderAndConnectionCloseCloses() {
        var h = Harness()
        h.register("checkout")
        h.receive("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nGET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /readyz HTTP/1.1\r\nHost: t\r\n\r\n")
        let response = h.response()
        let ok = try! XCTUnwrap(response.range(of: "ok\n"))
        let metrics = try! XCTUnwrap(response.range(of: "topology_services 1\n"))
        XCTAssertLessThan(ok.lowerBound, metrics.lowerBound)
        XCTAssertFalse(response.contains("ready"), "nothing is answered after Connection: close")
        XCTAssertEqual(h.session.phase, .closing(stream: false))
        XCTAssertFalse(h.session.wantsInput && h.session.phase == .requests)
        // Written and read: the write side is shut, the peer's close is awaited.
        XCTAssertEqual(h.session.wrote(pendingBytes: 0, h.env), .shutDownWriting)
        // The peer does not close: the grace period ends it.
        h.advance(to: h.now + 999)
        XCTAssertTrue(h.takeActions().isEmpty)
        h.advance(to: h.now + 1)
        XCTAssertEqual(describe(h.takeActions()), ["closeNow(close deadline)"])
    }

    func testAnUnfinishedRequestHeadGets408AtItsDeadlineAndAnIdleConnectionIsClosed() {
        var slow = Harness()
        slow.receive("GET /healthz HTTP/1.1\r\nHo")
        XCTAssertEqual(slow.session.nextDeadlineMs, 11_000)
        slow.advance(to: 10_999)
        XCTAssertEqual(slow.response(), "")
        slow.advance(to: 11_000)
        let response = slow.response()
        XCTAssertTrue(response.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), response)
        XCTAssertTrue(response.contains("--http-request-timeout-ms=10000"))
        XCTAssertEqual(slow.metrics.limitRejections["--http-request-timeout-ms"], 1)
        XCTAssertTrue(slow.recorder.contains("http request timed out"))

        var idle = Harness()
        idle.advance(to: 11_000)
        XCTAssertEqual(describe(idle.takeActions()), ["closeNow(idle)"])
    }

    func testMalformedRequestIsAnsweredAndClosedAndLaterBytesAreDropped() {
        var h = Harness()
        h.receive("GET / HTTP/1.1\r\n\r\n")  // no Host
        XCTAssertTrue(h.response().hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        XCTAssertEqual(h.session.phase, .closing(stream: false))
        h.receive("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(h.response(), "", "a closing connection drains its input and answers nothing")
    }

    func testThePeerHalfClosingAfterItsRequestStillGetsTheAnswer() {
        var h = Harness()
        h.receive("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertFalse(h.response().isEmpty)
        // Queued, not yet written (the client "read" it in the harness, but the socket has not taken it).
        h.run { h, out in
            var pending = HTTPOutput(outbound: h.queue, written: 0)
            h.session.peerEnded(now: h.now, h.env, topology: &h.topology, &pending)
            out = HTTPOutput(outbound: pending.outbound, written: out.written)
            XCTAssertTrue(pending.actions.isEmpty)
        }
        XCTAssertTrue(h.session.peerClosed)
        XCTAssertFalse(h.session.wantsInput)
        XCTAssertEqual(h.session.wrote(pendingBytes: 10, h.env), .nothing)
        XCTAssertEqual(h.session.wrote(pendingBytes: 0, h.env), .close)

        var nothingQueued = Harness()
        nothingQueued.run { h, out in h.session.peerEnded(now: h.now, h.env, topology: &h.topology, &out) }
        XCTAssertEqual(describe(nothingQueued.takeActions()), ["closeNow(closed by peer)"])
    }

    func testAnEventStreamSendsItsSnapshotKeepAlivesAndEndsAtShutdown() throws {
        var h = Harness()
        h.register("checkout")
        h.receive("GET /api/v1/watch HTTP/1.1\r\nHost: t\r\n\r\n")
        guard case .streaming(let watcher) = h.session.phase else { return XCTFail("not streaming: \(h.session.phase)") }
        XCTAssertEqual(describe(h.takeActions()), ["watchOpened"])
        let head = h.response()
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"), head)
        XCTAssertTrue(head.hasSuffix("retry: 1000\n: topology watch, server_epoch \(ProtocolHarness.epoch)\n\n"))
        h.deliver()
        let snapshot = h.response()
        XCTAssertTrue(snapshot.hasPrefix("id: \(ProtocolHarness.epoch)."), snapshot)
        XCTAssertTrue(snapshot.contains("\"serviceName\":\"checkout\""), snapshot)
        // Further bytes from the client are not requests any more.
        h.receive("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(h.response(), "")
        // Silence: a comment every --sse-comment-interval-ms.
        h.advance(to: h.now + 15_000)
        XCTAssertEqual(h.response(), ": keep-alive \(h.now)\n\n")
        h.run { h, out in h.session.shutdown(now: h.now, h.env, topology: &h.topology, &out) }
        XCTAssertEqual(h.response(), ": server shutting down\n\n")
        XCTAssertEqual(describe(h.takeActions()), ["watchClosed"])
        XCTAssertEqual(h.session.phase, .closing(stream: true))
        XCTAssertEqual(h.topology.watcherCount, 0, "the core forgot watcher \(watcher)")
    }

    func testTheSeedsEventStreamSpeaksItsFormat() throws {
        var h = Harness()
        h.register("checkout")
        h.receive("GET /events HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n")
        let head = h.response()
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"), head)
        XCTAssertTrue(head.contains("\r\nAccess-Control-Allow-Origin: *\r\n"), head)
        XCTAssertTrue(head.hasSuffix("\r\n\r\nretry: 1000\n\n"), head)
        h.deliver()
        let event = h.response()
        XCTAssertTrue(event.hasPrefix(#"data: {"type":1,"snapshot":{"nodes":[{"serviceId":""#), event)
        XCTAssertTrue(event.hasSuffix("}\n\n"), event)
        XCTAssertFalse(event.contains("id:"), "the seed's events carry no id")
        // A PROGRESS update has no seed event: nothing is written for it.
        h.advance(to: h.now + 60_000)
        h.deliver()
        XCTAssertFalse(h.response().contains("data:"))
    }

    func testAStreamStopsAtTheWatchBoundAndResumesWhenTheQueueDrains() {
        var h = Harness(maxOutboundBytes: 300)
        h.register("a")
        h.receive("GET /api/v1/watch HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertGreaterThan(h.queue.count, 150, "the head alone is over the watch bound, half of 300 bytes")
        _ = h.takeActions()
        let queued = h.queue.count
        h.deliver()
        XCTAssertEqual(h.queue.count, queued, "no update taken while the queue is at its bound")
        XCTAssertTrue(h.session.watcherBlocked)
        guard case .streaming(let watcher) = h.session.phase else { return XCTFail() }
        XCTAssertEqual(h.session.wrote(pendingBytes: 100, h.env), .deliverUpdates(watcher))
        XCTAssertFalse(h.session.watcherBlocked)
    }

    /// A stream takes at most `WatchEncodingCache.updatesPerRound` updates in one delivery and asks
    /// for another round for the rest: all of them arrive, in order, none twice.
    func testAStreamTakesABoundedRoundOfUpdatesAndAsksForTheNext() {
        var h = Harness(maxOutboundBytes: 64 << 20)
        h.receive("GET /api/v1/watch HTTP/1.1\r\nHost: t\r\n\r\n")
        _ = h.takeActions()
        h.deliver()  // the (empty) snapshot
        _ = h.response()
        let count = WatchEncodingCache.updatesPerRound + 100
        for i in 0..<count { h.register("s\(i)") }
        h.deliver()
        let first = h.response()
        XCTAssertEqual(first.components(separatedBy: "\nid: ").count, WatchEncodingCache.updatesPerRound, "one round's worth")
        XCTAssertEqual(describe(h.takeActions()), ["deliverUpdates"], "and a request for the next round")
        h.deliver()
        let second = h.response()
        XCTAssertEqual(second.components(separatedBy: "\nid: ").count, 100)
        XCTAssertEqual(describe(h.takeActions()), [])
        for i in [0, WatchEncodingCache.updatesPerRound - 1] { XCTAssertTrue(first.contains("\"serviceName\":\"s\(i)\""), "s\(i)") }
        for i in [WatchEncodingCache.updatesPerRound, count - 1] { XCTAssertTrue(second.contains("\"serviceName\":\"s\(i)\""), "s\(i)") }
    }

    func testALargeResponseIsEncodedOffTheLoopAndTheNextRequestWaitsForIt() throws {
        var h = Harness(offLoopReplyEntries: 2)
        h.register("a")
        h.register("b")
        h.receive("GET /api/v1/topology HTTP/1.1\r\nHost: t\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(h.response(), "", "neither answered yet: the first is being encoded")
        XCTAssertEqual(h.session.encoding, .response(keepAlive: true))
        XCTAssertFalse(h.session.wantsInput)
        XCTAssertNil(h.session.nextDeadlineMs, "no deadline runs while the reply is encoded")
        guard case .encodeOffLoop(let encode) = try XCTUnwrap(h.takeActions().first) else { return XCTFail() }
        let bytes = encode()
        h.run { h, out in h.session.takeEncodedReply(bytes, now: h.now, h.env, topology: &h.topology, rpc: &h.rpc, &out) }
        let response = h.response()
        let json = try XCTUnwrap(response.range(of: "\"serviceName\":\"b\""))
        let ok = try XCTUnwrap(response.range(of: "\r\n\r\nok\n"))
        XCTAssertLessThan(json.lowerBound, ok.lowerBound, "responses keep the order of the requests")
        XCTAssertEqual(h.session.phase, .requests)
        XCTAssertTrue(h.session.wantsInput)
    }

    /// An event stream's snapshot encoded off the loop comes while the stream's response head is
    /// queued: the head is sealed (to be written first), then the snapshot as it is, and events
    /// after it are queued behind it without copying it.
    func testALargeEncodedSnapshotBehindQueuedBytesIsQueuedWithoutACopy() throws {
        var h = Harness(offLoopReplyEntries: 2)
        for i in 0..<300 { h.register("service-\(i)-\(String(repeating: "x", count: 200))") }
        h.receive("GET /api/v1/watch HTTP/1.1\r\nHost: t\r\n\r\n")
        h.deliver()
        guard case .encodeOffLoop(let encode)? = h.takeActions().first(where: { if case .encodeOffLoop = $0 { true } else { false } })
        else { return XCTFail("no off-loop snapshot") }
        let head = h.queue
        XCTAssertTrue(String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.1 200"), "the head is queued, unread")
        let bytes = encode()
        XCTAssertGreaterThanOrEqual(bytes.count, 64 * 1024)
        var queuedStorage: UnsafeRawPointer?
        h.run { h, out in
            h.session.takeEncodedReply(bytes, now: h.now, h.env, topology: &h.topology, rpc: &h.rpc, &out)
            queuedStorage = out.sealed.last?.withUnsafeBytes { $0.baseAddress }
            XCTAssertEqual(out.pendingBytes, head.count + bytes.count)
            XCTAssertTrue(out.outbound.isEmpty, "what comes next is queued apart from it")
        }
        XCTAssertEqual(h.lastSealed, [head, bytes])
        XCTAssertEqual(queuedStorage, bytes.withUnsafeBytes { $0.baseAddress }, "queued as it is")
        XCTAssertEqual(h.queue, head + bytes, "the client reads the head, then the snapshot")
    }

    func testWithoutTheEncoderALargeResponseIsMadeInline() {
        var h = Harness(offLoopReplyEntries: 1, canEncodeOffLoop: false)
        h.register("a")
        h.receive("GET /api/v1/topology HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertTrue(h.response().contains("\"serviceName\":\"a\""))
        XCTAssertTrue(h.takeActions().isEmpty)
    }

    func testAClientThatDoesNotReadItsResponsesIsClosed() {
        var h = Harness(maxOutboundBytes: 100)
        // Nothing is "written": every response stays pending.
        h.receive(String(repeating: "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n", count: 5))
        XCTAssertEqual(describe(h.takeActions()), ["closeNow(not reading its responses)"])
        XCTAssertEqual(h.metrics.limitRejections["--max-outbound-bytes"], 1)
        XCTAssertEqual(h.session.phase, .closed)
    }

    func testAStreamWhoseClientLeavesEndsItsWatch() {
        var h = Harness()
        h.receive("GET /api/v1/watch HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(h.topology.watcherCount, 1)
        h.run { h, out in h.session.peerEnded(now: h.now, h.env, topology: &h.topology, &out) }
        XCTAssertEqual(describe(h.takeActions()), ["watchOpened", "watchClosed", "closeNow(closed by peer)"])
        XCTAssertEqual(h.topology.watcherCount, 0)
        XCTAssertEqual(h.session.phase, .closed)
    }

    func testDuringTheShutdownDrainRequestsAreAnsweredWithConnectionClose() {
        var h = Harness()
        h.env.shuttingDown = true
        h.receive("GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n")
        let response = h.response()
        XCTAssertTrue(response.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"), response)
        XCTAssertTrue(response.contains("Connection: close\r\n"))
        XCTAssertEqual(h.session.phase, .closing(stream: false))
    }
}
