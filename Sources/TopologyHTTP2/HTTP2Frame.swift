/// One HTTP/2 frame (RFC 9113 §4.1), its payload parsed. On the wire:
///
///     +-----------------------------------------------+
///     |                 Length (24)                   |   payload length, not counting these 9 bytes
///     +---------------+---------------+---------------+
///     |   Type (8)    |   Flags (8)   |
///     +-+-------------+---------------+-------------------------------+
///     |R|                 Stream Identifier (31)                      |   R: reserved, ignored
///     +=+=============================================================+
///     |                   Frame Payload (0...)                      ...
///     +---------------------------------------------------------------+
///
/// Padding (DATA, HEADERS, PUSH_PROMISE) is kept as a count only: flow control counts it (§6.1),
/// and a frame written back out with the same count has the same length.
struct HTTP2Frame: Equatable, Sendable {
    /// 0 for the connection's own frames (SETTINGS, PING, GOAWAY, WINDOW_UPDATE of the connection).
    var stream: UInt32
    var payload: Payload

    init(stream: UInt32, _ payload: Payload) {
        self.stream = stream
        self.payload = payload
    }

    static let headerSize = 9
    /// The frame size every endpoint must accept, and the default of SETTINGS_MAX_FRAME_SIZE (§4.2).
    static let defaultMaxFrameSize = 16_384
    /// The largest SETTINGS_MAX_FRAME_SIZE: the length field is 24 bits (§6.5.2).
    static let largestMaxFrameSize = (1 << 24) - 1

    /// The type octet on the wire.
    var typeCode: UInt8 {
        switch payload {
        case .data: HTTP2FrameType.data.rawValue
        case .headers: HTTP2FrameType.headers.rawValue
        case .priority: HTTP2FrameType.priority.rawValue
        case .rstStream: HTTP2FrameType.rstStream.rawValue
        case .settings, .settingsAck: HTTP2FrameType.settings.rawValue
        case .pushPromise: HTTP2FrameType.pushPromise.rawValue
        case .ping: HTTP2FrameType.ping.rawValue
        case .goAway: HTTP2FrameType.goAway.rawValue
        case .windowUpdate: HTTP2FrameType.windowUpdate.rawValue
        case .continuation: HTTP2FrameType.continuation.rawValue
        case let .unknown(type, _, _): type
        }
    }

    /// "a PING frame on stream 0", for error messages.
    var summary: String {
        "a \(HTTP2FrameType(rawValue: typeCode).map { "\($0)" } ?? "type \(typeCode)") frame on stream \(stream)"
    }

    enum Payload: Equatable, Sendable {
        /// `padding`: 0 when unpadded, else the Pad Length octet plus the padding octets.
        case data([UInt8], endStream: Bool, padding: Int = 0)
        case headers(HTTP2HeadersPayload)
        case priority(HTTP2Priority)
        /// The error code as sent: an unknown code is not an error (§7).
        case rstStream(errorCode: UInt32)
        case settings([HTTP2Setting])
        case settingsAck
        case pushPromise(promisedStream: UInt32, fieldBlock: [UInt8], endHeaders: Bool, padding: Int = 0)
        case ping(opaqueData: UInt64, ack: Bool)
        case goAway(lastStream: UInt32, errorCode: UInt32, debugData: [UInt8])
        case windowUpdate(increment: UInt32)
        case continuation(fieldBlock: [UInt8], endHeaders: Bool)
        /// A frame type this side does not know: §4.1 says to ignore and discard it.
        case unknown(type: UInt8, flags: UInt8, payload: [UInt8])
    }
}

/// A HEADERS frame's payload.
struct HTTP2HeadersPayload: Equatable, Sendable {
    /// The start of an HPACK field block; CONTINUATION frames carry the rest unless `endHeaders`.
    var fieldBlock: [UInt8]
    var endStream: Bool
    var endHeaders: Bool
    /// The PRIORITY flag's fields; deprecated by RFC 9113 §5.3.2 and only checked, never used.
    var priority: HTTP2Priority? = nil
    var padding: Int = 0
}

/// The stream priority fields of PRIORITY frames and of HEADERS with the PRIORITY flag (§6.3).
struct HTTP2Priority: Equatable, Sendable {
    var exclusive: Bool
    var dependency: UInt32
    /// The weight minus one, as on the wire.
    var weight: UInt8
}

/// One SETTINGS parameter (§6.5.1).
struct HTTP2Setting: Equatable, Sendable {
    var id: UInt16
    var value: UInt32

    init(_ id: UInt16, _ value: UInt32) {
        self.id = id
        self.value = value
    }

    static let headerTableSize: UInt16 = 0x1
    static let enablePush: UInt16 = 0x2
    static let maxConcurrentStreams: UInt16 = 0x3
    static let initialWindowSize: UInt16 = 0x4
    static let maxFrameSize: UInt16 = 0x5
    static let maxHeaderListSize: UInt16 = 0x6
}

/// Frame type codes (§6; §11.2 for the registry).
enum HTTP2FrameType: UInt8, CustomStringConvertible {
    case data = 0x0
    case headers = 0x1
    case priority = 0x2
    case rstStream = 0x3
    case settings = 0x4
    case pushPromise = 0x5
    case ping = 0x6
    case goAway = 0x7
    case windowUpdate = 0x8
    case continuation = 0x9

    /// The RFC's name, as error messages use it.
    var description: String {
        switch self {
        case .data: "DATA"
        case .headers: "HEADERS"
        case .priority: "PRIORITY"
        case .rstStream: "RST_STREAM"
        case .settings: "SETTINGS"
        case .pushPromise: "PUSH_PROMISE"
        case .ping: "PING"
        case .goAway: "GOAWAY"
        case .windowUpdate: "WINDOW_UPDATE"
        case .continuation: "CONTINUATION"
        }
    }
}

/// Frame flags: which bits mean what depends on the frame type (§6).
enum HTTP2Flags {
    static let endStream: UInt8 = 0x1
    static let ack: UInt8 = 0x1
    static let endHeaders: UInt8 = 0x4
    static let padded: UInt8 = 0x8
    static let priority: UInt8 = 0x20
}
