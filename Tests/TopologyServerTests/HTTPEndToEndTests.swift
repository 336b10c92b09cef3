import Foundation
import TopologyProtocol
@testable import TopologyServer
import TopologyWire
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The HTTP listener of a real server on loopback: JSON, SSE with resume, limits, deadlines, metrics.
final class HTTPEndToEndTests: XCTestCase {
    func testTopologyJSONUsesTheProtoJSONMappingAndFilters() throws {
        let running = try httpServer()
        defer { running.stop() }
        let client = try running.client()
        var prod = ServiceMetadata()
        prod.environment = "prod"
        var dev = ServiceMetadata()
        dev.environment = "dev"
        let a = try client.register("alpha", metadata: prod)
        _ = try client.register("beta", metadata: dev)

        let all = try running.get("/api/v1/topology")
        XCTAssertEqual(all.status, 200)
        XCTAssertEqual(all.headers["content-type"], "application/json")
        XCTAssertEqual(all.headers["content-length"], String(all.body.count))
        let json = try all.json()
        let nodes = try XCTUnwrap(json["nodes"] as? [[String: Any]])
        XCTAssertEqual(Set(nodes.compactMap { $0["serviceName"] as? String }), ["alpha", "beta"])
        let alpha = try XCTUnwrap(nodes.first { $0["serviceName"] as? String == "alpha" })
        XCTAssertEqual(alpha["serviceId"] as? String, a.serviceId)
        XCTAssertEqual(alpha["state"] as? String, "SERVICE_STATE_REGISTERED")
        XCTAssertEqual(alpha["language"] as? String, "SERVICE_LANGUAGE_SWIFT")
        XCTAssertEqual((alpha["metadata"] as? [String: Any])?["environment"] as? String, "prod")
        XCTAssertEqual(json["serverEpoch"] as? String, running.server.serverEpoch)
        XCTAssertNotNil(json["revision"] as? String, "uint64 as a string")

        func names(_ target: String) throws -> Set<String> {
            let response = try running.get(target)
            XCTAssertEqual(response.status, 200, response.text)
            return Set(((try response.json()["nodes"] as? [[String: Any]]) ?? []).compactMap { $0["serviceName"] as? String })
        }
        XCTAssertEqual(try names("/api/v1/topology?service=alpha"), ["alpha"])
        XCTAssertEqual(try names("/api/v1/topology?environment=dev"), ["beta"])
        XCTAssertEqual(try names("/api/v1/topology?state=registered"), ["alpha", "beta"])
        XCTAssertEqual(try names("/api/v1/topology?state=ACTIVE"), [])
        XCTAssertEqual(try names("/api/v1/topology?service=alpha,beta&environment=prod"), ["alpha"])
        let bad = try running.get("/api/v1/topology?state=sleepy")
        XCTAssertEqual(bad.status, 400)
        XCTAssertTrue(bad.text.contains("sleepy"))
    }

