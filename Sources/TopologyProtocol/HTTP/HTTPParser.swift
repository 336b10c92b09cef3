/// An HTTP/1.x request as the router needs it: method, target split into path and query, version,
/// headers (names lowercased), and whether the connection stays open after the response.
struct HTTPRequest: Equatable {
    var method: String
    var target: String
    var path: String
    var query: [(String, String)]
    var minorVersion: Int
    var headers: [(name: String, value: String)]
    /// The body (POST only, by Content-Length, at most `HTTPLimits.maxBodyBytes`).
    var body: [UInt8] = []

    func header(_ name: String) -> String? { headers.first { $0.name == name }?.value }

    /// HTTP/1.1 keeps the connection unless `Connection: close`; HTTP/1.0 closes unless `keep-alive`.
    var keepAlive: Bool {
        let tokens = (header("connection") ?? "").lowercased().split(separator: ",").map { $0.trimmingCharacters(in: CharacterSetLite.whitespace) }
        if minorVersion >= 1 { return !tokens.contains("close") }
        return tokens.contains("keep-alive")
    }

    static func == (a: HTTPRequest, b: HTTPRequest) -> Bool {
        a.method == b.method && a.target == b.target && a.minorVersion == b.minorVersion && a.body == b.body
            && a.headers.map { "\($0.name):\($0.value)" } == b.headers.map { "\($0.name):\($0.value)" }
    }
}

/// Why a request cannot be served: the status to answer with and a line for people. The connection
/// is closed after the answer (the byte stream cannot be trusted any more).
struct HTTPParseError: Error, Equatable {
    var status: HTTPStatus
    var message: String
}

/// Limits of the request parser.
public struct HTTPLimits: Equatable, Sendable {
    /// Longest request line (method, target, version), without its CRLF. Over it: 431.
    public var maxRequestLineBytes: Int
    /// Most bytes of header lines together, CRLFs included. Over it: 431.
    public var maxHeaderBytes: Int
    /// Most header lines. Over it: 431.
    public var maxHeaderCount: Int
    /// Largest request body (POST, by Content-Length). Over it: 413, before the body is read.
    public var maxBodyBytes: Int
    /// Largest body of `POST /v1/traces` (`--otlp-max-body-bytes`): exporters batch hundreds of
    /// spans (the Python SDK 512, a Collector's batch processor 8,192), far over an API request.
    public var maxOTLPBodyBytes: Int

    public init(maxRequestLineBytes: Int = 8 * 1024, maxHeaderBytes: Int = 16 * 1024, maxHeaderCount: Int = 100,
                maxBodyBytes: Int = 256 * 1024, maxOTLPBodyBytes: Int = 4 * 1024 * 1024) {
        self.maxRequestLineBytes = maxRequestLineBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        self.maxOTLPBodyBytes = maxOTLPBodyBytes
    }

    /// The body bound of a request to `path`.
    func maxBodyBytes(forPath path: String) -> Int {
        path == "/v1/traces" ? max(maxBodyBytes, maxOTLPBodyBytes) : maxBodyBytes
    }
}

/// A sans-I/O HTTP/1.x request parser (as h11): `append` bytes as they arrive, then `next()` gives a
/// complete request, nil when more bytes are needed, or throws `HTTPParseError`. Only POST carries a
/// body, framed by Content-Length and at most `maxBodyBytes` (413 before it is read); a chunked body
/// gets 411 (send Content-Length), a body on any other method 413. An HTTP/1.1 request without a
/// Host field, or any request with two, is refused with 400. Pipelined requests are returned one by
/// one.
struct HTTPRequestParser {
    let limits: HTTPLimits
    private(set) var buffer: [UInt8] = []
    private var start = 0
    /// A request whose head is parsed and whose body of `length` bytes, from `start`, is arriving.
    private var pendingBody: (request: HTTPRequest, length: Int)?
    /// The pending request asked for `100 Continue` (curl does for bodies over 1 KiB), not yet sent.
    private var continueRequested = false

