@testable import TopologyProtocol
import TopologyWire
import XCTest

/// The HTTP request parser and the router, without sockets: every malformed request and every limit.
final class HTTPParserTests: XCTestCase {
    private func parse(_ text: String, limits: HTTPLimits = HTTPLimits()) throws -> HTTPRequest? {
        var parser = HTTPRequestParser(limits: limits)
        parser.append(Array(text.utf8))
        return try parser.next()
    }

    private func assertRefused(_ text: String, _ status: HTTPStatus, limits: HTTPLimits = HTTPLimits(),
                               file: StaticString = #filePath, line: UInt = #line) {
        var parser = HTTPRequestParser(limits: limits)
        parser.append(Array(text.utf8))
        do {
            let request = try parser.next()
            XCTFail("accepted: \(String(describing: request))", file: file, line: line)
        } catch {
            XCTAssertEqual(error.status, status, error.message, file: file, line: line)
            XCTAssertFalse(error.message.isEmpty, file: file, line: line)
        }
    }

    private let simple = "GET /api/v1/topology?service=a%20b&state=active HTTP/1.1\r\nHost: x\r\nLast-Event-ID: e.4\r\n\r\n"

    func testAllAtOnceByteByByteAndPipelined() throws {
        let whole = try XCTUnwrap(parse(simple))
        XCTAssertEqual(whole.method, "GET")
        XCTAssertEqual(whole.path, "/api/v1/topology")
        XCTAssertEqual(whole.query.map { "\($0.0)=\($0.1)" }, ["service=a b", "state=active"])
        XCTAssertEqual(whole.minorVersion, 1)
        XCTAssertEqual(whole.header("host"), "x")
        XCTAssertEqual(whole.header("last-event-id"), "e.4")

        var parser = HTTPRequestParser()
        let bytes = Array(simple.utf8)
        for (index, byte) in bytes.enumerated() {
            parser.append([byte])
            let request = try parser.next()
            if index < bytes.count - 1 { XCTAssertNil(request, "complete after \(index + 1) bytes") } else { XCTAssertEqual(request, whole) }
        }
        XCTAssertEqual(parser.bufferedBytes, 0)

        var pipelined = HTTPRequestParser()
        pipelined.append(Array((simple + "HEAD / HTTP/1.0\r\n\r\n" + simple).utf8))
        XCTAssertEqual(try pipelined.next(), whole)
        XCTAssertEqual(try pipelined.next()?.method, "HEAD")
        XCTAssertEqual(try pipelined.next(), whole)
        XCTAssertNil(try pipelined.next())
    }

    /// A keep-alive client whose every read ends inside a request: the parser drops what it has
    /// consumed, so its buffer stays a few requests long however many requests the connection makes.
    func testBufferStaysBoundedWhenReadsAlwaysEndMidRequest() throws {
        var parser = HTTPRequestParser()
        let requests = (0..<2_000).map { Array("GET /api/v1/topology?n=\(10_000 + $0) HTTP/1.1\r\nHost: x\r\n\r\n".utf8) }
        let size = requests[0].count
        var parsed = 0
        var largest = 0
        // Each read: the second half of one request and the first half of the next.
        parser.append(requests[0][..<(size / 2)])
        for index in requests.indices {
            var read = Array(requests[index][(size / 2)...])
            if index + 1 < requests.count { read += requests[index + 1][..<(size / 2)] }
            parser.append(read)
            largest = max(largest, parser.buffer.count)
            while let request = try parser.next() {
                XCTAssertEqual(request.query.first?.1, String(10_000 + parsed))
                parsed += 1
            }
            XCTAssertEqual(parser.bufferedBytes, index + 1 < requests.count ? size / 2 : 0)
        }
        XCTAssertEqual(parsed, requests.count)
        XCTAssertLessThanOrEqual(largest, 4 * size, "the buffer grew with the connection's life")
    }

