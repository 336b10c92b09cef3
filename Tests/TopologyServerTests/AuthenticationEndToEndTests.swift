import Foundation
@testable import TopologyServer
import TopologyWire
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `--auth-token-file` over real loopback sockets: the frames handshake and the HTTP bearer check.
final class AuthenticationEndToEndTests: XCTestCase {
    static let secret = "7f9c2ba4e88f827d616045507605853e"

    private var tokenFile: TokenFile!

    override func setUpWithError() throws {
        tokenFile = try TokenFile(contents: Self.secret + "\n")
    }

    override func tearDown() {
        tokenFile.remove()
    }

    private func authServer() throws -> RunningServer {
        let path = tokenFile.path
        return try httpServer { $0.authTokenFile = path }
    }

    private func authenticate(_ client: TestClient, token: String) throws -> Frame {
        try client.unary(.authenticateRequest(AuthenticateRequest(token: token)))
    }

    /// The last frame a refused connection gets, and that it is closed after it.
    private func assertRefused(_ client: TestClient, file: StaticString = #filePath, line: UInt = #line) throws -> Status {
        let frames = try client.readUntilClosed(timeout: 5)
        XCTAssertTrue(client.closedByPeer, "the connection must be closed", file: file, line: line)
        let last = try XCTUnwrap(frames.last, "no frame before the close", file: file, line: line)
        XCTAssertEqual(last.callId, 0, file: file, line: line)
        XCTAssertTrue(last.endOfStream, file: file, line: line)
        XCTAssertNil(last.message, file: file, line: line)
        let status = try XCTUnwrap(last.status, file: file, line: line)
        XCTAssertEqual(status.statusCode, .unauthenticated, file: file, line: line)
        XCTAssertFalse(status.message.contains(Self.secret), "the token must never be echoed", file: file, line: line)
        return status
    }

