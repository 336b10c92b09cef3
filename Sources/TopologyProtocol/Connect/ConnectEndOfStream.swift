import TopologyWire

/// The last message of a Connect streaming response: `{}` when the call succeeded,
/// `{"error":{"code":"…","message":"…"}}` when it failed. Always JSON, even in a `+proto` stream,
/// and always in an envelope with the end-of-stream flag (`ConnectEnvelope.endOfStream`).
/// Trailing metadata (`"metadata"`) is never sent; the server has none.
public struct ConnectEndOfStream: WireMessage {
    public static let protoMessageName = "connect.EndStreamResponse"

    public var error: ConnectError? = nil

    public init() {}

    /// The end of a call that ended with `status`: OK ends it without an error.
    public init(_ status: Status) {
        error = status.statusCode == .ok ? nil : ConnectError(status)
    }

    /// The envelope that ends a streaming response.
    public var envelope: [UInt8] {
        ConnectEnvelope.encode(flags: ConnectEnvelope.endOfStream, payload: jsonUTF8())
    }

    public func traverse<V: FieldVisitor>(_ visitor: inout V) {
        visitor.message(error, FieldID(1, "error"))
    }

    public mutating func decodeField(_ number: Int, _ decoder: inout BinaryDecoder) throws -> Bool {
        switch number {
        case 1: return try decoder.decode(&error)
        default: return false
        }
    }
}
