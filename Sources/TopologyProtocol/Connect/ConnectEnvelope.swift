/// One message of a Connect streaming request or response (`application/connect+json`,
/// `application/connect+proto`): a flags byte, the payload's length as 4 bytes big-endian, then
/// the payload (connectrpc.com/docs/protocol, "Streaming-Request"):
///
/// ```
/// +-------+---------------------+----------------------+
/// | flags | length (uint32, BE) | payload (length bytes) |
/// +-------+---------------------+----------------------+
///   0x01 compressed, 0x02 end of stream
/// ```
public struct ConnectEnvelope: Equatable, Sendable {
    /// The payload is compressed with the stream's `Connect-Content-Encoding`.
    public static let compressed: UInt8 = 0x01
    /// The last envelope of a response: its payload is the end-of-stream JSON (`ConnectEndOfStream`).
    public static let endOfStream: UInt8 = 0x02
    /// Bytes before the payload.
    public static let prefixSize = 5

    public var flags: UInt8
    public var payload: [UInt8]

    public init(flags: UInt8, payload: [UInt8]) {
        self.flags = flags
        self.payload = payload
    }

    public var isCompressed: Bool { flags & Self.compressed != 0 }
    public var isEndOfStream: Bool { flags & Self.endOfStream != 0 }

    /// The envelope's bytes: prefix and payload.
    public static func encode(flags: UInt8, payload: some Collection<UInt8>) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(prefixSize + payload.count)
        append(flags: flags, payload: payload, to: &bytes)
        return bytes
    }

    /// Appends the envelope's bytes to `bytes`: many messages of one stream go out as one DATA run.
    public static func append(flags: UInt8, payload: some Collection<UInt8>, to bytes: inout [UInt8]) {
        precondition(payload.count <= Int(UInt32.max), "a Connect envelope holds at most 4 GiB")
        let length = UInt32(payload.count)
        bytes.append(flags)
        bytes.append(UInt8(length >> 24))
        bytes.append(UInt8(truncatingIfNeeded: length >> 16))
        bytes.append(UInt8(truncatingIfNeeded: length >> 8))
        bytes.append(UInt8(truncatingIfNeeded: length))
        bytes.append(contentsOf: payload)
    }
}
