// Authenticate (unary): a Topology addition, the handshake of a server run with --auth-token-file.

/// A connection's proof that it may use the server: the first frame of every connection when the
/// server requires a token. A wrong token, or any other request first, is answered with Status
/// UNAUTHENTICATED on call 0 and the connection is closed (docs/protocol.md).
public struct AuthenticateRequest: WireMessage {
    public static let protoMessageName = "runtime.v1.AuthenticateRequest"

    /// The shared secret, exactly as in the server's token file (without its trailing newline).
    public var token: String = ""

    public init() {}

    public init(token: String) {
        self.token = token
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.string(token, FieldID(1, "token"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&token)
        default: return false
        }
    }
}

/// The answer to a good `AuthenticateRequest` (a bad one gets only the UNAUTHENTICATED frame on
/// call 0). A server that requires no token answers every request with `authenticated` true.
public struct AuthenticateResponse: WireMessage {
    public static let protoMessageName = "runtime.v1.AuthenticateResponse"

    public var authenticated: Bool = false

    public init() {}

    public init(authenticated: Bool) {
        self.authenticated = authenticated
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.bool(authenticated, FieldID(1, "authenticated"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&authenticated)
        default: return false
        }
    }
}
