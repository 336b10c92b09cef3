import TopologyCore
@testable import TopologyServer
import TopologyWire
import XCTest

/// The pure parts of webhooks: the plan of what to send when, the alerts events raise, the flag's
/// URL and the status line. Time is the test's; nothing is sent.
final class WebhookPlanTests: XCTestCase {
    private func body(_ text: String) -> [UInt8] { Array(text.utf8) }

    func testBodiesGoOneAtATimeInOrder() {
        var plan = WebhookPlan(policy: .init(queueLimit: 10))
        XCTAssertNil(plan.take(now: 0))
        XCTAssertNil(plan.nextAttemptMs)
        XCTAssertTrue(plan.enqueue(body("a")))
        XCTAssertTrue(plan.enqueue(body("b")))
        XCTAssertEqual(plan.take(now: 0), .init(body: body("a"), number: 1))
        XCTAssertNil(plan.take(now: 0), "one attempt in flight at a time")
        XCTAssertNil(plan.nextAttemptMs)
        XCTAssertEqual(plan.finish(.delivered, now: 5), .delivered)
        XCTAssertEqual(plan.take(now: 5), .init(body: body("b"), number: 1))
        XCTAssertEqual(plan.finish(.delivered, now: 6), .delivered)
        XCTAssertEqual(plan.counters, .init(delivered: 2))
        XCTAssertEqual(plan.queued, 0)
    }

    func testAFailedHeadIsRetriedWithDoublingBackoffBeforeAnythingBehindIt() {
        var plan = WebhookPlan(policy: .init(queueLimit: 10, maxAttempts: 4, initialBackoffMs: 100, maxBackoffMs: 250))
        _ = plan.enqueue(body("first"))
        _ = plan.enqueue(body("second"))
        var now: Int64 = 1_000
        var delays: [Int64] = []
        for attempt in 1 ... 3 {
            XCTAssertEqual(plan.take(now: now), .init(body: body("first"), number: attempt))
            guard case .retry(let delay) = plan.finish(.failed("HTTP 500"), now: now) else { return XCTFail() }
            delays.append(delay)
            XCTAssertEqual(plan.nextAttemptMs, now + delay)
            XCTAssertNil(plan.take(now: now + delay - 1), "not before its backoff")
            now += delay
        }
        XCTAssertEqual(delays, [100, 200, 250], "doubling, capped")
        XCTAssertEqual(plan.take(now: now), .init(body: body("first"), number: 4))
        XCTAssertEqual(plan.finish(.failed("timed out"), now: now), .gaveUp, "maxAttempts spent")
        XCTAssertEqual(plan.take(now: now), .init(body: body("second"), number: 1), "the next body at once, no backoff")
        XCTAssertEqual(plan.counters, .init(delivered: 0, failedAttempts: 4, dropped: 0, gaveUp: 1))
    }

    func testARetriedBodyThatGetsThroughLetsTheNextGoAtOnce() {
        var plan = WebhookPlan(policy: .init(queueLimit: 10, initialBackoffMs: 100))
        _ = plan.enqueue(body("a"))
        _ = plan.enqueue(body("b"))
        _ = plan.take(now: 0)
        _ = plan.finish(.failed("HTTP 503"), now: 0)
        XCTAssertEqual(plan.take(now: 100)?.number, 2)
        XCTAssertEqual(plan.finish(.delivered, now: 100), .delivered)
        XCTAssertEqual(plan.take(now: 100), .init(body: body("b"), number: 1))
    }

    func testARefusalIsNotRetried() {
        var plan = WebhookPlan(policy: .init(queueLimit: 10))
        _ = plan.enqueue(body("a"))
        _ = plan.take(now: 0)
        XCTAssertEqual(plan.finish(.refused("HTTP 400"), now: 0), .gaveUp)
        XCTAssertEqual(plan.queued, 0)
        XCTAssertEqual(plan.counters, .init(delivered: 0, failedAttempts: 1, dropped: 0, gaveUp: 1))
    }

    func testAFullQueueDropsAndCountsWhatComesNext() {
        var plan = WebhookPlan(policy: .init(queueLimit: 2))
        XCTAssertTrue(plan.enqueue(body("a")))
        XCTAssertTrue(plan.enqueue(body("b")))
        XCTAssertFalse(plan.enqueue(body("c")))
        XCTAssertEqual(plan.counters.dropped, 1)
        _ = plan.take(now: 0)
        XCTAssertFalse(plan.enqueue(body("d")), "the body in flight still holds its place")
        _ = plan.finish(.delivered, now: 0)
        XCTAssertTrue(plan.enqueue(body("e")))
        XCTAssertEqual(plan.take(now: 0)?.body, body("b"))
    }

    func testManyBodiesStayInOrderAcrossCompaction() {
        var plan = WebhookPlan(policy: .init(queueLimit: 1_000))
        var sent: [String] = []
        for round in 0 ..< 5 {
            for index in 0 ..< 100 { _ = plan.enqueue(body("\(round)-\(index)")) }
            while let attempt = plan.take(now: 0) {
                sent.append(String(decoding: attempt.body, as: UTF8.self))
                _ = plan.finish(.delivered, now: 0)
            }
        }
        XCTAssertEqual(sent, (0 ..< 5).flatMap { round in (0 ..< 100).map { "\(round)-\($0)" } })
    }

    // MARK: Alerts

    private func event(_ kind: ServiceEvent.Kind) -> ServiceEvent {
        ServiceEvent(sequence: 7, revision: 42, timeMs: 1_700_000_000_000, kind: kind, serviceId: "id-1", serviceName: "orders")
    }

