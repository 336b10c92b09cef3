import TopologyWire
import XCTest
@testable import TopologyServer

/// A loop turn handles ready sockets for `turnInputBudgetMs` at most and leaves the rest to the
/// next turn: a burst larger than that is served over several turns, and nothing is lost.
final class TurnBudgetTests: XCTestCase {
    func testABurstLargerThanOneTurnIsServedOverSeveralTurnsAndEveryRequestIsAnswered() throws {
        let running = try RunningServer {
            $0.topology.heartbeatIntervalMs = 60_000
            $0.turnInputBudgetMs = 0  // 16 sockets a turn
        }
        defer { running.stop() }
        let clients = try (0..<100).map { _ in try running.client() }
        // Every client sends 50 registrations at once before any reads: 100 sockets ready together.
        var sent: [[Frame]] = []
        for client in clients {
            let frames = client.registrations((0..<50).map { "svc-\(client.newCallID())-\($0)" })
            var bytes: [UInt8] = []
            for frame in frames { frame.encodeLengthPrefixed(appendingTo: &bytes) }
            client.sendRaw(bytes)
            sent.append(frames)
        }
        for (client, frames) in zip(clients, sent) {
            var answered: Set<UInt64> = []
            for _ in frames {
                let reply = try XCTUnwrap(try client.readFrame(timeout: 20), "connection closed")
                guard case .registerServiceResponse(let response)? = reply.message, response.handle != nil else {
                    return XCTFail("not registered: \(reply)")
                }
                answered.insert(reply.callId)
            }
            XCTAssertEqual(answered, Set(frames.map(\.callId)))
        }
        // The stats are published at the end of the turn, after its writes: the last replies can be
        // read before that.
        try eventually("the stats of the last turn") { running.server.stats().services == 5_000 }
        XCTAssertGreaterThan(running.server.stats().turnsCutShort, 0, "the burst took several turns")
    }
}
