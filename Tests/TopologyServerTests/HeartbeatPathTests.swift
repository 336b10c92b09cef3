import Foundation
import TopologyServer
import TopologyWire
import XCTest

/// Heartbeats take one of two paths into the server: the fast path (`HeartbeatFrame`, no `Frame`)
/// for the layout clients write, the general decoder for anything else. Whatever the path, the
/// replies must be the same.
final class HeartbeatPathTests: XCTestCase {
    func testFastPathAndGeneralDecoderGiveTheSameReplies() throws {
        let server = try RunningServer { $0.topology.maxStringBytes = 16 }
        defer { server.stop() }
        let fast = try server.client()
        let general = try server.client()
        // Each connection's first frame takes the general path anyway.
        let id = try fast.register("svc").serviceId
        _ = try general.register("other")

        /// The same calls on `client`, each frame followed by `extra` bytes (an unknown field sends
        /// a frame to the general decoder, which skips it); returns the replies in order.
        func script(_ client: TestClient, extra: [UInt8]) throws -> [Frame] {
            func send(_ frame: Frame) {
                let body = frame.serializedBytes() + extra
                var length = UInt64(body.count)
                var bytes: [UInt8] = []
                while length >= 0x80 { bytes.append(UInt8(truncatingIfNeeded: length) | 0x80); length >>= 7 }
                client.sendRaw(bytes + [UInt8(length)] + body)
            }
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
}
