/// Something the peer did that RFC 9113 forbids, and what it costs (§5.4): the whole connection
/// (GOAWAY, then close) or one stream (RST_STREAM; the connection goes on).
struct HTTP2Violation: Error, Equatable, Sendable, CustomStringConvertible {
    enum Scope: Equatable, Sendable {
        case connection
        case stream(UInt32)
    }

    var scope: Scope
    var code: HTTP2ErrorCode
    /// Says what was wrong in terms a person reading a client's log can act on; sent as GOAWAY's
    /// debug data.
    var message: String

    static func connection(_ code: HTTP2ErrorCode, _ message: String) -> HTTP2Violation {
        HTTP2Violation(scope: .connection, code: code, message: message)
    }

    static func stream(_ stream: UInt32, _ code: HTTP2ErrorCode, _ message: String) -> HTTP2Violation {
        HTTP2Violation(scope: .stream(stream), code: code, message: message)
    }

    var description: String {
        switch scope {
        case .connection: "connection error \(code): \(message)"
        case let .stream(stream): "stream \(stream) error \(code): \(message)"
        }
    }
}
