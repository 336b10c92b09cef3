import Foundation
import TopologyServer
import TopologyWire
import XCTest

/// Heartbeats take one of two paths into the server: the fast path (`HeartbeatFrame`, no `Frame`)
/// for the layout clients write, the general decoder for anything else. Whatever the path, the
/// replies must be the same.
final class HeartbeatPathTests: XCTestCase {
    /// Sends `frame` on `client` followed by `extra` bytes (an unknown field sends a frame to the
    /// general decoder, which skips it).
    private func send(_ frame: Frame, extra: [UInt8], on client: TestClient) {
        let body = frame.serializedBytes() + extra
        var length = UInt64(body.count)
        var bytes: [UInt8] = []
        while length >= 0x80 { bytes.append(UInt8(truncatingIfNeeded: length) | 0x80); length >>= 7 }
        client.sendRaw(bytes + [UInt8(length)] + body)
    }

    func testFastPathAndGeneralDecoderGiveTheSameReplies() throws {
        let server = try RunningServer { $0.topology.maxStringBytes = 16 }
        defer { server.stop() }
        let fast = try server.client()
        let general = try server.client()
        // Each connection's first frame takes the general path anyway.
        let id = try fast.register("svc").serviceId
        _ = try general.register("other")

        /// The same calls on `client`, each frame followed by `extra` bytes; returns the replies in order.
        func script(_ client: TestClient, extra: [UInt8]) throws -> [Frame] {
            func send(_ frame: Frame) { self.send(frame, extra: extra, on: client) }
            func heartbeat(_ call: UInt64, id: String, sequence: Int64, endOfStream: Bool = false, health: ApplicationHealth? = nil) {
                send(Frame(callId: call, endOfStream: endOfStream, message: .heartbeatRequest(HeartbeatRequest(
                    serviceId: id, sequence: sequence, metrics: ServiceMetrics(cpuPercent: 2.5, memoryBytes: 1 << 20), health: health))))
            }
            var replies: [Frame] = []
            heartbeat(10, id: id, sequence: 1, health: ApplicationHealth(state: .healthy))
            heartbeat(10, id: id, sequence: -5)
            heartbeat(10, id: id, sequence: .max, health: ApplicationHealth(state: .degraded, message: "slow", errorCount: 2))
            replies += try (0..<3).map { _ in try client.readFrame(call: 10) }
            // Unknown service: NOT_FOUND, the call ends.
            heartbeat(11, id: "00000000-0000-4000-8000-000000000001", sequence: 7)
            replies.append(try client.readFrame(call: 11))
            // A health message over --max-string-bytes: INVALID_ARGUMENT.
            heartbeat(12, id: id, sequence: 8, health: ApplicationHealth(state: .healthy, message: String(repeating: "m", count: 17)))
            replies.append(try client.readFrame(call: 12))
            // A heartbeat on a call that is an open ReportActivity call.
            send(Frame(callId: 13, message: .reportActivityRequest(ReportActivityRequest(serviceId: id, targetService: "db"))))
            heartbeat(13, id: id, sequence: 9)
            replies.append(try client.readFrame(call: 13))
            // The last heartbeat of a call: its acknowledgement, then the end of the call.
            heartbeat(14, id: id, sequence: 10, endOfStream: true)
            replies += [try client.readFrame(call: 14), try client.readFrame(call: 14)]
            return replies
        }

        let before = server.server.stats().fastPathHeartbeats
        let viaFastPath = try script(fast, extra: [])
        try eventually("stats published") { server.server.stats().fastPathHeartbeats - before == 7 }
        let viaGeneralDecoder = try script(general, extra: [0xA8, 0x1F, 0x01])  // field 500, varint 1
        XCTAssertEqual(viaFastPath, viaGeneralDecoder)
        XCTAssertEqual(server.server.stats().fastPathHeartbeats - before, 7, "the general script took the fast path")
        XCTAssertEqual(viaFastPath.map { $0.status?.statusCode }, [nil, nil, nil, .notFound, .invalidArgument, .invalidArgument, nil, .ok])
        guard case .heartbeatResponse(let response)? = viaFastPath[2].message else { return XCTFail("not a heartbeat reply") }
        XCTAssertEqual(response, HeartbeatResponse(sequence: .max, acknowledged: true, serverEpoch: server.server.serverEpoch))
    }

    /// An id in upper case names the service whose id is its lower case (docs/protocol.md): it
    /// registers under the lowercase id, and its heartbeats get the same answers on the fast path
    /// and through the general decoder as the lowercase id's: acknowledged while it lives, then
    /// NOT_FOUND naming the lowercase id.
    func testAnIDInUpperCaseIsTheSameServiceOnBothPaths() throws {
        let server = try RunningServer { $0.topology.heartbeatIntervalMs = 60_000 }
        defer { server.stop() }
        let client = try server.client()
        let upper = "6F1C0A52-3E5B-4D7C-9A8E-0B1C2D3E4F50"
        let lower = upper.lowercased()
        XCTAssertEqual(try client.register("svc", id: upper).serviceId, lower)

        let unknownField: [UInt8] = [0xA8, 0x1F, 0x01]  // field 500, varint 1: the general decoder
        // Each id on each path: no extra bytes take the fast path.
        let variants = [(upper, [UInt8]()), (upper, unknownField), (lower, []), (lower, unknownField)]
        let before = server.server.stats().fastPathHeartbeats
        let call = client.newCallID()
        var live: [Frame] = []
        for (id, extra) in variants {
            send(Frame(callId: call, message: .heartbeatRequest(HeartbeatRequest(serviceId: id, sequence: 3))), extra: extra, on: client)
            live.append(try client.readFrame(call: call))
        }
        try eventually("stats published") { server.server.stats().fastPathHeartbeats - before == 2 }
        XCTAssertEqual(Set(live.map { $0.serializedBytes() }).count, 1, "different answers: \(live)")
        guard case .heartbeatResponse(let ack)? = live[0].message else { return XCTFail("not a heartbeat reply") }
        XCTAssertTrue(ack.acknowledged)

        guard case .unregisterServiceResponse(let gone)? = try client.unary(.unregisterServiceRequest(UnregisterServiceRequest(serviceId: upper))).message
        else { return XCTFail("no unregister answer") }
        XCTAssertTrue(gone.removed)
        // NOT_FOUND ends each call: one call per beat.
        var refused: [Frame] = []
        for (id, extra) in variants {
            let call = client.newCallID()
            send(Frame(callId: call, message: .heartbeatRequest(HeartbeatRequest(serviceId: id, sequence: 4))), extra: extra, on: client)
            var reply = try client.readFrame(call: call)
            reply.callId = 0
            refused.append(reply)
        }
        XCTAssertEqual(Set(refused.map { $0.serializedBytes() }).count, 1, "different answers: \(refused)")
        XCTAssertEqual(refused[0].status?.statusCode, .notFound)
        XCTAssertTrue(refused[0].status?.message.contains("'\(lower)'") ?? false, "\(String(describing: refused[0].status))")
        try eventually("stats published") { server.server.stats().fastPathHeartbeats - before == 4 }
    }
}
