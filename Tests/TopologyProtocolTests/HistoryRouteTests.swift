import TopologyCore
@testable import TopologyProtocol
import TopologyWire
import XCTest

/// `GET /api/v1/topology?at=` and `GET /api/v1/history` through an `HTTPSession`, with a history
/// the test samples at times it chooses; the bodies read back with the JSON parser.
final class HistoryRouteTests: XCTestCase {
    private func get(_ h: inout HTTPSessionTests.Harness, _ target: String) -> (status: String, body: String) {
        h.receive("GET \(target) HTTP/1.1\r\nHost: t\r\n\r\n")
        let parts = h.response().components(separatedBy: "\r\n\r\n")
        return (parts[0].components(separatedBy: "\r\n")[0], parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    private func json(_ text: String) throws -> JSONValue {
        try JSONParser(maximumSize: 1 << 20).parse(Array(text.utf8))
    }

    private func names(_ value: JSONValue) -> [String] {
        guard case .array(let nodes)? = value["nodes"] else { return [] }
        return nodes.compactMap { if case .string(let s)? = $0["serviceName"] { s } else { nil } }.sorted()
    }

    /// A harness whose history holds two samples: "a" alone at 1000, "a" and "b" from 3000 on; now is 5000.
    private func harnessWithHistory(offLoopReplyEntries: Int = 1_000) -> HTTPSessionTests.Harness {
        var h = HTTPSessionTests.Harness(offLoopReplyEntries: offLoopReplyEntries)
        h.env.history = TopologyHistory(limits: TopologyHistory.Limits(retentionMs: 60_000, intervalMs: 1_000, maxBytes: 1 << 20, maxServices: 100))
        h.register("a")
        h.env.history.advance(to: h.now, topology: h.topology)
        h.now = 3_000
        h.register("b")
        h.env.history.advance(to: h.now, topology: h.topology)
        h.now = 5_000
        return h
    }

    func testTheGraphAtATimeIsTheSampleThenWithItsTimeAndRevision() throws {
        var h = harnessWithHistory()
        let (status, body) = get(&h, "/api/v1/topology?at=2999")
        XCTAssertEqual(status, "HTTP/1.1 200 OK")
        let early = try json(body)
        XCTAssertEqual(names(early), ["a"])
        XCTAssertEqual(early["timestampMs"], .string("1000"))
        XCTAssertEqual(early["revision"], .string("1"))
        let later = try json(get(&h, "/api/v1/topology?at=5000").body)
        XCTAssertEqual(names(later), ["a", "b"])
        XCTAssertEqual(later["timestampMs"], .string("3000"))
        XCTAssertEqual(later["revision"], .string("2"))
        // The live graph is unchanged by the question.
        XCTAssertEqual(names(try json(get(&h, "/api/v1/topology").body)), ["a", "b"])
    }

    func testOutsideTheHistoryIs404WithTheBounds() throws {
        var h = harnessWithHistory()
        for at in ["999", "5001"] {
            let (status, body) = get(&h, "/api/v1/topology?at=\(at)")
            XCTAssertEqual(status, "HTTP/1.1 404 Not Found", at)
            let answer = try json(body)
            XCTAssertEqual(answer["startMs"], .string("1000"))
            XCTAssertEqual(answer["endMs"], .string("5000"))
            XCTAssertEqual(answer["at"], .string(at))
            XCTAssertEqual(answer["error"], .string("no graph at \(at): the history holds 1000 to 5000 (Unix ms)"))
        }
    }

    func testAnEmptyOffOrPausedHistoryIs404AndSaysWhy() throws {
        var h = HTTPSessionTests.Harness()
        let off = try json(get(&h, "/api/v1/topology?at=1000").body)
        XCTAssertEqual(off["error"], .string("the history is off (--history-minutes 0); restart with --history-minutes N to keep N minutes"))

        h.env.history = TopologyHistory(limits: TopologyHistory.Limits(retentionMs: 60_000, intervalMs: 1_000, maxBytes: 1 << 20, maxServices: 1))
        let (status, body) = get(&h, "/api/v1/topology?at=1000")
        XCTAssertEqual(status, "HTTP/1.1 404 Not Found")
        XCTAssertEqual(try json(body)["startMs"], .null)
        h.register("a")
        h.register("b")
        h.env.history.advance(to: h.now, topology: h.topology)
        let paused = try json(get(&h, "/api/v1/topology?at=1000").body)
        guard case .string(let message)? = paused["error"] else { return XCTFail("no error: \(paused)") }
        XCTAssertTrue(message.contains("2 services is more than the 1 it samples"), message)
        let index = try json(get(&h, "/api/v1/history").body)
        XCTAssertEqual(index["paused"], .string(message))
        XCTAssertEqual(index["samples"], .array([]))
    }

    func testBadValuesAre400sThatSayWhatIsAccepted() {
        var h = harnessWithHistory()
        for (target, message) in [
            ("/api/v1/topology?at=yesterday", "at must be a time in Unix milliseconds (a decimal integer, 0 or more), not 'yesterday'"),
            ("/api/v1/topology?at=-5", "at must be a time in Unix milliseconds (a decimal integer, 0 or more), not '-5'"),
            ("/api/v1/topology?at=", "at must be a time in Unix milliseconds (a decimal integer, 0 or more), not ''"),
            ("/api/v1/topology?at=99999999999999999999", "at must be a time in Unix milliseconds (a decimal integer, 0 or more), not '99999999999999999999'"),
            ("/api/v1/topology?at=1&at=2", "at is given twice; give one time"),
            ("/api/v1/topology?at=1000&service=a", "'service' cannot be combined with at: the history keeps whole graphs, so filter the graph it returns"),
            ("/api/v1/history?since=1", "unknown query parameter 'since'; /api/v1/history takes none"),
            ("/api/v1/topology.dot?at=1000", "unknown query parameter 'at'; accepted: service, state, environment, team, region, label"),
        ] {
            let (status, body) = get(&h, target)
            XCTAssertEqual(status, "HTTP/1.1 400 Bad Request", target)
            XCTAssertEqual(body, message + "\n", target)
        }
    }

    func testTheIndexListsTheSamplesAndTheBounds() throws {
        var h = harnessWithHistory()
        let (status, body) = get(&h, "/api/v1/history")
        XCTAssertEqual(status, "HTTP/1.1 200 OK")
        let index = try json(body)
        XCTAssertEqual(index["startMs"], .string("1000"))
        XCTAssertEqual(index["endMs"], .string("5000"))
        XCTAssertEqual(index["retentionMs"], .string("60000"))
        XCTAssertEqual(index["intervalMs"], .string("1000"))
        XCTAssertEqual(index["bytes"], .string(String(h.env.history.bytes)))
        XCTAssertNil(index["paused"])
        guard case .array(let samples)? = index["samples"] else { return XCTFail("no samples: \(index)") }
        XCTAssertEqual(samples.map { $0["timeMs"] }, [.string("1000"), .string("3000")])
        XCTAssertEqual(samples.map { $0["revision"] }, [.string("1"), .string("2")])
        XCTAssertEqual(samples.map { $0["nodes"] }, [.number(JSONNumber("1")!), .number(JSONNumber("2")!)])
    }

    func testALargeSampleIsEncodedOffTheLoop() throws {
        var h = harnessWithHistory(offLoopReplyEntries: 2)
        h.receive("GET /api/v1/topology?at=4000 HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(h.response(), "")
        guard case .encodeOffLoop(let encode) = try XCTUnwrap(h.takeActions().first) else { return XCTFail("not off the loop") }
        let bytes = encode()
        h.run { h, out in h.session.takeEncodedReply(bytes, now: h.now, h.env, topology: &h.topology, rpc: &h.rpc, &out) }
        let body = h.response().components(separatedBy: "\r\n\r\n").dropFirst().joined()
        XCTAssertEqual(names(try json(body)), ["a", "b"])
    }
}
