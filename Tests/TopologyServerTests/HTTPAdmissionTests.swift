import Foundation
@testable import TopologyServer
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Admission at `--max-http-connections` over loopback: slow and idle clients cannot hold every
/// slot against `/healthz` and `/readyz`; busy connections are never closed for a newcomer.
final class HTTPAdmissionTests: XCTestCase {
    private static let slots = 16
    /// What a slowloris sends: a request head begun and never finished.
    private static let partialHead = "GET /api/v1/topology HTTP/1.1\r\nHost: t\r\nX-Slow: "

    /// A request deadline far beyond the test, so that only eviction can free a slot.
    private func crowdedServer(slots: Int = HTTPAdmissionTests.slots) throws -> RunningServer {
        try httpServer {
            $0.maxHTTPConnections = slots
            $0.httpRequestTimeoutMs = 120_000
        }
    }

    private func slowSender(_ running: RunningServer) throws -> HTTPTestClient {
        let client = try running.http()
        client.send(Self.partialHead)
        return client
    }

    /// The status of the response a closed connection got before its close, or nil for an orderly
    /// close with no bytes. Throws unless the server closes it within `timeout`.
    private func lastAnswer(_ client: HTTPTestClient, timeout: Double = 5) throws -> Int? {
        guard try client.fill(timeout: timeout) else {
            XCTAssertFalse(client.resetByPeer, "closed with a reset, not an orderly close")
            return nil
        }
        let response = try client.response(timeout: timeout)
        XCTAssertEqual(response.headers["connection"], "close")
        XCTAssertTrue(response.text.contains("--max-http-connections=\(Self.slots)"), response.text)
        XCTAssertTrue(client.closesWithin(timeout), "not closed after its \(response.status)")
        XCTAssertFalse(client.resetByPeer, "the \(response.status) was followed by a reset")
        return response.status
    }

    private func counter(_ sample: String, in metrics: String) -> Int? {
        metrics.split(separator: "\n").first { $0.hasPrefix(sample + " ") }.flatMap { Int($0.split(separator: " ").last ?? "") }
    }

    /// The issue-14 slowloris at a small size: three slow senders per slot, and every one the server
    /// closes opened again at once, so every probe arrives at a table full of slow senders.
    func testHealthAndReadinessAnswerWhileSlowSendersFillEverySlot() throws {
        let running = try crowdedServer()
        defer { running.stop() }
        let crowd = 3 * Self.slots
        var senders = try (0..<crowd).map { _ in try slowSender(running) }
        // Each newcomer past the limit closed the one that had waited longest: the first
        // `crowd - slots` were evicted in order, each told why with a 408 since it had begun a request.
        for (index, sender) in senders.prefix(crowd - Self.slots).enumerated() {
            // Thrown, not asserted: without eviction each would wait out the timeout.
            let answer = try lastAnswer(sender)
            XCTAssertEqual(answer, 408, "slow sender \(index)")
        }
        senders.removeFirst(crowd - Self.slots)

        let rounds = 20
        for round in 0..<rounds {
            while senders.count < crowd { senders.append(try slowSender(running)) }
            let (path, body) = round.isMultiple(of: 2) ? ("/healthz", "ok\n") : ("/readyz", "ready\n")
            let probe = try running.get(path)
            XCTAssertEqual(probe.status, 200, "round \(round), \(path): \(probe.text)")
            XCTAssertEqual(probe.text, body, "round \(round)")
            // The attacker notices which of its connections were closed, and opens them again.
            senders = try senders.filter { sender in
                var pending = pollfd(fd: sender.fd, events: Int16(POLLIN), revents: 0)
                guard poll(&pending, 1, 0) > 0 else { return true }
                XCTAssertEqual(try lastAnswer(sender), 408, "round \(round)")
                return false
            }
        }

        let metrics = try running.get("/metrics").text
        let evicted = try XCTUnwrap(counter(#"topology_http_evictions_total{request="incomplete"}"#, in: metrics), metrics)
        // The first crowd evicted `crowd - slots`; each probe then found every slot taken and evicted one.
        XCTAssertGreaterThanOrEqual(evicted, crowd - Self.slots + rounds)
        XCTAssertFalse(metrics.contains(#"topology_http_requests_total{code="503"}"#), "a connection was refused: \(metrics)")
        XCTAssertFalse(metrics.contains(#"topology_limit_rejections_total{limit="--max-http-connections"}"#), metrics)
    }

    /// Connections that sent nothing of a request (never, or since their last answer) are closed in
    /// the order they began waiting, without a response and without a reset.
    func testIdleConnectionsAreEvictedOldestFirstWithAnOrderlyClose() throws {
        let running = try crowdedServer(slots: 2)
        defer { running.stop() }
        let silent = try running.http()
        let served = try running.http()
        served.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try served.response().status, 200)

        // Kept open, so the next newcomer too finds every slot taken.
        let first = try running.http()
        first.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try first.response().status, 200)
        XCTAssertNil(try lastAnswer(silent), "the connection that never sent anything goes first")
        XCTAssertThrowsError(try served.fill(timeout: 0), "the kept-alive connection is still open")

        let metrics = try running.get("/metrics")
        XCTAssertEqual(metrics.status, 200)
        XCTAssertNil(try lastAnswer(served), "then the kept-alive one, idle since its answer")
        XCTAssertThrowsError(try first.fill(timeout: 0), "the newer kept-alive connection is still open")
        XCTAssertEqual(counter(#"topology_http_evictions_total{request="none"}"#, in: metrics.text), 2, metrics.text)
        XCTAssertEqual(counter(#"topology_http_evictions_total{request="incomplete"}"#, in: metrics.text), 0, metrics.text)
    }

    /// An event stream is never closed to admit a newcomer, even when it is the oldest connection;
    /// with every slot busy the newcomer gets 503 with a body that names the limit.
    func testBusyConnectionsAreKeptAndTheNewcomerGets503() throws {
        let running = try crowdedServer(slots: 2)
        defer { running.stop() }
        func stream() throws -> HTTPTestClient {
            let client = try running.http()
            client.send("GET /api/v1/watch HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n")
            XCTAssertEqual(try client.eventStreamHead().status, 200)
            XCTAssertTrue(try client.event().data.contains("UPDATE_TYPE_SNAPSHOT"))
            return client
        }
        let oldest = try stream()
        let idle = try running.http()
        XCTAssertEqual(try running.get("/healthz").status, 200, "the idle connection made room, not the stream")
        XCTAssertNil(try lastAnswer(idle))
        let newest = try stream()

        let refused = try running.http()
        let response = try refused.response()
        XCTAssertEqual(response.status, 503)
        XCTAssertTrue(response.text.contains("each busy"), response.text)
        XCTAssertTrue(response.text.contains("--max-http-connections is 2"), response.text)
        XCTAssertTrue(refused.closesWithin(2))

        _ = try running.client().register("after-the-refusal")
        for client in [oldest, newest] {
            XCTAssertTrue(try client.event().data.contains("after-the-refusal"), "the stream is still served")
        }
    }
}
