import Foundation
@testable import TopologyProtocol
@testable import TopologyServer
import TopologyWire
import XCTest

/// A token file in a fresh temporary directory, removed by `remove()`.
struct TokenFile {
    let directory: URL
    let path: String

    init(contents: String, name: String = "token") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("topology-auth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent(name).path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(contents.utf8), attributes: [.posixPermissions: 0o600]))
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

/// The token file, the constant-time comparison, the HTTP bearer check and the flag, without sockets.
final class AuthenticationTests: XCTestCase {
    static let secret = "0123456789abcdef-secret"

    func testTokenFileTrailingLineBreaksAreStrippedAndNothingElse() throws {
        for (contents, expected) in [(Self.secret, Self.secret), (Self.secret + "\n", Self.secret),
                                     (Self.secret + "\r\n", Self.secret), (Self.secret + "\n\n", Self.secret)] {
            let file = try TokenFile(contents: contents)
            defer { file.remove() }
            let token = try AuthToken.load(path: file.path)
            XCTAssertTrue(token.matches(expected), contents.debugDescription)
            XCTAssertFalse(token.matches(expected + "\n"))
        }
    }

    func testBadTokenFilesAreClearErrors() throws {
        let missing = "/nonexistent/topology/token"
        XCTAssertThrowsError(try AuthToken.load(path: missing)) { error in
            XCTAssertEqual(error as? AuthTokenError, .unreadable(path: missing, errno: ENOENT))
            XCTAssertEqual("\(error)", "--auth-token-file /nonexistent/topology/token: cannot read it: No such file or directory")
        }
        let cases: [(String, (String) -> AuthTokenError, String)] = [
            ("", { .empty(path: $0) }, "is empty"),
            ("\n", { .empty(path: $0) }, "is empty"),
            ("short-token\n", { .tooShort(path: $0, bytes: 11) }, "too short"),
            ("a token with spaces in it\n", { .invalidCharacter(path: $0, offset: 1) }, "byte 1 of the token"),
            ("0123456789abcdef\u{7F}", { .invalidCharacter(path: $0, offset: 16) }, "control character"),
            ("0123456789abcdé-x", { .invalidCharacter(path: $0, offset: 14) }, "not ASCII"),
            (String(repeating: "x", count: AuthToken.maximumBytes + 1), { .tooLong(path: $0) }, "more than 512 bytes"),
        ]
        for (contents, expected, phrase) in cases {
            let file = try TokenFile(contents: contents)
            defer { file.remove() }
            XCTAssertThrowsError(try AuthToken.load(path: file.path), contents.debugDescription) { error in
                XCTAssertEqual(error as? AuthTokenError, expected(file.path))
                XCTAssertTrue("\(error)".contains(phrase), "\(error)")
                XCTAssertTrue("\(error)".contains("openssl rand -hex 32"), "\(error)")
            }
        }
        let longest = try TokenFile(contents: String(repeating: "x", count: AuthToken.maximumBytes) + "\r\n")
        defer { longest.remove() }
        XCTAssertTrue(try AuthToken.load(path: longest.path).matches(String(repeating: "x", count: AuthToken.maximumBytes)))
        // A directory cannot be read as a token.
        XCTAssertThrowsError(try AuthToken.load(path: longest.directory.path)) { error in
            XCTAssertEqual(error as? AuthTokenError, .unreadable(path: longest.directory.path, errno: EISDIR))
        }
    }

    func testComparisonAcceptsOnlyTheExactToken() throws {
        let token = try XCTUnwrap(AuthToken(Self.secret))
        XCTAssertTrue(token.matches(Self.secret))
        for candidate in ["", String(Self.secret.dropLast()), Self.secret + "x", "1" + Self.secret.dropFirst(),
                          String(Self.secret.dropLast()) + "T", Self.secret.uppercased(), Self.secret + "\0",
                          String(repeating: "y", count: 10_000)] {
            XCTAssertFalse(token.matches(candidate), candidate.prefix(40).debugDescription)
        }
        XCTAssertNil(AuthToken("too-short"))
        XCTAssertNil(AuthToken(Self.secret + " "))
    }

    func testReadableByOthersIsNoticed() throws {
        let file = try TokenFile(contents: Self.secret)
        defer { file.remove() }
        XCTAssertFalse(AuthToken.isReadableByOthers(path: file.path))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        XCTAssertTrue(AuthToken.isReadableByOthers(path: file.path))
    }

    // MARK: - HTTP

    private func route(_ head: String, token: AuthToken?) throws -> HTTPRoute {
        var parser = HTTPRequestParser()
        parser.append(Array((head + "\r\nHost: t\r\n\r\n").utf8))
        return HTTPRouter.route(try XCTUnwrap(parser.next()), tokenMatches: token.map { token in { token.matches($0) } })
    }

    func testRouterRequiresTheBearerTokenEverywhereButHealthz() throws {
        let token = try XCTUnwrap(AuthToken(Self.secret))
        let secret = Self.secret
        // No credentials: 401 without an error code, for every path (unknown ones too) and method.
        for head in ["GET / HTTP/1.1", "GET /index.html HTTP/1.1", "GET /api/v1/topology HTTP/1.1", "GET /api/v1/watch HTTP/1.1",
                     "GET /metrics HTTP/1.1", "GET /readyz HTTP/1.1", "GET /nope HTTP/1.1", "POST /metrics HTTP/1.1",
                     "HEAD / HTTP/1.1"] {
            XCTAssertEqual(try route(head, token: token), .unauthorized(.missing), head)
        }
        XCTAssertEqual(try route("GET /healthz HTTP/1.1", token: token), .healthz)
        // Good credentials, in the header (any case of the scheme, extra spaces) or the query.
        XCTAssertEqual(try route("GET /metrics HTTP/1.1\r\nAuthorization: Bearer \(secret)", token: token), .metrics)
        XCTAssertEqual(try route("GET /metrics HTTP/1.1\r\nauthorization: bearer   \(secret)", token: token), .metrics)
        XCTAssertEqual(try route("GET /?access_token=\(secret) HTTP/1.1", token: token), .dashboard)
        XCTAssertEqual(try route("GET /api/v1/watch?access_token=\(secret)&last_event_id=e.3 HTTP/1.1", token: token),
                       .watch(TopologyQuery(), resume: SSEEventID(serverEpoch: "e", revision: 3)))
        var query = TopologyQuery()
        query.serviceNames = ["a"]
        XCTAssertEqual(try route("GET /api/v1/topology?service=a&access_token=\(secret) HTTP/1.1", token: token), .topology(query))
        // Percent-encoded in the query, as encodeURIComponent writes it.
        XCTAssertEqual(try route("GET /metrics?access_token=0123456789abcdef%2Dsecret HTTP/1.1", token: token), .metrics)
        // Wrong credentials: 401 invalid_token.
        for head in ["GET /metrics HTTP/1.1\r\nAuthorization: Bearer \(secret)x",
                     "GET /metrics HTTP/1.1\r\nAuthorization: Bearer",
                     "GET /metrics HTTP/1.1\r\nAuthorization: Basic \(secret)",
                     "GET /metrics HTTP/1.1\r\nAuthorization: \(secret)",
                     "GET /metrics?access_token=nope HTTP/1.1",
                     "GET /metrics?access_token= HTTP/1.1"] {
            XCTAssertEqual(try route(head, token: token), .unauthorized(.invalid), head)
        }
        // The token twice: 400, whether the copies agree or not, and whatever they are.
        for (head, how) in [("GET /metrics HTTP/1.1\r\nAuthorization: Bearer \(secret)\r\nAuthorization: Bearer \(secret)", "2 Authorization headers"),
                            ("GET /metrics?access_token=\(secret)&access_token=x&access_token=y HTTP/1.1", "3 access_token parameters"),
                            ("GET /metrics?access_token=\(secret) HTTP/1.1\r\nAuthorization: Bearer wrong", "an Authorization header and an access_token parameter")] {
            let route = try route(head, token: token)
            XCTAssertEqual(route, .unauthorized(.ambiguous(how)), head)
            guard case .unauthorized(let failure) = route else { continue }
            XCTAssertEqual(failure.status, .badRequest)
            XCTAssertTrue(failure.message.contains(how), failure.message)
        }
        // Then the usual routing: a 404 or 405 only for a client that holds the token.
        guard case .error(.notFound, _) = try route("GET /nope HTTP/1.1\r\nAuthorization: Bearer \(secret)", token: token) else {
            return XCTFail("404 expected")
        }
        // Without a configured token the parameter is ignored, not refused as unknown.
        XCTAssertEqual(try route("GET /api/v1/topology?access_token=anything HTTP/1.1", token: nil), .topology(TopologyQuery()))
        XCTAssertEqual(try route("GET /metrics HTTP/1.1", token: nil), .metrics)
    }

    func testUnauthorizedChallengesFollowRFC6750() {
        XCTAssertEqual(BearerAuthorization.Failure.missing.challenge, #"Bearer realm="topology""#)
        XCTAssertEqual(BearerAuthorization.Failure.invalid.challenge, #"Bearer realm="topology", error="invalid_token""#)
        XCTAssertTrue(BearerAuthorization.Failure.missing.message.contains("Authorization: Bearer"))
    }

    // MARK: - Command line

    func testAuthTokenFileFlagAndEnvironment() throws {
        func configuration(_ arguments: [String], _ environment: [String: String] = [:]) throws -> ServerConfiguration {
            guard case .run(let c) = try CommandLineOptions.parse(arguments, environment: environment) else {
                throw TestTimeout(description: "not a run action")
            }
            return c
        }
        XCTAssertNil(try configuration([]).authTokenFile)
        XCTAssertEqual(try configuration(["--auth-token-file", "/etc/topology/token"]).authTokenFile, "/etc/topology/token")
        XCTAssertEqual(try configuration([], ["TOPOLOGY_AUTH_TOKEN_FILE": "/run/secrets/t"]).authTokenFile, "/run/secrets/t")
        XCTAssertNil(try configuration(["--auth-token-file="], ["TOPOLOGY_AUTH_TOKEN_FILE": "/run/secrets/t"]).authTokenFile)
        guard case .help(let text) = try CommandLineOptions.parse(["--help"], environment: [:]) else { return XCTFail() }
        XCTAssertTrue(text.contains("--auth-token-file"), text)
    }
}