    func testKeepAliveRules() throws {
        XCTAssertTrue(try XCTUnwrap(parse("GET / HTTP/1.1\r\nHost: t\r\n\r\n")).keepAlive)
        XCTAssertFalse(try XCTUnwrap(parse("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")).keepAlive)
        XCTAssertFalse(try XCTUnwrap(parse("GET / HTTP/1.0\r\n\r\n")).keepAlive)
        XCTAssertTrue(try XCTUnwrap(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")).keepAlive)
    }

    func testLeadingEmptyLinesAndHeaderWhitespaceAreTolerated() throws {
        let request = try XCTUnwrap(parse("\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\nX-A:   padded \t\r\nContent-Length: 0\r\n\r\n"))
        XCTAssertEqual(request.header("x-a"), "padded")
    }

    func testMalformedRequestsAre400() {
        let cases = [
            "GET /\r\n\r\n",                                                               // two parts
            "GET / HTTP/1.1 extra\r\n\r\n",                                                // four parts
            "GET  / HTTP/1.1\r\nHost: t\r\n\r\n",                                          // double space
            " / HTTP/1.1\r\nHost: t\r\n\r\n",                                              // empty method
            "G(T / HTTP/1.1\r\nHost: t\r\n\r\n",                                           // method not a token
            "GET http://example.com/ HTTP/1.1\r\nHost: t\r\n\r\n",                         // absolute-form target
            "GET * HTTP/1.1\r\nHost: t\r\n\r\n",                                           // asterisk-form
            "GET / FOO/1.1\r\n\r\n",                                                       // not HTTP
            "GET / HTTP/1\r\n\r\n",                                                        // malformed version
            "GET / HTTP/1.1\n\n",                                                          // bare LF
            "GET / HTTP/1.1\r\nHost: x\n\r\n",                                             // bare LF in a header
            "GET /\u{01} HTTP/1.1\r\nHost: t\r\n\r\n",                                     // control character
            "GET / HTTP/1.1\r\nHost: t\r\nX: a\rb\r\n\r\n",                                // stray CR
            "GET / HTTP/1.1\r\nHost: t\r\nX: a\u{0}b\r\n\r\n",                             // NUL
            "GET / HTTP/1.1\r\nHost: t\r\nNoColon\r\n\r\n",                                // header without a colon
            "GET / HTTP/1.1\r\nHost : x\r\n\r\n",                                          // space before the colon
            "GET / HTTP/1.1\r\nHost: t\r\n: x\r\n\r\n",                                    // empty header name
            "GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n folded\r\n\r\n",                        // obsolete line folding
            "GET /%zz HTTP/1.1\r\nHost: t\r\n\r\n",                                        // bad escape in the path
            "GET /?a=%4 HTTP/1.1\r\nHost: t\r\n\r\n",                                      // truncated escape in the query
            "GET /%ff HTTP/1.1\r\nHost: t\r\n\r\n",                                        // escape decoding to invalid UTF-8
            "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n",                    // non-numeric length
            "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n",                     // negative length
            "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\n", // conflicting lengths
        ]
        for text in cases { assertRefused(text, .badRequest) }
        var parser = HTTPRequestParser()
        parser.append([0x47, 0x45, 0x54, 0x20, 0x2F, 0xC3, 0x28, 0x20] + Array("HTTP/1.1\r\nHost: t\r\n\r\n".utf8))  // invalid UTF-8
        XCTAssertThrowsError(try parser.next()) { XCTAssertEqual(($0 as? HTTPParseError)?.status, .badRequest) }
    }

    /// RFC 9112 section 3.2: an HTTP/1.1 request without Host, or any request with two, is a 400.
    func testHostIsRequiredOnceInHTTP11AndNeverTwice() throws {
        for (text, says) in [("GET / HTTP/1.1\r\n\r\n", "no Host header field"),
                             ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "2 Host header fields"),
                             ("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", "2 Host header fields"),
                             ("GET / HTTP/1.0\r\nHost: a\r\nHOST: b\r\n\r\n", "2 Host header fields")] {
            var parser = HTTPRequestParser()
            parser.append(Array(text.utf8))
            XCTAssertThrowsError(try parser.next(), text.debugDescription) {
                let error = $0 as? HTTPParseError
                XCTAssertEqual(error?.status, .badRequest)
                XCTAssertTrue(error?.message.contains(says) ?? false, "\(String(describing: error))")
            }
        }
        // HTTP/1.0 predates Host: served without one.
        XCTAssertEqual(try parse("GET / HTTP/1.0\r\n\r\n")?.header("host"), nil)
        XCTAssertEqual(try parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n")?.header("host"), "a")
    }

    func testOtherVersionsAre505() {
        assertRefused("GET / HTTP/2.0\r\n\r\n", .httpVersionNotSupported)
        assertRefused("GET / HTTP/1.2\r\n\r\n", .httpVersionNotSupported)
    }

    func testBodiesAre413BeforeTheyAreRead() {
        assertRefused("GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n", .contentTooLarge)
        assertRefused("GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n", .contentTooLarge)
        assertRefused("GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n", .contentTooLarge)
        XCTAssertNotNil(try parse("GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"))
        XCTAssertNotNil(try parse("GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 000\r\n\r\n"))
    }

    func testPostBodiesAreReadByContentLengthWholeOrByteByByteAndPipelined() throws {
        let text = "POST /register HTTP/1.1\r\nHost: t\r\nContent-Length: 7\r\n\r\n{\"a\":1}GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
        for chunk in [text.utf8.count, 1, 5] {
            var parser = HTTPRequestParser()
            var requests: [HTTPRequest] = []
            let bytes = Array(text.utf8)
            var index = 0
            while index < bytes.count {
                parser.append(bytes[index..<min(index + chunk, bytes.count)])
                index += chunk
                while let request = try parser.next() { requests.append(request) }
            }
            XCTAssertEqual(requests.map(\.method), ["POST", "GET"], "chunk \(chunk)")
            XCTAssertEqual(requests.first?.body, Array(#"{"a":1}"#.utf8))
            XCTAssertEqual(requests.last?.body, [])
            XCTAssertEqual(parser.bufferedBytes, 0)
        }
    }

    func testBodyLimitsAndFramingAreRefusedBeforeTheBodyIsRead() {
        let limits = HTTPLimits(maxBodyBytes: 10)
        XCTAssertNotNil(try parse("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789", limits: limits))
        assertRefused("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n", .contentTooLarge, limits: limits)
        assertRefused("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n", .contentTooLarge)
        assertRefused("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", .lengthRequired)
        assertRefused("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", .badRequest)
        // Incomplete: waits, and owes a 100 Continue once when asked for one.
        var parser = HTTPRequestParser()
        parser.append(Array("POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nab".utf8))
        XCTAssertNil(try parser.next())
        XCTAssertTrue(parser.takeContinueRequest())
        XCTAssertFalse(parser.takeContinueRequest(), "owed once")
        parser.append(Array("cd".utf8))
        XCTAssertEqual(try parser.next()?.body, Array("abcd".utf8))
    }

    func testRequestLineLimitIs431AtOnceAndExactLimitPasses() throws {
        let limits = HTTPLimits(maxRequestLineBytes: 64, maxHeaderBytes: 128, maxHeaderCount: 4)
        let atLimit = "GET /" + String(repeating: "a", count: 64 - "GET / HTTP/1.1".count) + " HTTP/1.1"
        XCTAssertEqual(atLimit.utf8.count, 64)
        XCTAssertNotNil(try parse(atLimit + "\r\nHost: t\r\n\r\n", limits: limits))
        assertRefused("GET /a" + atLimit.dropFirst(5) + "\r\n\r\n", .requestHeaderFieldsTooLarge, limits: limits)
        // No line end yet, but already over the limit: refused without waiting for more.
        assertRefused("GET /" + String(repeating: "b", count: 100), .requestHeaderFieldsTooLarge, limits: limits)
        // Under the limit without a line end: wait.
        XCTAssertNil(try parse("GET /" + String(repeating: "b", count: 50), limits: limits))
    }

    func testHeaderBytesAndCountLimitsAre431() throws {
        let limits = HTTPLimits(maxRequestLineBytes: 64, maxHeaderBytes: 128, maxHeaderCount: 4)
        // HTTP/1.0, which needs no Host field: every header byte and line is the test's.
        // 128 bytes of header lines, CRLFs and the final empty line included: accepted.
        let value = String(repeating: "v", count: 128 - "X: \r\n\r\n".utf8.count)
        XCTAssertNotNil(try parse("GET / HTTP/1.0\r\nX: \(value)\r\n\r\n", limits: limits))
        assertRefused("GET / HTTP/1.0\r\nX: \(value)v\r\n\r\n", .requestHeaderFieldsTooLarge, limits: limits)
        assertRefused("GET / HTTP/1.0\r\nX: " + String(repeating: "v", count: 200), .requestHeaderFieldsTooLarge, limits: limits)
        XCTAssertNil(try parse("GET / HTTP/1.0\r\nX: " + String(repeating: "v", count: 100), limits: limits))
        let four = (1...4).map { "H\($0): x\r\n" }.joined()
        XCTAssertNotNil(try parse("GET / HTTP/1.0\r\n\(four)\r\n", limits: limits))
        assertRefused("GET / HTTP/1.0\r\n\(four)H5: x\r\n\r\n", .requestHeaderFieldsTooLarge, limits: limits)
    }

    // MARK: - Router

    func route(_ text: String, token: String? = nil) throws -> HTTPRoute {
        HTTPRouter.route(try XCTUnwrap(parse(text)), tokenMatches: token.map { token in { $0 == token } })
    }

    func testRoutes() throws {
        XCTAssertEqual(try route("GET / HTTP/1.1\r\nHost: t\r\n\r\n"), .dashboard)
        XCTAssertEqual(try route("HEAD /index.html HTTP/1.1\r\nHost: t\r\n\r\n"), .dashboard)
        XCTAssertEqual(try route("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"), .metrics)
        XCTAssertEqual(try route("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"), .healthz)
        XCTAssertEqual(try route("GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n"), .readyz)
        XCTAssertEqual(try route("GET /api/v1/topology HTTP/1.1\r\nHost: t\r\n\r\n"), .topology(TopologyQuery()))
        XCTAssertEqual(try route("GET /api/v1/watch HTTP/1.1\r\nHost: t\r\n\r\n"), .watch(TopologyQuery(), resume: nil))
        guard case .error(.notFound, _) = try route("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n") else { return XCTFail("404 expected") }
        guard case .error(.notFound, _) = try route("POST /nope HTTP/1.1\r\nHost: t\r\n\r\n") else { return XCTFail("404 expected") }
        for method in ["POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "get"] {
            guard case .error(.methodNotAllowed, _) = try route("\(method) /metrics HTTP/1.1\r\nHost: t\r\n\r\n") else {
                return XCTFail("405 expected for \(method)")
            }
        }
    }

    func testQueryFilters() throws {
        var expected = TopologyQuery()
        expected.serviceNames = ["a", "b", "c"]
        expected.states = [.active, .stale, .idle]
        expected.environments = ["prod"]
        expected.teams = ["t"]
        expected.regions = ["eu"]
        XCTAssertEqual(try route("GET /api/v1/topology?service=a,b&service=c&state=active,SERVICE_STATE_STALE&state=Idle&environment=prod&team=t&region=eu HTTP/1.1\r\nHost: t\r\n\r\n"),
                       .topology(expected))
        guard case .error(.badRequest, let message) = try route("GET /api/v1/topology?state=sleepy HTTP/1.1\r\nHost: t\r\n\r\n") else { return XCTFail("400 expected") }
        XCTAssertTrue(message.contains("sleepy"), message)
        guard case .error(.badRequest, _) = try route("GET /api/v1/topology?state=unspecified HTTP/1.1\r\nHost: t\r\n\r\n") else { return XCTFail("400 expected") }
        guard case .error(.badRequest, let unknown) = try route("GET /api/v1/watch?colour=red HTTP/1.1\r\nHost: t\r\n\r\n") else { return XCTFail("400 expected") }
        XCTAssertTrue(unknown.contains("colour"), unknown)
    }

    func testResumePointFromLastEventIDHeaderOrQuery() throws {
        XCTAssertEqual(try route("GET /api/v1/watch HTTP/1.1\r\nHost: t\r\nLast-Event-ID: abc123.42\r\n\r\n"),
                       .watch(TopologyQuery(), resume: SSEEventID(serverEpoch: "abc123", revision: 42)))
        XCTAssertEqual(try route("GET /api/v1/watch?last_event_id=abc123.7 HTTP/1.1\r\nHost: t\r\n\r\n"),
                       .watch(TopologyQuery(), resume: SSEEventID(serverEpoch: "abc123", revision: 7)))
        // The header wins over the query parameter (EventSource sends the header on its reconnects).
        XCTAssertEqual(try route("GET /api/v1/watch?last_event_id=abc123.7 HTTP/1.1\r\nHost: t\r\nLast-Event-ID: abc123.9\r\n\r\n"),
                       .watch(TopologyQuery(), resume: SSEEventID(serverEpoch: "abc123", revision: 9)))
        // An id that does not parse is still a resume, from an epoch no server has: a resync.
        guard case .watch(_, let garbage?) = try route("GET /api/v1/watch HTTP/1.1\r\nHost: t\r\nLast-Event-ID: 17\r\n\r\n") else { return XCTFail() }
        XCTAssertTrue(garbage.serverEpoch.hasPrefix("unparsable:"))
        XCTAssertEqual(SSEEventID(parsing: "a.b.5"), SSEEventID(serverEpoch: "a.b", revision: 5))
    }

    func testSSEEventFraming() {
        var out: [UInt8] = []
        EventStreamEncoder.appendEvent(revision: 12, json: Array("{\"a\":1}".utf8), epoch: "ep", to: &out)
        EventStreamEncoder.appendEvent(revision: 13, json: Array("{\n\"b\":2}".utf8), epoch: "ep", to: &out)
        EventStreamEncoder.appendComment("keep-alive", to: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self),
                       "id: ep.12\ndata: {\"a\":1}\n\nid: ep.13\ndata: {\ndata: \"b\":2}\n\n: keep-alive\n\n")
    }

    func testResponseSerializationHasContentLengthAndHeadHasNoBody() {
        var out: [UInt8] = []
        HTTPResponse.text(.notFound, "nope").serialize(into: &out, keepAlive: true, headOnly: false)
        XCTAssertEqual(String(decoding: out, as: UTF8.self),
                       "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nnope\n")
        out = []
        HTTPResponse.text(.ok, "ok").serialize(into: &out, keepAlive: false, headOnly: true)
        XCTAssertEqual(String(decoding: out, as: UTF8.self),
                       "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\nConnection: close\r\n\r\n")
        // A message quoting a decoded path: its control characters escaped, not echoed.
        XCTAssertEqual(HTTPResponse.text(.notFound, "no such resource: /a\u{0}\u{1B}[2J\r\nb\u{7F}").body,
                       Array(#"no such resource: /a\x00\x1b[2J\r\nb\x7f"#.utf8) + [0x0A])
    }
}