    func testRightTokenOpensTheConnectionAndOthersAreRefusedAlone() throws {
        let running = try authServer()
        defer { running.stop() }

        // A witness authenticates, registers and holds a watch through everything below.
        let witness = try running.client()
        let accepted = try authenticate(witness, token: Self.secret)
        XCTAssertEqual(accepted.status?.statusCode, .ok)
        XCTAssertTrue(accepted.endOfStream)
        XCTAssertEqual(accepted.message, .authenticateResponse(AuthenticateResponse(authenticated: true)))
        let handle = try witness.register("witness")
        let watch = witness.startWatch()
        XCTAssertEqual(try witness.update(on: watch).type, .snapshot)

        // Any other request first: UNAUTHENTICATED on call 0, then closed; nothing registered.
        let rude = try running.client()
        var request = RegisterServiceRequest()
        request.serviceName = "intruder"
        rude.send(Frame(callId: 1, message: .registerServiceRequest(request)))
        let first = try assertRefused(rude)
        XCTAssertTrue(first.message.contains("requires authentication"), first.message)
        XCTAssertTrue(first.message.contains("--auth-token-file"), first.message)

        // A frame with no request at all first: the same.
        let empty = try running.client()
        empty.send(Frame(callId: 1, endOfStream: true))
        _ = try assertRefused(empty)

        // A wrong token, a token one byte short, an empty one: refused the same way.
        // The refusal comes on call 0, not as an answer to the authenticate call.
        for token in ["wrong-token-wrong-token", String(Self.secret.dropLast()), ""] {
            let guesser = try running.client()
            guesser.send(Frame(callId: 1, message: .authenticateRequest(AuthenticateRequest(token: token))))
            let status = try assertRefused(guesser)
            XCTAssertTrue(status.message.contains("does not match"), status.message)
        }

        // Pipelined: a good token and a request in one write are both served.
        let eager = try running.client()
        var bytes: [UInt8] = []
        Frame(callId: 1, message: .authenticateRequest(AuthenticateRequest(token: Self.secret))).encodeLengthPrefixed(appendingTo: &bytes)
        Frame(callId: 2, message: .getTopologyRequest(GetTopologyRequest())).encodeLengthPrefixed(appendingTo: &bytes)
        eager.sendRaw(bytes)
        XCTAssertEqual(try eager.readFrame(call: 1).message, .authenticateResponse(AuthenticateResponse(authenticated: true)))
        guard case .getTopologyResponse(let snapshot)? = try eager.readFrame(call: 2).message else { return XCTFail("no topology") }
        XCTAssertEqual(snapshot.snapshot?.nodes.map(\.serviceName), ["witness"])

        // A wrong token after a good one closes that connection too (the token is checked every time).
        XCTAssertEqual(try authenticate(eager, token: Self.secret).status?.statusCode, .ok)
        eager.send(Frame(callId: 9, message: .authenticateRequest(AuthenticateRequest(token: "not-the-token-at-all"))))
        _ = try assertRefused(eager)

        // The witness saw none of it: its service, heartbeats and watch carry on.
        let beat = witness.newCallID()
        let reply = try witness.heartbeat(call: beat, serviceID: handle.serviceId, sequence: 1)
        guard case .heartbeatResponse(let response)? = reply.message else { return XCTFail("no heartbeat response") }
        XCTAssertTrue(response.acknowledged)
        XCTAssertEqual(try witness.topology().nodes.map(\.serviceName), ["witness"])
        _ = try witness.register("second")
        var added = false
        for _ in 0..<10 where !added {
            let update = try witness.update(on: watch)
            added = update.type == .nodeAdded && update.node?.serviceName == "second"
        }
        XCTAssertTrue(added, "the witness's watch must still deliver")

        // One log line per refusal, with the peer and without the token; counted in /metrics.
        try eventually("the refusals in the log") { running.logLines.all.filter { $0.contains("authentication failed") }.count == 6 }
        for line in running.logLines.all {
            XCTAssertFalse(line.contains(Self.secret), "a log line holds the token: \(line)")
        }
        XCTAssertTrue(running.logLines.all.filter { $0.contains("authentication failed") }.allSatisfy { $0.contains("peer=127.0.0.1:") })
        let metrics = try running.get("/metrics", headers: "Authorization: Bearer \(Self.secret)\r\n").text
        XCTAssertTrue(metrics.contains("topology_authentication_failures_total{listener=\"frames\"} 6"), metrics)
        XCTAssertTrue(metrics.contains("topology_frame_errors_total{code=\"UNAUTHENTICATED\"} 6"), metrics)
    }

    func testSilentConnectionStillMeetsTheFirstFrameDeadline() throws {
        let path = tokenFile.path
        let running = try RunningServer { c in
            c.authTokenFile = path
            c.firstFrameTimeoutMs = 100
        }
        defer { running.stop() }
        let silent = try running.client()
        let frames = try silent.readUntilClosed(timeout: 5)
        XCTAssertEqual(frames.last?.status?.statusCode, .deadlineExceeded)
    }

    func testWithoutATokenFileAnyAuthenticateIsAccepted() throws {
        let running = try RunningServer()
        defer { running.stop() }
        let client = try running.client()
        let reply = try authenticate(client, token: "whatever-the-client-was-given")
        XCTAssertEqual(reply.status?.statusCode, .ok)
        XCTAssertEqual(reply.message, .authenticateResponse(AuthenticateResponse(authenticated: true)))
        _ = try client.register("open")
        // And clients that never authenticate work as before.
        XCTAssertEqual(try running.client().topology().nodes.count, 1)
    }

    func testAMissingTokenFileStopsTheStart() throws {
        var configuration = ServerConfiguration()
        configuration.address = ListenAddress(host: "127.0.0.1", port: 0, family: .ipv4)
        configuration.authTokenFile = tokenFile.directory.appendingPathComponent("absent").path
        let server = Server(configuration: configuration, logger: Logger(level: .error) { _ in })
        XCTAssertThrowsError(try server.start()) { error in
            guard case .unreadable(_, ENOENT)? = error as? AuthTokenError else { return XCTFail("\(error)") }
        }
        XCTAssertNil(server.boundAddress, "nothing may listen")
    }

