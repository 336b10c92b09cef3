import Foundation
import TopologyCore
import TopologyServer
import TopologyWire
import XCTest
#if canImport(Glibc)
import Glibc
#endif

func hex(_ text: String) -> [UInt8] {
    let digits = text.filter { !$0.isWhitespace }
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        bytes.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

final class RobustnessTests: XCTestCase {
    func testMalformedInputClosesOnlyTheBadConnection() throws {
        let server = try RunningServer { $0.topology.heartbeatIntervalMs = 2_000 }
        defer { server.stop() }
        let witness = try Witness(server)
        // (name, bytes, the Status code on call 0 (nil: closed without one), a part of its message)
        let cases: [(String, [UInt8], StatusCode?, String)] = [
            ("length prefix over 5 bytes", hex("80 80 80 80 80 00"), .invalidArgument, "malformed length prefix"),
            ("length over the frame limit", hex("ff ff ff ff 0f"), .resourceExhausted, "--max-frame-bytes="),
            ("invalid wire type", hex("02 0f 00"), .invalidArgument, "invalid wire type 7"),
            ("invalid UTF-8 in a string", hex("05 52 03 0a 01 ff"), .invalidArgument, "invalid UTF-8"),
            ("nested length past the end", hex("04 52 05 0a 01"), .invalidArgument, "truncated"),
            ("nested huge length", hex("06 52 ff ff ff ff 0f"), .invalidArgument, "truncated"),
            ("group wire type", hex("02 0b 0c"), .invalidArgument, "groups are not supported"),
            ("field number 0", hex("02 00 00"), .invalidArgument, "invalid field number 0"),
            // call_id as an 11-byte varint: no 64-bit value needs more than 10.
            ("value varint over 10 bytes", hex("0c 08 80 80 80 80 80 80 80 80 80 80 00"), .invalidArgument,
             "malformed varint at offset 1: longer than 10 bytes"),
            // Tag 80 80 80 80 10 = field 2^29 (wire type 0), one past the largest field number.
            ("field number over 2^29 - 1", hex("06 80 80 80 80 10 00"), .invalidArgument,
             "invalid field number 536870912 at offset 0: must be 1 to 536870911"),
            ("call id 0", hex("02 08 00"), .invalidArgument, "call_id 0 is reserved"),
            // An empty Frame decodes as call 0 with no message: the same answer.
            ("zero-length frame", hex("00"), .invalidArgument, "call_id 0 is reserved"),
            ("TLS client hello", hex("16 03 01 00 a5 01 00 00 a1 03 03") + [UInt8](repeating: 0x41, count: 160), nil, ""),
            ("frame cut off, then close", hex("10 52 0e 0a"), nil, ""),
        ]
        for (name, bytes, expected, fragment) in cases {
            let bad = try server.client()
            bad.sendRaw(bytes)
            if expected == nil { shutdown(bad.fd, Int32(SHUT_WR)) }
            let frames: [Frame]
            do { frames = try bad.readUntilClosed(timeout: 5) } catch { XCTFail("\(name): \(error)"); continue }
            if let expected {
                let last = try XCTUnwrap(frames.last, "\(name): no Status frame")
                XCTAssertEqual(last.callId, 0, name)
                XCTAssertTrue(last.endOfStream, name)
                XCTAssertEqual(last.status?.statusCode, expected, "\(name): \(last.status?.message ?? "")")
                XCTAssertTrue(last.status?.message.contains(fragment) ?? false, "\(name): \(last.status?.message ?? "")")
            }
            try witness.beat()
        }
        // An HTTP request is answered in HTTP, naming the HTTP port.
        let http = try server.client()
        http.sendRaw(Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
        let answer = String(decoding: try http.readBytesUntilClosed(timeout: 5), as: UTF8.self)
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), answer)
        XCTAssertTrue(answer.contains("not HTTP/1.1; the dashboard and the HTTP API are"), answer)
        try witness.beat()
        XCTAssertLessThan(witness.worstAckMs, 250, "a bad connection delayed the witness")
        XCTAssertEqual(server.server.stats().connections, 1)
        XCTAssertTrue(server.logLines.contains("not HTTP"))
    }

    func testSlowWatcherIsAbsorbedByTheCoreAndResyncedWhenItReads() throws {
        let server = try RunningServer {
            $0.topology.heartbeatIntervalMs = 5_000
            $0.topology.watchBufferLimit = 16
            $0.topology.resyncIntervalMs = 0  // resync on the first overflow, however soon after the snapshot
            $0.maxOutboundBytes = 64 * 1024
        }
        defer { server.stop() }
        let producer = try server.client()
        let filler = String(repeating: "x", count: 1_000)
        let metadata = ServiceMetadata(region: filler, environment: filler, team: filler, versionHash: filler,
                                       serviceInterface: filler, serviceRole: filler, programName: filler)
        for i in 0..<60 { _ = try producer.register("big-\(i)", metadata: metadata) }
        let witness = try Witness(server)

        let slow = try TestClient(port: server.port, receiveBuffer: 4096)
        let watch = slow.startWatch()
        usleep(100_000)
        // Lots of changes while the watcher does not read.
        for round in 0..<5 {
            var ids: [String] = []
            for i in 0..<40 { ids.append(try producer.register("churn-\(round)-\(i)", metadata: metadata).serviceId) }
            for id in ids { _ = try producer.unary(.unregisterServiceRequest(UnregisterServiceRequest(serviceId: id))) }
            try witness.beat()
        }
        XCTAssertLessThan(witness.worstAckMs, 250, "the slow watcher delayed another client")
        let stats = server.server.stats()
        // Bounded: the watch bound (32 KiB) plus one batch of updates (the first one holds the
        // ~430 KB snapshot); without the bound all 400 updates of ~7 KB would be queued (~3 MB).
        XCTAssertLessThan(stats.outboundBytes, 1_000_000, "server-side queue: \(stats.outboundBytes) bytes")
        // The kernel buffers did fill (so the bound, not the kernel, held the backlog back).
        XCTAssertGreaterThan(stats.maxConnectionOutboundBytes, 32 * 1024)
        XCTAssertLessThan(stats.maxConnectionOutboundBytes, 1_000_000)

        // Now it reads: first the original snapshot, and then a resync snapshot.
        var sawResync = false
        let deadline = Date().addingTimeInterval(10)
        var count = 0
        while !sawResync, Date() < deadline {
            let update = try slow.update(on: watch, timeout: 5)
            count += 1
            if update.type == .snapshot && update.resync { sawResync = true }
        }
        XCTAssertTrue(sawResync, "no resync snapshot after \(count) updates")
        XCTAssertTrue(server.logLines.contains("msg=\"watcher resynced\""))
    }

    /// `outboundBytes` is kept as connections flush and close (not summed over all of them): it
    /// shows a reader's backlog, and goes back to 0 when the backlog is read or its connection closes.
    func testQueuedBytesAreCountedAndUncounted() throws {
        let server = try RunningServer { $0.topology.heartbeatIntervalMs = 60_000 }
        defer { server.stop() }
        let setup = try server.client()
        let metadata = bulkyMetadata()
        for i in 0..<900 { _ = try setup.register("big-\(i)", metadata: metadata) }
        // Two watchers that do not read: of their ~6.3 MB snapshots, what the kernel does not take
        // waits in the server.
        var readers = [try TestClient(port: server.port, receiveBuffer: 4096), try TestClient(port: server.port, receiveBuffer: 4096)]
        let watches = readers.map { $0.startWatch() }
        try eventually(timeout: 20, "the backlogs counted") { server.server.stats().outboundBytes > 4_000_000 }
        let both = server.server.stats().outboundBytes
        XCTAssertLessThanOrEqual(both, 2 * 6_400_000)
        // One reads its snapshot: its share goes; the other closes: so does the rest.
        XCTAssertEqual(try readers[0].update(on: watches[0], timeout: 20).type, .snapshot)
        try eventually(timeout: 20, "the read backlog uncounted") { server.server.stats().outboundBytes < both - 1_000_000 }
        readers.removeLast()
        try eventually("the closed connection uncounted") { server.server.stats().outboundBytes == 0 }
    }

    func testLargeSnapshotDoesNotCountAgainstTheHeartbeatsOnTheSameConnection() throws {
        let server = try RunningServer { $0.maxOutboundBytes = 16 * 1024; $0.topology.heartbeatIntervalMs = 5_000 }
        defer { server.stop() }
        let setup = try server.client()
        let filler = String(repeating: "z", count: 1_000)
        let metadata = ServiceMetadata(region: filler, environment: filler, team: filler, versionHash: filler,
                                       serviceInterface: filler, serviceRole: filler, programName: filler)
        var id = ""
        for i in 0..<900 { id = try setup.register("big-\(i)", metadata: metadata).serviceId }
        let client = try TestClient(port: server.port, receiveBuffer: 4096)
        let watch = client.startWatch()
        usleep(100_000)  // the ~6.3 MB snapshot (more than the kernel buffers hold) is queued; the client reads nothing yet
        let beat = client.newCallID()
        for sequence in 1...5 {
            client.send(Frame(callId: beat, message: .heartbeatRequest(HeartbeatRequest(serviceId: id, sequence: Int64(sequence)))))
        }
        usleep(100_000)
        XCTAssertEqual(try client.update(on: watch, timeout: 5).type, .snapshot)
        for sequence in 1...5 {
            guard case .heartbeatResponse(let r)? = try client.readFrame(call: beat).message else { return XCTFail() }
            XCTAssertEqual(r.sequence, Int64(sequence))
        }
        // The case this test is about did happen: more than the limit was queued at the time.
        XCTAssertGreaterThan(server.server.stats().maxConnectionOutboundBytes, 16 * 1024)
    }

    func testEachLimitIsReportedWithItsStatus() throws {
        let server = try RunningServer {
            $0.maxFrameBytes = 1024
            $0.maxConnections = 4
            $0.maxCallsPerConnection = 2
            $0.topology.maxWatchers = 1
            $0.topology.maxServices = 2
            $0.topology.maxServiceNameBytes = 16
            $0.firstFrameTimeoutMs = 150
            $0.frameTimeoutMs = 300
            $0.topology.heartbeatIntervalMs = 5_000
        }
        defer { server.stop() }
        let a = try server.client()

        // Max frame bytes.
        do {
            let c = try server.client()
            var request = RegisterServiceRequest()
            request.serviceName = String(repeating: "n", count: 2_000)
            c.send(Frame(callId: 1, message: .registerServiceRequest(request)))
            let last = try XCTUnwrap(try c.readUntilClosed().last)
            XCTAssertEqual(last.status?.statusCode, .resourceExhausted)
            XCTAssertTrue(last.status!.message.contains("--max-frame-bytes=1024"), last.status!.message)
        }
        // Max string length (service name).
        do {
            let reply = try a.unary(.registerServiceRequest(RegisterServiceRequest(serviceName: String(repeating: "n", count: 40))))
            XCTAssertEqual(reply.status?.statusCode, .invalidArgument)
            XCTAssertTrue(reply.endOfStream)
        }
        // Max services.
        let s1 = try a.register("one")
        _ = try a.register("two")
        do {
            let reply = try a.unary(.registerServiceRequest(RegisterServiceRequest(serviceName: "three")))
            XCTAssertEqual(reply.status?.statusCode, .resourceExhausted)
            XCTAssertTrue(reply.status!.message.contains("--max-services is 2"), reply.status!.message)
            XCTAssertTrue(reply.status!.message.contains("2"), reply.status!.message)
        }
        // Max calls per connection: two open streams, a third is refused on its call id.
        do {
            let c1 = a.newCallID(), c2 = a.newCallID(), c3 = a.newCallID()
            _ = try a.heartbeat(call: c1, serviceID: s1.serviceId, sequence: 1)
            _ = try a.heartbeat(call: c2, serviceID: s1.serviceId, sequence: 1)
            let reply = try a.heartbeat(call: c3, serviceID: s1.serviceId, sequence: 1)
            XCTAssertEqual(reply.status?.statusCode, .resourceExhausted)
            XCTAssertTrue(reply.status!.message.contains("--max-calls-per-connection is 2"), reply.status!.message)
            XCTAssertTrue(reply.endOfStream)
        }
        // Max watchers.
        let w = try server.client()
        do {
            let first = w.startWatch()
            XCTAssertEqual(try w.update(on: first).type, .snapshot)
            let second = w.startWatch()
            let reply = try w.readFrame(call: second)
            XCTAssertEqual(reply.status?.statusCode, .resourceExhausted)
            XCTAssertTrue(reply.status!.message.contains("--max-watchers is 1"), reply.status!.message)
        }
        // First-frame deadline.
        do {
            let silent = try server.client()
            let start = Date()
            let last = try XCTUnwrap(try silent.readUntilClosed().last)
            XCTAssertEqual(last.status?.statusCode, .deadlineExceeded)
            XCTAssertTrue(last.status!.message.contains("--first-frame-timeout-ms=150"))
            XCTAssertLessThan(Date().timeIntervalSince(start), 2)
        }
        // Frame deadline: a frame begun after a good one, never finished.
        do {
            let stalled = try server.client()
            _ = try stalled.topology()
            var bytes: [UInt8] = []
            Frame(callId: 9, message: .getTopologyRequest(GetTopologyRequest())).encodeLengthPrefixed(appendingTo: &bytes)
            stalled.sendRaw(Array(bytes.prefix(bytes.count - 1)))
            let start = Date()
            let last = try XCTUnwrap(try stalled.readUntilClosed().last)
            let waited = Date().timeIntervalSince(start)
            XCTAssertEqual(last.status?.statusCode, .deadlineExceeded)
            XCTAssertTrue(last.status!.message.contains("--frame-timeout-ms=300"), last.status!.message)
            XCTAssertTrue(last.status!.message.contains("(\(bytes.count - 1) bytes of it received)"), last.status!.message)
            XCTAssertGreaterThan(waited, 0.25)
            XCTAssertLessThan(waited, 2)
        }
        // Max connections: a, the watcher's and two more; the fifth is refused.
        do {
            let c3 = try server.client()
            _ = try c3.topology()
            let c4 = try server.client()
            _ = try c4.topology()
            let refused = try server.client()
            let last = try XCTUnwrap(try refused.readUntilClosed().last)
            XCTAssertEqual(last.status?.statusCode, .resourceExhausted)
            XCTAssertTrue(last.status!.message.contains("--max-connections is 4"), last.status!.message)
        }
        try eventually("the refusal log line") { server.logLines.contains("limit=max-connections") }
        XCTAssertTrue(server.logLines.contains("limit=max-calls-per-connection"))
    }

    /// A client that pipelines many requests and reads the replies at its own pace is served in
    /// full: with more than `--max-outbound-bytes` queued for it, the server reads no more of its
    /// requests until it has read some (TCP holds it back meanwhile), rather than closing it.
    func testClientThatPipelinesFasterThanItReadsIsSlowedDownNotClosed() throws {
        let server = try RunningServer {
            $0.maxOutboundBytes = 16 * 1024
            $0.topology.heartbeatIntervalMs = 60_000
        }
        defer { server.stop() }
        let setup = try server.client()
        let filler = String(repeating: "y", count: 1_000)
        for i in 0..<20 { _ = try setup.register("s\(i)", metadata: ServiceMetadata(region: filler, environment: filler)) }
        let client = try TestClient(port: server.port, receiveBuffer: 4096)
        // ~40 KB per reply: 300 of them are 12 MB, 750 times the limit.
        let requests = (0..<300).map { _ in Frame(callId: client.newCallID(), message: .getTopologyRequest(GetTopologyRequest())) }
        let replies = try client.pipelined(requests)
        XCTAssertEqual(replies.map(\.callId), requests.map(\.callId), "every request answered, in order")
        for reply in replies {
            guard case .getTopologyResponse(let response)? = reply.message else { return XCTFail("not a topology: \(reply.jsonString())") }
            XCTAssertEqual(response.snapshot?.nodes.count, 20)
        }
        let stats = server.server.stats()
        XCTAssertEqual(stats.connections, 2, "a connection was closed")
        XCTAssertLessThan(stats.maxConnectionOutboundBytes, 16 * 1024 + 2 * 45_000, "the queue went on past the limit")
        XCTAssertFalse(server.logLines.contains("not reading its replies"))
    }

    func testClientThatDoesNotReadRepliesIsClosedAtTheOutboundLimit() throws {
        let server = try RunningServer {
            $0.maxOutboundBytes = 16 * 1024
            $0.topology.heartbeatIntervalMs = 60_000  // the setup client's services outlive the wait for the close
        }
        defer { server.stop() }
        let setup = try server.client()
        let filler = String(repeating: "y", count: 1_000)
        for i in 0..<20 { _ = try setup.register("s\(i)", metadata: ServiceMetadata(region: filler, environment: filler)) }
        let greedy = try TestClient(port: server.port, receiveBuffer: 4096)
        // ~40 KB per reply, never read.
        var bytes: [UInt8] = []
        for call in 1...300 { Frame(callId: UInt64(call), message: .getTopologyRequest(GetTopologyRequest())).encodeLengthPrefixed(appendingTo: &bytes) }
        greedy.sendRaw(bytes)
        try eventually("the server to close the greedy connection") { server.logLines.contains("--max-outbound-bytes=16384") }
        XCTAssertLessThan(server.server.stats().outboundBytes, 2_000_000)
        _ = try greedy.readUntilClosed(timeout: 5)
        XCTAssertTrue(greedy.closedByPeer)
        XCTAssertEqual(try setup.topology().nodes.count, 20)
    }

    /// A service named with terminal escape sequences, and an id that is one: every log line the
    /// server writes about them holds the escapes, never the control characters.
    func testControlCharactersFromClientsReachTheLogEscaped() throws {
        let server = try RunningServer()
        defer { server.stop() }
        let client = try server.client()
        let name = "\u{1B}[31mred\u{1B}[0m\u{0}\u{0E}\u{7F}"
        let id = try client.register(name).serviceId
        var bad = RegisterServiceRequest(serviceName: "x")
        bad.serviceId = "\u{1B}]0;owned\u{7}"
        XCTAssertEqual(try client.unary(.registerServiceRequest(bad)).status?.statusCode, .invalidArgument)
        try eventually("both logged") { server.logLines.contains("request refused") && server.logLines.contains(id) }
        let lines = server.logLines.all
        for line in lines {
            let raw = line.unicodeScalars.filter { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
            XCTAssertEqual(raw.map(\.value), [0x0A], "a raw control character in \(line.debugDescription)")
        }
        let registered = try XCTUnwrap(lines.first { $0.contains("service registered") && $0.contains(id) })
        XCTAssertTrue(registered.contains(#" name="\x1b[31mred\x1b[0m\x00\x0e\x7f""#), registered)
        let refused = try XCTUnwrap(lines.first { $0.contains("request refused") })
        XCTAssertTrue(refused.contains(#"\x1b]0;owned\x07"#), refused)
    }

    /// end_of_stream on a call that is not open, never opened or already ended by the server, is
    /// answered on that call: FAILED_PRECONDITION, saying so. The connection and its calls go on.
    func testEndOfStreamOnACallThatIsNotOpenIsAnswered() throws {
        let server = try RunningServer { $0.topology.heartbeatIntervalMs = 60_000 }
        defer { server.stop() }
        let client = try server.client()
        client.send(Frame(callId: 77, endOfStream: true))
        let never = try client.readFrame(call: 77)
        XCTAssertEqual(never.status?.statusCode, .failedPrecondition)
        XCTAssertTrue(never.endOfStream)
        XCTAssertNil(never.message)
        XCTAssertTrue(never.status?.message.contains("call 77 is not open") ?? false, "\(String(describing: never.status))")

        // Ended by the server first: a heartbeat for an unknown service ends its call (NOT_FOUND);
        // the client's end_of_stream, crossing it, gets its own answer after it.
        let ended = client.newCallID()
        let refused = try client.heartbeat(call: ended, serviceID: "00000000-0000-4000-8000-000000000001", sequence: 1)
        XCTAssertEqual(refused.status?.statusCode, .notFound)
        client.send(Frame(callId: ended, endOfStream: true))
        XCTAssertEqual(try client.readFrame(call: ended).status?.statusCode, .failedPrecondition)

        // An open call is ended as before: OK.
        let id = try client.register("svc").serviceId
        let beat = client.newCallID()
        guard case .heartbeatResponse(let ack)? = try client.heartbeat(call: beat, serviceID: id, sequence: 1).message else {
            return XCTFail("no heartbeat answer")
        }
        XCTAssertTrue(ack.acknowledged)
        client.send(Frame(callId: beat, endOfStream: true))
        let end = try client.readFrame(call: beat)
        XCTAssertEqual(end.status?.statusCode, .ok)
        XCTAssertTrue(end.endOfStream)
        XCTAssertEqual(try client.topology().nodes.map(\.serviceId), [id])
    }
}
