/// What the connection tells the application, in the order the frames said it.
public enum HTTP2Event: Equatable, Sendable {
    /// A valid request head (RFC 9113 §8.1-§8.3 checked): a new stream. `endStream`: no body follows.
    case request(stream: UInt32, headers: [HeaderField], endStream: Bool)
    case data(stream: UInt32, bytes: [UInt8], endStream: Bool)
    /// The request ended without data: trailers, or an empty DATA frame with END_STREAM.
    case endStream(stream: UInt32)
    /// The stream is gone, reset by the peer or by the connection for a stream error: the
    /// application forgets it. Only for streams the application was told of.
    case streamReset(stream: UInt32, code: HTTP2ErrorCode)
    /// GOAWAY is written: the server writes `takeOutbound()` and closes the connection.
    case connectionError(code: HTTP2ErrorCode, message: String)
}
