/// An HTTP status code and its reason phrase.
public struct HTTPStatus: Equatable, Hashable, Sendable {
    public var code: Int
    public var reason: String

    public static let ok = HTTPStatus(code: 200, reason: "OK")
    public static let badRequest = HTTPStatus(code: 400, reason: "Bad Request")
    public static let unauthorized = HTTPStatus(code: 401, reason: "Unauthorized")
    public static let notFound = HTTPStatus(code: 404, reason: "Not Found")
    public static let methodNotAllowed = HTTPStatus(code: 405, reason: "Method Not Allowed")
    public static let requestTimeout = HTTPStatus(code: 408, reason: "Request Timeout")
    public static let lengthRequired = HTTPStatus(code: 411, reason: "Length Required")
    public static let contentTooLarge = HTTPStatus(code: 413, reason: "Content Too Large")
    public static let unsupportedMediaType = HTTPStatus(code: 415, reason: "Unsupported Media Type")
    public static let tooManyRequests = HTTPStatus(code: 429, reason: "Too Many Requests")
    public static let requestHeaderFieldsTooLarge = HTTPStatus(code: 431, reason: "Request Header Fields Too Large")
    public static let internalServerError = HTTPStatus(code: 500, reason: "Internal Server Error")
    public static let serviceUnavailable = HTTPStatus(code: 503, reason: "Service Unavailable")
    public static let httpVersionNotSupported = HTTPStatus(code: 505, reason: "HTTP Version Not Supported")

    /// The reason phrase of a status code this server may send.
    static func reasonPhrase(_ code: Int) -> String {
        switch code {
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 409: "Conflict"
        case 415: "Unsupported Media Type"
        case 429: "Too Many Requests"
        case 499: "Client Closed Request"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: code < 500 ? "Client Error" : "Internal Server Error"
        }
    }
}

/// A complete response: status, headers and body. `serialize` writes the head with Content-Length
/// (and, for HEAD, no body).
public struct HTTPResponse {
    var status: HTTPStatus
    var headers: [(String, String)] = []
    var body: [UInt8] = []

    init(status: HTTPStatus, contentType: String, body: [UInt8], headers: [(String, String)] = []) {
        self.status = status
        self.headers = [("Content-Type", contentType)] + headers
        self.body = body
    }

    /// A one-line text body. Messages quote what the client sent (a path, a parameter), which may
    /// hold control characters once percent-decoded: they are escaped, never echoed raw.
    public static func text(_ status: HTTPStatus, _ text: String, headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "text/plain; charset=utf-8",
                     body: Array((ControlCharacters.escaped(text) + "\n").utf8), headers: headers)
    }

    static func json(_ utf8: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: .ok, contentType: "application/json", body: utf8, headers: [("Cache-Control", "no-store")])
    }

    /// Appends the response to `out`; `headOnly` for HEAD (same headers, no body).
    public func serialize(into out: inout [UInt8], keepAlive: Bool, headOnly: Bool) {
        var head = "HTTP/1.1 \(status.code) \(status.reason)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\n"
        head += keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n"
        head += "\r\n"
        out.append(contentsOf: head.utf8)
        if !headOnly { out.append(contentsOf: body) }
    }

    /// The head of a Server-Sent Events stream (no Content-Length: the stream ends with the connection).
    static func eventStreamHead(extraHeaders: String = "") -> [UInt8] {
        Array("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nConnection: close\r\nX-Accel-Buffering: no\r\n\(extraHeaders)\r\n".utf8)
    }
}