    init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
    }

    /// Bytes received and not yet consumed by a request.
    var bufferedBytes: Int { buffer.count - start }

    /// Adds received bytes. Consumed bytes are dropped once they are the larger part of the buffer,
    /// so a keep-alive client whose reads end mid-request holds at most about twice its pending
    /// bytes, at an amortized O(1) copying cost per byte.
    mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if start > 0 && start >= buffer.count - start {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    mutating func next() throws(HTTPParseError) -> HTTPRequest? {
        if let pending = pendingBody {
            guard buffer.count - start >= pending.length else { return nil }
            var request = pending.request
            request.body = Array(buffer[start..<(start + pending.length)])
            start += pending.length
            pendingBody = nil
            continueRequested = false
            return request
        }
        // Tolerate empty lines before a request (RFC 9112 section 2.2).
        while start + 1 < buffer.count, buffer[start] == 13, buffer[start + 1] == 10 { start += 2 }
        let end = buffer.count
        // The request line.
        guard let lineEnd = findLF(from: start, limit: limits.maxRequestLineBytes + 2) else {
            if end - start > limits.maxRequestLineBytes + 1 {
                throw HTTPParseError(status: .requestHeaderFieldsTooLarge,
                                     message: "request line longer than \(limits.maxRequestLineBytes) bytes")
            }
            return nil
        }
        let requestLine = try line(from: start, toLF: lineEnd)
        guard requestLine.count <= limits.maxRequestLineBytes else {
            throw HTTPParseError(status: .requestHeaderFieldsTooLarge, message: "request line longer than \(limits.maxRequestLineBytes) bytes")
        }
        // The header lines, up to the empty line.
        var headers: [(name: String, value: String)] = []
        var position = lineEnd + 1
        let headerStart = position
        while true {
            let budget = limits.maxHeaderBytes - (position - headerStart)
            guard let lf = findLF(from: position, limit: budget) else {
                if end - headerStart >= limits.maxHeaderBytes {
                    throw HTTPParseError(status: .requestHeaderFieldsTooLarge, message: "header fields longer than \(limits.maxHeaderBytes) bytes")
                }
                return nil
            }
            let text = try line(from: position, toLF: lf)
            position = lf + 1
            if text.isEmpty { break }
            guard headers.count < limits.maxHeaderCount else {
                throw HTTPParseError(status: .requestHeaderFieldsTooLarge, message: "more than \(limits.maxHeaderCount) header fields")
            }
            headers.append(try HTTPRequestParser.header(text))
        }
        var request = try HTTPRequestParser.requestLine(requestLine)
        request.headers = headers
        let bodyLength = try HTTPRequestParser.bodyLength(request, limit: limits.maxBodyBytes(forPath: request.path))
        try HTTPRequestParser.checkHost(request)
        start = position
        guard bodyLength > 0 else { return request }
        pendingBody = (request, bodyLength)
        continueRequested = request.header("expect")?.lowercased() == "100-continue"
        return try next()
    }

    /// Whether an interim `100 Continue` is owed now (once per request): the head asked for it and
    /// the body has not all arrived.
    mutating func takeContinueRequest() -> Bool {
        defer { continueRequested = false }
        return continueRequested && pendingBody != nil
    }

    /// The index of the next LF at or after `from`, looking at no more than `limit` bytes.
    private func findLF(from: Int, limit: Int) -> Int? {
        let stop = min(buffer.count, from + max(0, limit))
        var i = from
        while i < stop {
            if buffer[i] == 10 { return i }
            i += 1
        }
        return nil
    }

    /// The line before `lf` without its CR; a bare LF, a stray CR, NUL or a non-UTF-8 byte is a 400.
    private func line(from: Int, toLF lf: Int) throws(HTTPParseError) -> String {
        guard lf > from, buffer[lf - 1] == 13 else {
            throw HTTPParseError(status: .badRequest, message: "line ends with a bare LF; HTTP lines end with CRLF")
        }
        let bytes = buffer[from..<(lf - 1)]
        for byte in bytes where byte == 13 || byte == 0 || (byte < 32 && byte != 9) || byte == 127 {
            throw HTTPParseError(status: .badRequest, message: "control character in the request head")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw HTTPParseError(status: .badRequest, message: "request head is not valid UTF-8")
        }
        return text
    }

    private static let tokenCharacters = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)

    private static func isToken(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { tokenCharacters.contains($0) }
    }

    static func requestLine(_ text: String) throws(HTTPParseError) -> HTTPRequest {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, isToken(parts[0]), !parts[1].isEmpty else {
            throw HTTPParseError(status: .badRequest, message: "malformed request line; expected METHOD SP TARGET SP HTTP/1.1")
        }
        let version = parts[2]
        let minor: Int
        switch version {
        case "HTTP/1.1": minor = 1
        case "HTTP/1.0": minor = 0
        default:
            if version.hasPrefix("HTTP/"), version.count == 8 {
                throw HTTPParseError(status: .httpVersionNotSupported, message: "\(version) is not supported; use HTTP/1.1")
            }
            throw HTTPParseError(status: .badRequest, message: "malformed HTTP version '\(version)'")
        }
        let target = String(parts[1])
        guard target.hasPrefix("/") else {
            throw HTTPParseError(status: .badRequest, message: "request target must be an absolute path (origin-form)")
        }
        let pathPart: Substring
        let queryPart: Substring?
        if let q = target.firstIndex(of: "?") {
            pathPart = target[..<q]
            queryPart = target[target.index(after: q)...]
        } else {
            pathPart = Substring(target)
            queryPart = nil
        }
        let fragmentless = queryPart.map { $0.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "" }
        guard let path = percentDecode(pathPart, plusIsSpace: false) else {
            throw HTTPParseError(status: .badRequest, message: "malformed percent-encoding in the path")
        }
        var query: [(String, String)] = []
        if let fragmentless, !fragmentless.isEmpty {
            for pair in fragmentless.split(separator: "&", omittingEmptySubsequences: true) {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard let key = percentDecode(kv[0], plusIsSpace: true),
                      let value = percentDecode(kv.count > 1 ? kv[1] : "", plusIsSpace: true) else {
                    throw HTTPParseError(status: .badRequest, message: "malformed percent-encoding in the query")
                }
                query.append((key, value))
            }
        }
        return HTTPRequest(method: String(parts[0]), target: target, path: path, query: query, minorVersion: minor, headers: [])
    }

    static func header(_ text: String) throws(HTTPParseError) -> (name: String, value: String) {
        if text.first == " " || text.first == "\t" {
            throw HTTPParseError(status: .badRequest, message: "obsolete header line folding is not accepted")
        }
        guard let colon = text.firstIndex(of: ":"), isToken(text[..<colon]) else {
            throw HTTPParseError(status: .badRequest, message: "malformed header field; expected NAME: VALUE")
        }
        let value = text[text.index(after: colon)...].trimmingCharacters(in: CharacterSetLite.whitespace)
        return (text[..<colon].lowercased(), value)
    }

    /// The length of the request's body: by Content-Length, POST only, within `limit`; refused
    /// before a byte of it is read otherwise (a length that cannot be trusted ends the connection).
    static func bodyLength(_ request: HTTPRequest, limit: Int) throws(HTTPParseError) -> Int {
        if request.headers.contains(where: { $0.name == "transfer-encoding" }) {
            guard request.method == "POST" else {
                throw HTTPParseError(status: .contentTooLarge, message: "request bodies are accepted only with POST (Transfer-Encoding)")
            }
            throw HTTPParseError(status: .lengthRequired, message: "chunked request bodies are not accepted: send the body with Content-Length")
        }
        let lengths = request.headers.filter { $0.name == "content-length" }.map(\.value)
        guard let first = lengths.first else { return 0 }
        guard lengths.allSatisfy({ $0 == first }), !first.isEmpty, first.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            throw HTTPParseError(status: .badRequest, message: "malformed Content-Length")
        }
        let digits = first.drop { $0 == "0" }
        if digits.isEmpty { return 0 }
        guard request.method == "POST" else {
            throw HTTPParseError(status: .contentTooLarge, message: "request bodies are accepted only with POST (Content-Length \(first.prefix(20)))")
        }
        guard digits.count <= 18, let length = Int(digits), length <= limit else {
            throw HTTPParseError(status: .contentTooLarge, message: "request body of \(digits.prefix(20)) bytes is over the limit of \(limit) bytes")
        }
        return length
    }

    /// RFC 9112 section 3.2: an HTTP/1.1 request carries exactly one Host field, and no request
    /// carries two (which one would count is ambiguous between this server and a proxy in front).
    static func checkHost(_ request: HTTPRequest) throws(HTTPParseError) {
        let hosts = request.headers.count { $0.name == "host" }
        if hosts > 1 {
            throw HTTPParseError(status: .badRequest, message: "\(hosts) Host header fields; a request carries exactly one (RFC 9112 section 3.2)")
        }
        if hosts == 0 && request.minorVersion >= 1 {
            throw HTTPParseError(status: .badRequest, message: "no Host header field; an HTTP/1.1 request must carry one (RFC 9112 section 3.2)")
        }
    }

    /// `%XX` decoding (and `+` as space in queries); nil for a bad escape or non-UTF-8 result.
    static func percentDecode(_ text: Substring, plusIsSpace: Bool) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        func hex(_ c: UInt8?) -> UInt8? {
            guard let c else { return nil }
            switch c {
            case 48...57: return c - 48
            case 65...70: return c - 55
            case 97...102: return c - 87
            default: return nil
            }
        }
        while let c = iterator.next() {
            if c == 37 {
                guard let hi = hex(iterator.next()), let lo = hex(iterator.next()) else { return nil }
                bytes.append(hi << 4 | lo)
            } else if c == 43 && plusIsSpace {
                bytes.append(32)
            } else {
                bytes.append(c)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

/// Whitespace for trimming without Foundation's CharacterSet on the hot path.
enum CharacterSetLite {
    static let whitespace: Set<Character> = [" ", "\t"]
}

extension StringProtocol {
    func trimmingCharacters(in set: Set<Character>) -> String {
        guard let first = firstIndex(where: { !set.contains($0) }) else { return "" }
        let last = lastIndex(where: { !set.contains($0) })!
        return String(self[first...last])
    }
}