    func testWhichEventsRaiseWhichAlerts() {
        let cases: [(ServiceEvent.Kind, WebhookAlert.Kind?)] = [
            (.state(from: .stale, to: .dead), .dead),
            (.state(from: .idle, to: .stale), .stale),
            (.state(from: .active, to: .stale), .stale),
            (.state(from: .stale, to: .idle), .recovered),
            (.state(from: .stale, to: .active), .recovered),
            (.health(from: .healthy, to: .unhealthy), .unhealthy),
            (.health(from: .unhealthy, to: .degraded), .recovered),
            (.edgeFailing(target: "db", errorRate: 0.5), .edgeFailing),
            (.edgeRecovered(target: "db", errorRate: 0), .edgeRecovered),
            (.registered, nil), (.state(from: .registered, to: .idle), nil), (.state(from: .idle, to: .active), nil),
            (.health(from: .healthy, to: .degraded), nil), (.unregistered, nil), (.removed, nil),
            (.edgeAdded(target: "db"), nil), (.edgeRemoved(target: "db"), nil),
        ]
        for (kind, expected) in cases {
            XCTAssertEqual(WebhookAlert(event(kind))?.kind, expected, "\(kind)")
        }
    }

    func testTheBodyIsTheAlertAndTheEventAsTheAPIWritesIt() throws {
        let alert = try XCTUnwrap(WebhookAlert(event(.state(from: .stale, to: .dead))))
        XCTAssertEqual(String(decoding: alert.body(serverEpoch: "e1"), as: UTF8.self),
                       #"{"alert":"dead","serverEpoch":"e1","event":{"sequence":"7","revision":"42","timeMs":"1700000000000","type":"state","#
                       + #""serviceId":"id-1","serviceName":"orders","from":"SERVICE_STATE_STALE","to":"SERVICE_STATE_DEAD"}}"#)
    }

    // MARK: The flag

    func testWebhookURLs() throws {
        let plain = try XCTUnwrap(WebhookTarget(parsing: "http://127.0.0.1:9000/hooks/a?key=s3cret"))
        XCTAssertEqual(plain.host, "127.0.0.1")
        XCTAssertEqual(plain.port, 9000)
        XCTAssertEqual(plain.path, "/hooks/a?key=s3cret")
        XCTAssertEqual(plain.kinds, Set(WebhookAlert.Kind.allCases))
        XCTAssertEqual(plain.description, "http://127.0.0.1:9000", "no path: it may hold a secret")

        let filtered = try XCTUnwrap(WebhookTarget(parsing: "http://alerts.internal#events=dead,edge_failing"))
        XCTAssertEqual(filtered.port, 80)
        XCTAssertEqual(filtered.path, "/")
        XCTAssertEqual(filtered.kinds, [.dead, .edgeFailing])

        let v6 = try XCTUnwrap(WebhookTarget(parsing: "http://[::1]:8080?x=1"))
        XCTAssertEqual(v6.host, "::1")
        XCTAssertEqual(v6.path, "/?x=1")
        XCTAssertEqual(v6.description, "http://[::1]:8080")

        for bad in ["https://example.com/", "ftp://x", "example.com", "http://", "http://:80/", "http://h:0/", "http://h:99999/",
                    "http://h:x/", "http://user@h/", "http://h/a b", "http://h/#events=", "http://h/#events=dead,nope",
                    "http://h/#fragment", "http://[::1/"] {
            XCTAssertNil(WebhookTarget(parsing: bad), bad)
        }
    }

    func testTheFlagRepeatsAndTheEnvironmentCountsToo() throws {
        guard case .run(let configuration) = try CommandLineOptions.parse(
            ["--webhook-url", "http://127.0.0.1:1/a", "--webhook-url=http://127.0.0.1:2/b#events=dead"],
            environment: ["TOPOLOGY_WEBHOOK_URL": "http://127.0.0.1:3/"]) else { return XCTFail() }
        XCTAssertEqual(configuration.webhooks.map(\.port), [3, 1, 2])
        XCTAssertEqual(configuration.webhooks[2].kinds, [.dead])
        XCTAssertThrowsError(try CommandLineOptions.parse(["--webhook-url", "https://x/"], environment: [:])) { error in
            XCTAssertTrue("\(error)".contains("for https, a local TLS proxy"), "\(error)")
        }
    }

    // MARK: The answer

    func testStatusLines() {
        func outcome(_ text: String) -> WebhookPlan.Outcome? { WebhookSender.statusOutcome(Array(text.utf8)) }
        XCTAssertEqual(outcome("HTTP/1.1 200 OK\r\n"), .delivered)
        XCTAssertEqual(outcome("HTTP/1.0 204 No Content\r\n"), .delivered)
        XCTAssertEqual(outcome("HTTP/1.1 500 Internal Server Error\r\n"), .failed("HTTP 500"))
        XCTAssertEqual(outcome("HTTP/1.1 429 Too Many Requests\r\n"), .failed("HTTP 429"))
        XCTAssertEqual(outcome("HTTP/1.1 404 Not Found\r\n"), .refused("HTTP 404"))
        XCTAssertNil(outcome("HTTP/1.1 200 OK"), "no end of line yet")
        XCTAssertNil(outcome("SSH-2.0-OpenSSH\r\n"))
        XCTAssertNil(outcome("HTTP/1.1 999 What\r\n"))
    }
}