    // MARK: - HTTP

    func testHTTPNeedsTheBearerTokenExceptHealthz() throws {
        let running = try authServer()
        defer { running.stop() }
        let bearer = "Authorization: Bearer \(Self.secret)\r\n"

        for path in ["/", "/api/v1/topology", "/metrics", "/readyz", "/api/v1/watch", "/nope"] {
            let refused = try running.get(path)
            XCTAssertEqual(refused.status, 401, path)
            XCTAssertEqual(refused.headers["www-authenticate"], #"Bearer realm="topology""#, path)
            XCTAssertTrue(refused.text.contains("Authorization: Bearer"), refused.text)
        }
        let wrong = try running.get("/metrics", headers: "Authorization: Bearer nope\r\n")
        XCTAssertEqual(wrong.status, 401)
        XCTAssertEqual(wrong.headers["www-authenticate"], #"Bearer realm="topology", error="invalid_token""#)
        XCTAssertFalse(wrong.text.contains(Self.secret))

        let health = try running.get("/healthz")
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.text, "ok\n")

        XCTAssertEqual(try running.get("/readyz", headers: bearer).status, 200)
        XCTAssertEqual(try running.get("/api/v1/topology", headers: bearer).status, 200)
        let page = try running.get("/?access_token=\(Self.secret)")
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.headers["referrer-policy"], "no-referrer")
        XCTAssertTrue(page.text.contains("access_token"), "the page must pass its token on")
        XCTAssertEqual(try running.get("/api/v1/topology?access_token=\(Self.secret)").status, 200)

        // A 401 leaves a keep-alive connection usable for the next, authorized request.
        let keep = try running.http()
        keep.send("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try keep.response().status, 401)
        keep.send("GET /metrics HTTP/1.1\r\nHost: t\r\n\(bearer)\r\n")
        let metrics = try keep.response()
        XCTAssertEqual(metrics.status, 200)
        XCTAssertTrue(metrics.text.contains("topology_authentication_failures_total{listener=\"http\"} 8"), metrics.text)

        // The SSE stream with the query parameter, as the dashboard opens it.
        let sse = try running.http()
        sse.send("GET /api/v1/watch?access_token=\(Self.secret) HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(try sse.eventStreamHead().status, 200)
        XCTAssertTrue(try sse.event().data.contains("UPDATE_TYPE_SNAPSHOT"))

        for line in running.logLines.all {
            XCTAssertFalse(line.contains(Self.secret), "a log line holds the token: \(line)")
        }
        XCTAssertTrue(running.logLines.contains("http request unauthorized"))
    }

    /// A token presented twice (two headers, two parameters, or one of each) is refused with 400
    /// invalid_request (RFC 6750 sections 2 and 3.1), saying how, rather than settled by taking one.
    func testATokenPresentedMoreThanOnceIs400() throws {
        let running = try authServer()
        defer { running.stop() }
        let bearer = "Authorization: Bearer \(Self.secret)\r\n"
        let query = "access_token=\(Self.secret)"
        for (target, headers, says) in [
            ("/metrics", bearer + bearer, "2 Authorization headers"),
            ("/metrics", bearer + "Authorization: Bearer nope\r\n", "2 Authorization headers"),
            ("/metrics?\(query)&\(query)", "", "2 access_token parameters"),
            ("/api/v1/topology?access_token=nope&\(query)", "", "2 access_token parameters"),
            ("/metrics?\(query)", bearer, "an Authorization header and an access_token parameter"),
        ] {
            let response = try running.get(target, headers: headers)
            XCTAssertEqual(response.status, 400, target)
            XCTAssertEqual(response.headers["www-authenticate"], #"Bearer realm="topology", error="invalid_request""#, target)
            XCTAssertTrue(response.text.contains(says), response.text)
            XCTAssertFalse(response.text.contains(Self.secret))
        }
        XCTAssertEqual(try running.get("/metrics", headers: bearer).status, 200, "once is right")
    }
}
