import TopologyWire

/// The body of a Connect error: `{"code":"invalid_argument","message":"…"}` (connectrpc.com/docs/protocol,
/// "Error"). Written as a unary response's body with `ConnectErrorCode.httpStatus`, and inside a
/// streaming response's end-of-stream message.
///
/// A WireMessage for its JSON, as connect-go writes it from a protobuf message too: the proto3 JSON
/// writer then escapes the message, and leaves it out when empty, as the specification allows.
/// `details` are never sent; the server has none.
public struct ConnectError: WireMessage {
    public static let protoMessageName = "connect.error.v1.Error"

    public var code: String = ""
    public var message: String = ""

    public init() {}

    /// The Connect form of a failing Status.
    public init(_ status: Status) {
        code = ConnectErrorCode(status.statusCode).name
        message = status.message
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.string(code, FieldID(1, "code"))
        visitor.string(message, FieldID(2, "message"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&code)
        case 2: return try decoder.decode(&message)
        default: return false
        }
    }
}