    func testKeepAliveHeadHealthAndReadiness() throws {
        let running = try httpServer()
        defer { running.stop() }
        let client = try running.http()
        client.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        let health = try client.response()
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.text, "ok\n")
        XCTAssertEqual(health.headers["connection"], "keep-alive")
        // Same connection, pipelined: HEAD has GET's headers and no body; then readiness.
        client.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\nGET /readyz HTTP/1.1\r\nHost: t\r\n\r\n")
        let head = try client.response(head: true)
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.headers["content-length"], String(DashboardPage.bytes.count))
        XCTAssertEqual(head.body.count, 0)
        XCTAssertEqual(try client.response().text, "ready\n")
        // Connection: close is honoured.
        client.send("GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(try client.response().headers["connection"], "close")
        XCTAssertTrue(client.closesWithin(2))
        // A client that half-closes right after its request still gets the whole answer.
        let halfClosed = try running.http()
        halfClosed.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        shutdown(halfClosed.fd, Int32(SHUT_WR))
        let page = try halfClosed.response()
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.body.count, DashboardPage.bytes.count)
        XCTAssertTrue(halfClosed.closesWithin(2))
        // HTTP/1.0 closes by default.
        let old = try running.http()
        old.send("GET /healthz HTTP/1.0\r\n\r\n")
        XCTAssertEqual(try old.response().status, 200)
        XCTAssertTrue(old.closesWithin(2))
    }

    /// During the shutdown drain an open keep-alive connection is still answered, with
    /// `Connection: close`: `/readyz` says 503, and a new watch is refused.
    func testReadinessDuringTheShutdownDrain() throws {
        let running = try httpServer { $0.shutdownGraceMs = 3_000 }
        defer { running.stop() }
        let frames = try running.client()
        let watch = frames.startWatch()
        XCTAssertEqual(try frames.update(on: watch).type, .snapshot)
        // Each connection: one request answered, and the head of the next begun (in the same send,
        // so the server has read it before it is stopped): the drain waits for those heads.
        let readiness = try running.http()
        let watcher = try running.http()
        for (client, target) in [(readiness, "/readyz"), (watcher, "/api/v1/watch")] {
            client.send("GET /readyz HTTP/1.1\r\nHost: t\r\n\r\nGET \(target) HTTP/1.1\r\nHost: t\r\n")
            let ready = try client.response()
            XCTAssertEqual(ready.status, 200)
            XCTAssertEqual(ready.text, "ready\n")
            XCTAssertEqual(ready.headers["connection"], "keep-alive")
        }

        running.server.stop()
        // The frames watch ends with UNAVAILABLE: the shutdown has begun.
        let last = try frames.readFrame(call: watch)
        XCTAssertEqual(last.status?.statusCode, .unavailable)
        XCTAssertThrowsError(try running.http(), "the HTTP listener still accepts")

        readiness.send("\r\n")
        let draining = try readiness.response()
        XCTAssertEqual(draining.status, 503)
        XCTAssertEqual(draining.text, "shutting down\n")
        XCTAssertEqual(draining.headers["connection"], "close")
        XCTAssertTrue(readiness.closesWithin(2))

        watcher.send("\r\n")
        let refused = try watcher.response()
        XCTAssertEqual(refused.status, 503)
        XCTAssertTrue(refused.text.contains("shutting down"), refused.text)
        XCTAssertEqual(refused.headers["connection"], "close")
        XCTAssertTrue(watcher.closesWithin(2))
    }

    func testDashboardIsSelfContained() throws {
        let running = try httpServer()
        defer { running.stop() }
        let page = try running.get("/")
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.headers["content-type"], "text/html; charset=utf-8")
        let csp = try XCTUnwrap(page.headers["content-security-policy"])
        XCTAssertTrue(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"), csp)
        let html = page.text
        XCTAssertTrue(html.contains("<canvas id=\"graph\""))
        XCTAssertTrue(html.contains("new EventSource("))
        // No external resource of any kind: no src/href to a URL, no @import, no fetch elsewhere.
        for forbidden in ["src=", "href=\"http", "@import", "url(http", "//cdn", "https://"] {
            XCTAssertFalse(html.contains(forbidden), "the page contains \(forbidden)")
        }
        let urls = html.components(separatedBy: "http://").dropFirst().map { $0.prefix(26) }
        XCTAssertTrue(urls.allSatisfy { $0 == "www.w3.org/2000/svg\" xmlns" || $0.hasPrefix("www.w3.org/2000/svg") }, "\(urls)")
    }

    func testErrorStatusesOverTheWire() throws {
        let running = try httpServer { $0.httpLimits = HTTPLimits(maxRequestLineBytes: 256, maxHeaderBytes: 512, maxHeaderCount: 10) }
        defer { running.stop() }
        func exchange(_ request: String, closes: Bool) throws -> TestHTTPResponse {
            let client = try running.http()
            client.send(request)
            let response = try client.response()
            XCTAssertEqual(response.headers["connection"], closes ? "close" : "keep-alive", request)
            if closes { XCTAssertTrue(client.closesWithin(2), "not closed after \(response.status)") }
            return response
        }
        XCTAssertEqual(try exchange("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n", closes: false).status, 404)
        let notAllowed = try exchange("POST /metrics HTTP/1.1\r\nHost: t\r\n\r\n", closes: false)
        XCTAssertEqual(notAllowed.status, 405)
        XCTAssertEqual(notAllowed.headers["allow"], "GET, HEAD")
        XCTAssertEqual(try exchange("GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789", closes: true).status, 413)
        XCTAssertEqual(try exchange("GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", closes: true).status, 413)
        XCTAssertEqual(try exchange("GET /" + String(repeating: "a", count: 400) + " HTTP/1.1\r\nHost: t\r\n\r\n", closes: true).status, 431)
        XCTAssertEqual(try exchange("GET / HTTP/1.1\r\nHost: t\r\nX: " + String(repeating: "a", count: 600) + "\r\n\r\n", closes: true).status, 431)
        XCTAssertEqual(try exchange("GET / HTTP/1.1\r\nHost: t\r\n" + String(repeating: "X: y\r\n", count: 11) + "\r\n", closes: true).status, 431)
        XCTAssertEqual(try exchange("GET / HTTP/1.1\r\nHost: t\r\nBroken\r\n\r\n", closes: true).status, 400)
        XCTAssertEqual(try exchange("BREW / HTCPCP/1.0\r\n\r\n", closes: true).status, 400)
        XCTAssertEqual(try exchange("GET / HTTP/2.0\r\n\r\n", closes: true).status, 505)
        // A header section that never ends is refused once over the bound, without waiting for more.
        let endless = try running.http()
        endless.send("GET / HTTP/1.1\r\nHost: t\r\n" + String(repeating: "X-Long: yyyyyyyy\r\n", count: 40))
        XCTAssertEqual(try endless.response().status, 431)

        // Each refusal is counted.
        let metrics = try running.get("/metrics").text
        XCTAssertTrue(metrics.contains("topology_http_requests_total{code=\"431\"} 4"), metrics)
        XCTAssertTrue(metrics.contains("topology_http_requests_total{code=\"413\"} 2"), metrics)
        XCTAssertTrue(metrics.contains("topology_limit_rejections_total{limit=\"http-request-head\"} 4"), metrics)
        XCTAssertTrue(metrics.contains("topology_limit_rejections_total{limit=\"http-request-body\"} 2"), metrics)
        // The binary listener is untouched by all of this.
        XCTAssertEqual(try running.client().topology().nodes.count, 0)
    }

    /// `topology_loop_turn_max_seconds` is the loop's longest turn as its stats count it (both only
    /// grow: the stats, read after the scrape, hold at least what it showed).
    func testTheLongestLoopTurnIsInTheMetrics() throws {
        let running = try httpServer()
        defer { running.stop() }
        _ = try running.client().register("svc")
        let metrics = try running.get("/metrics").text
        let line = try XCTUnwrap(metrics.split(separator: "\n").first { $0.hasPrefix("topology_loop_turn_max_seconds ") }, metrics)
        let seconds = try XCTUnwrap(Double(line.split(separator: " ")[1]), String(line))
        XCTAssertGreaterThanOrEqual(seconds, 0)
        XCTAssertLessThanOrEqual(seconds * 1000, Double(running.server.stats().maxLoopTurnMs))
        XCTAssertTrue(metrics.contains("# TYPE topology_loop_turn_max_seconds gauge"), metrics)
    }

    /// A turn of `--slow-turn-log-ms` or more is logged with where its time went, and counted. 2,000
    /// registrations read in one go take well over a millisecond in any build.
    func testASlowTurnIsLoggedWithItsPhasesAndCounted() throws {
        let running = try httpServer { $0.slowTurnLogMs = 1 }
        defer { running.stop() }
        let client = try running.client()
        let replies = try client.pipelined(client.registrations((0..<2_000).map { "svc-\($0)" }), batch: 2_000)
        XCTAssertEqual(replies.count, 2_000)
        try eventually("a slow loop turn is logged") { running.logLines.contains("msg=\"slow loop turn\"") }
        let line = try XCTUnwrap(running.logLines.all.first { $0.contains("msg=\"slow loop turn\"") })
        XCTAssertTrue(line.hasPrefix("ts=") && line.contains(" level=warn "), line)
        for field in ["turn_ms", "ready_sockets", "input_ms", "timers_ms", "watchers_ms", "writes_ms", "history_ms", "memory_ms",
                      "slow_turns_unlogged", "services", "connections"] {
            XCTAssertTrue(line.contains(" \(field)="), "\(field) missing: \(line)")
        }
        let turnMs = try XCTUnwrap(line.split(separator: " ").first { $0.hasPrefix("turn_ms=") }.flatMap { Double($0.dropFirst(8)) }, line)
        XCTAssertGreaterThanOrEqual(turnMs, 1)
        let metrics = try running.get("/metrics").text
        let counted = try XCTUnwrap(metrics.split(separator: "\n").first { $0.hasPrefix("topology_loop_slow_turns_total ") }, metrics)
        XCTAssertGreaterThanOrEqual(Int(counted.split(separator: " ")[1]) ?? 0, 1, String(counted))
        XCTAssertTrue(metrics.contains("# TYPE topology_loop_slow_turns_total counter"), metrics)
    }

    /// RFC 9112 section 3.2 over the wire (400, then the connection closes); and no error body
    /// echoes a control character decoded from the target.
    func testHostIsRequiredOnceAndErrorBodiesEscapeControlCharacters() throws {
        let running = try httpServer()
        defer { running.stop() }
        for request in ["GET /healthz HTTP/1.1\r\n\r\n", "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                        "GET /healthz HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"] {
            let client = try running.http()
            client.send(request)
            let response = try client.response()
            XCTAssertEqual(response.status, 400, request.debugDescription)
            XCTAssertTrue(response.text.contains("Host header field"), response.text)
            XCTAssertTrue(client.closesWithin(2), "not closed after \(response.status)")
        }
        let old = try running.http()
        old.send("GET /healthz HTTP/1.0\r\n\r\n")
        XCTAssertEqual(try old.response().status, 200, "HTTP/1.0 needs no Host")

        func controlBytes(_ body: [UInt8]) -> [UInt8] { body.filter { $0 < 0x20 || $0 == 0x7F } }
        let notFound = try running.get("/a%00b%1b[31mred%0d%0aX-Injected:%201%7f")
        XCTAssertEqual(notFound.status, 404)
        XCTAssertEqual(controlBytes(notFound.body), [0x0A], "only the body's own newline: \(notFound.text.debugDescription)")
        XCTAssertTrue(notFound.text.contains(#"/a\x00b\x1b[31mred\r\nX-Injected: 1\x7f"#), notFound.text)
        let badQuery = try running.get("/api/v1/topology?state=%1b[2J")
        XCTAssertEqual(badQuery.status, 400)
        XCTAssertEqual(controlBytes(badQuery.body), [0x0A], badQuery.text.debugDescription)
        XCTAssertTrue(badQuery.text.contains(#"'\x1b[2J'"#), badQuery.text)
    }

    func testSlowClientsGetADeadlineAndStallNobody() throws {
        let running = try httpServer { $0.httpRequestTimeoutMs = 400 }
        defer { running.stop() }
        let slow = try running.http()
        slow.send("GET /healthz HTTP/1.1\r\nHost: t\r\nHo")          // half a request, then nothing
        let idle = try running.http()                      // connects, sends nothing
        let started = Date()
        let fast = try running.get("/healthz")            // served at once meanwhile
        XCTAssertEqual(fast.status, 200)
        XCTAssertLessThan(Date().timeIntervalSince(started), 0.3)
        let timedOut = try slow.response(timeout: 3)
        XCTAssertEqual(timedOut.status, 408)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.35)
        XCTAssertTrue(slow.closesWithin(2))
        XCTAssertTrue(idle.closesWithin(2), "an idle connection is closed at the deadline")
    }

    // MARK: - SSE

    private func watch(_ running: RunningServer, _ extra: String = "", target: String = "/api/v1/watch") throws -> HTTPTestClient {
        let client = try running.http()
        client.send("GET \(target) HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\(extra)\r\n")
        let head = try client.eventStreamHead()
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.headers["content-type"], "text/event-stream")
        XCTAssertNil(head.headers["content-length"])
        return client
    }

    private func update(_ event: (id: String?, data: String, comment: String?)) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any])
    }

    func testSSEStreamsUpdatesWithEpochRevisionIdsAndResumes() throws {
        let running = try httpServer()
        defer { running.stop() }
        let epoch = running.server.serverEpoch
        let frames = try running.client()
        _ = try frames.register("first")

        let stream = try watch(running)
        let snapshotEvent = try stream.event()
        let snapshot = try update(snapshotEvent)
        XCTAssertEqual(snapshot["type"] as? String, "UPDATE_TYPE_SNAPSHOT")
        XCTAssertEqual(((snapshot["snapshot"] as? [String: Any])?["nodes"] as? [Any])?.count, 1)
        let snapshotID = try XCTUnwrap(snapshotEvent.id)
        XCTAssertEqual(snapshotID, "\(epoch).\(snapshot["revision"] as? String ?? "?")")

        _ = try frames.register("second")
        let addedEvent = try stream.event()
        let added = try update(addedEvent)
        XCTAssertEqual(added["type"] as? String, "UPDATE_TYPE_NODE_ADDED")
        XCTAssertEqual((added["node"] as? [String: Any])?["serviceName"] as? String, "second")
        let lastID = try XCTUnwrap(addedEvent.id)
        XCTAssertTrue(lastID.hasPrefix(epoch + "."))
        try eventually("the SSE watcher counted") { running.server.stats().watchers == 1 }
        close(stream.fd)

        // Missed while disconnected: resuming from the last id gets exactly that, with no snapshot.
        _ = try frames.register("third")
        let resumed = try watch(running, "Last-Event-ID: \(lastID)\r\n")
        let missed = try update(try resumed.event())
        XCTAssertEqual(missed["type"] as? String, "UPDATE_TYPE_NODE_ADDED")
        XCTAssertEqual((missed["node"] as? [String: Any])?["serviceName"] as? String, "third")

        // The same through the query parameter (for a client that cannot set headers).
        let byQuery = try watch(running, target: "/api/v1/watch?last_event_id=\(lastID)")
        XCTAssertEqual((try update(try byQuery.event()))["type"] as? String, "UPDATE_TYPE_NODE_ADDED")

        // An id of another server process (a restart) or one that does not parse: a resync snapshot,
        // never deltas computed against the wrong history.
        for stale in ["0123456789abcdef0123456789abcdef.2", "not-an-id", "\(epoch).999999"] {
            let other = try watch(running, "Last-Event-ID: \(stale)\r\n")
            let first = try update(try other.event())
            XCTAssertEqual(first["type"] as? String, "UPDATE_TYPE_SNAPSHOT", stale)
            XCTAssertEqual(first["resync"] as? Bool, true, stale)
            XCTAssertEqual(((first["snapshot"] as? [String: Any])?["nodes"] as? [Any])?.count, 3, stale)
        }

        // A filtered watch sees only its services.
        let filtered = try watch(running, target: "/api/v1/watch?service=fourth")
        let empty = try update(try filtered.event())
        XCTAssertNil((empty["snapshot"] as? [String: Any])?["nodes"])
        _ = try frames.register("other")
        _ = try frames.register("fourth")
        let only = try update(try filtered.event())
        XCTAssertEqual((only["node"] as? [String: Any])?["serviceName"] as? String, "fourth")
    }

    func testLargeJSONAndSSESnapshotsAreEncodedOffTheLoopInOrder() throws {
        // Long liveness timeouts: the 1,200 services stay as they are (no STALE updates).
        let running = try httpServer { $0.topology.heartbeatIntervalMs = 60_000 }
        defer { running.stop() }
        let frames = try running.client()
        _ = try frames.pipelined(frames.registrations((0..<1_200).map { "svc-\($0)" }))
        let before = running.server.stats().offLoopReplies
        func nodeNames(_ response: TestHTTPResponse) throws -> [String] {
            XCTAssertEqual(response.status, 200, response.text)
            XCTAssertEqual(response.headers["content-length"], String(response.body.count))
            return ((try response.json()["nodes"] as? [[String: Any]]) ?? []).compactMap { $0["serviceName"] as? String }
        }

        // Pipelined on one connection: large (off the loop), small, filtered (off the loop too: the
        // filter reads every node of a large core), large with close. The answers keep the order of
        // the requests.
        let http = try running.http()
        http.send("GET /api/v1/topology HTTP/1.1\r\nHost: t\r\n\r\n"
            + "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
            + "GET /api/v1/topology?service=svc-7 HTTP/1.1\r\nHost: t\r\n\r\n"
            + "GET /api/v1/topology HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        let all = try http.response()
        XCTAssertEqual(Set(try nodeNames(all)).count, 1_200)
        XCTAssertEqual(all.headers["connection"], "keep-alive")
        XCTAssertEqual(try http.response().text, "ok\n")
        XCTAssertEqual(try nodeNames(try http.response()), ["svc-7"])
        let last = try http.response()
        XCTAssertEqual(try nodeNames(last).count, 1_200)
        XCTAssertEqual(last.headers["connection"], "close")
        XCTAssertTrue(http.closesWithin(2))
        XCTAssertEqual(running.server.stats().offLoopReplies - before, 3)

        // A client that half-closes after its request still gets the whole answer; HEAD gets the head.
        let half = try running.http()
        half.send("GET /api/v1/topology HTTP/1.1\r\nHost: t\r\n\r\n")
        shutdown(half.fd, Int32(SHUT_WR))
        XCTAssertEqual(try nodeNames(try half.response()).count, 1_200)
        let head = try running.http()
        head.send("HEAD /api/v1/topology HTTP/1.1\r\nHost: t\r\n\r\n")
        let headResponse = try head.response(head: true)
        XCTAssertEqual(headResponse.status, 200)
        XCTAssertGreaterThan(Int(headResponse.headers["content-length"] ?? "") ?? 0, 1_200 * 100)
        head.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try head.response().text, "ok\n", "no body was sent after the HEAD's head")

        // SSE: the snapshot is encoded off the loop; the update that follows comes after it.
        let stream = try watch(running)
        let snapshot = try update(try stream.event())
        XCTAssertEqual(snapshot["type"] as? String, "UPDATE_TYPE_SNAPSHOT")
        XCTAssertEqual(((snapshot["snapshot"] as? [String: Any])?["nodes"] as? [Any])?.count, 1_200)
        _ = try frames.register("after")
        let added = try update(try stream.event())
        XCTAssertEqual(added["type"] as? String, "UPDATE_TYPE_NODE_ADDED")
        XCTAssertEqual((added["node"] as? [String: Any])?["serviceName"] as? String, "after")
        XCTAssertGreaterThan(UInt64(added["revision"] as? String ?? "") ?? 0, UInt64(snapshot["revision"] as? String ?? "") ?? .max)
        XCTAssertEqual(running.server.stats().offLoopReplies - before, 6)
    }

    func testSSEResumeAcrossAServerRestartIsAResync() throws {
        let first = try httpServer()
        _ = try first.client().register("before-restart")
        let stream = try watch(first)
        let id = try XCTUnwrap(try stream.event().id)
        first.stop()

        let second = try httpServer()
        defer { second.stop() }
        _ = try second.client().register("after-restart")
        // Revision numbers restart: the old id's revision may well exist here, with other meaning.
        let resumed = try watch(second, "Last-Event-ID: \(id)\r\n")
        let event = try resumed.event()
        let update = try update(event)
        XCTAssertEqual(update["type"] as? String, "UPDATE_TYPE_SNAPSHOT")
        XCTAssertEqual(update["resync"] as? Bool, true)
        let names = ((update["snapshot"] as? [String: Any])?["nodes"] as? [[String: Any]])?.compactMap { $0["serviceName"] as? String }
        XCTAssertEqual(names, ["after-restart"])
        XCTAssertTrue(event.id?.hasPrefix(second.server.serverEpoch + ".") ?? false)
    }

    func testSSECommentLinesArriveAtTheConfiguredPeriod() throws {
        let running = try httpServer { $0.sseCommentIntervalMs = 100 }
        defer { running.stop() }
        let stream = try watch(running)
        _ = try stream.event()  // the snapshot
        let started = Date()
        var comments = 0
        while comments < 3 {
            let event = try stream.event(timeout: 2, comments: true)
            if event.comment?.hasPrefix("keep-alive") == true { comments += 1 }
        }
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertGreaterThan(elapsed, 0.15)
        XCTAssertLessThan(elapsed, 1.5)
    }

    func testSlowSSEReaderIsResyncedByTheCoreAndStallsNobody() throws {
        let running = try httpServer { c in
            c.maxOutboundBytes = 64 * 1024
            c.topology.watchBufferLimit = 16
            c.topology.resyncIntervalMs = 0  // resync on the first overflow, however soon after the snapshot
            c.topology.heartbeatIntervalMs = 60_000  // nobody dies while the test works
        }
        defer { running.stop() }
        let producer = try running.client()
        let filler = String(repeating: "x", count: 1_000)
        let metadata = ServiceMetadata(region: filler, environment: filler, team: filler, versionHash: filler,
                                       serviceInterface: filler, serviceRole: filler, programName: filler)
        // A ~430 KB snapshot fills the kernel buffers of a reader that does not read.
        for i in 0..<60 { _ = try producer.register("big-\(i)", metadata: metadata) }
        let slow = try HTTPTestClient(port: running.httpPort, receiveBuffer: 4096)
        slow.send("GET /api/v1/watch HTTP/1.1\r\nHost: t\r\n\r\n")
        usleep(100_000)
        // ~400 updates of ~7 KB (~3 MB) while it reads nothing; another HTTP client is served at once.
        var worstMs = 0.0
        for round in 0..<5 {
            var ids: [String] = []
            for i in 0..<40 { ids.append(try producer.register("churn-\(round)-\(i)", metadata: metadata).serviceId) }
            for id in ids { _ = try producer.unary(.unregisterServiceRequest(UnregisterServiceRequest(serviceId: id))) }
            let started = Date()
            XCTAssertEqual(try running.get("/healthz").status, 200)
            worstMs = max(worstMs, Date().timeIntervalSince(started) * 1000)
        }
        XCTAssertLessThan(worstMs, 250, "the slow SSE reader delayed another client")
        let stats = running.server.stats()
        XCTAssertLessThan(stats.maxConnectionOutboundBytes, 1_000_000, "server-side queue not bounded: \(stats.maxConnectionOutboundBytes)")

        // Now it reads: the original snapshot, then, where the backlog overflowed, a resync snapshot
        // holding exactly the 60 services that are left.
        _ = try slow.eventStreamHead()
        var sawResync = false
        var count = 0
        let deadline = Date().addingTimeInterval(10)
        while !sawResync, Date() < deadline {
            let event = try update(try slow.event(timeout: 5))
            count += 1
            if event["resync"] as? Bool == true {
                sawResync = true
                XCTAssertEqual(((event["snapshot"] as? [String: Any])?["nodes"] as? [Any])?.count, 60)
            }
        }
        XCTAssertTrue(sawResync, "no resync snapshot after \(count) events")
        let metrics = try running.get("/metrics").text
        XCTAssertFalse(metrics.contains("topology_watcher_resyncs_total 0\n"), metrics)
        XCTAssertTrue(metrics.contains("topology_watcher_resyncs_total"), metrics)
    }

    // MARK: - Configuration and startup

    func testDefaultHTTPAddressInUseIsSkippedButAnExplicitOneFails() throws {
        let holder = try httpServer()
        defer { holder.stop() }
        let taken = try XCTUnwrap(holder.server.boundHTTPAddress)

        var strict = ServerConfiguration()
        strict.address = ListenAddress(host: "127.0.0.1", port: 0, family: .ipv4)
        strict.httpAddress = taken
        let server = Server(configuration: strict, logger: Logger(level: .error) { _ in })
        XCTAssertThrowsError(try server.start()) { XCTAssertEqual(($0 as? SystemError)?.errno, EADDRINUSE) }
    }

    func testStartupLineNamesTheHTTPAddress() throws {
        let running = try httpServer()
        defer { running.stop() }
        let line = try XCTUnwrap(running.logLines.all.first { $0.contains("msg=\"listening\"") || $0.contains("msg=listening") })
        XCTAssertTrue(line.contains("http_address=127.0.0.1:\(running.httpPort)"), line)
        let none = try RunningServer()
        defer { none.stop() }
        XCTAssertNil(none.server.boundHTTPAddress)
    }

    func testCommandLineHTTPFlags() throws {
        guard case .run(let defaults) = try CommandLineOptions.parse([], environment: [:]) else { return XCTFail() }
        XCTAssertEqual(defaults.httpAddress, ListenAddress(host: "127.0.0.1", port: 50054, family: .ipv4))
        XCTAssertEqual(defaults.sseCommentIntervalMs, 15_000)
        guard case .run(let off) = try CommandLineOptions.parse(["--http-address="], environment: [:]) else { return XCTFail() }
        XCTAssertNil(off.httpAddress)
        guard case .run(let env) = try CommandLineOptions.parse([], environment: ["TOPOLOGY_HTTP_ADDRESS": ""]) else { return XCTFail() }
        XCTAssertNil(env.httpAddress)
        guard case .run(let set) = try CommandLineOptions.parse(
            ["--http-address", "[::1]:0", "--sse-comment-interval-ms", "250", "--http-request-timeout-ms", "900", "--max-http-connections", "9"],
            environment: [:]) else { return XCTFail() }
        XCTAssertEqual(set.httpAddress, ListenAddress(host: "::1", port: 0, family: .ipv6))
        XCTAssertEqual(set.sseCommentIntervalMs, 250)
        XCTAssertEqual(set.httpRequestTimeoutMs, 900)
        XCTAssertEqual(set.maxHTTPConnections, 9)
        XCTAssertThrowsError(try CommandLineOptions.parse(["--http-address", "nowhere"], environment: [:])) {
            XCTAssertTrue(($0 as? CommandLineError)?.message.contains("--http-address") ?? false)
        }
        XCTAssertTrue(CommandLineOptions.helpText.contains("--http-address"))
    }
}
