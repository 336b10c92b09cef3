/// A stream's state as the server sees it (RFC 9113 §5.1). A server that never pushes has no
/// "reserved" states. Only the active states are stored; idle and closed streams are what the
/// connection finds when it looks an id up (see `HTTP2Connection.state(of:)`).
///
///                          +--------+
///                  recv H  |        |  recv H + ES
///              ,-----------|  idle  |-----------.
///             v            +--------+            v
///        +--------+  send ES            +-----------+
///        |  open  |---------------.     | half-     |
///        +--------+               |     | closed    |
///          | recv ES              v     | (remote)  |
///          |              +-----------+ +-----------+
///          v              | half-     |       | send ES
///     +-----------+       | closed    |       |
///     | half-     |       | (local)   |       |
///     | closed    |       +-----------+       |
///     | (remote)  |             | recv ES     v
///     +-----------+ ----------> +--------+ <--'
///         send ES               | closed |   (and from every state: send or recv RST_STREAM)
///                               +--------+
enum HTTP2StreamState: Equatable {
    case idle
    case open
    /// This side sent END_STREAM; the peer may still send.
    case halfClosedLocal
    /// The peer sent END_STREAM; this side may still send.
    case halfClosedRemote
    case closed(HTTP2CloseReason)

    /// The peer may send DATA and trailers.
    var peerMaySend: Bool { self == .open || self == .halfClosedLocal }
    /// This side may send HEADERS, DATA and trailers.
    var mayBeSentOn: Bool { self == .open || self == .halfClosedRemote }

    var afterReceivingEndStream: HTTP2StreamState {
        switch self {
        case .open: .halfClosedRemote
        case .halfClosedLocal: .closed(.finished)
        default: self
        }
    }

    var afterSendingEndStream: HTTP2StreamState {
        switch self {
        case .open: .halfClosedLocal
        case .halfClosedRemote: .closed(.finished)
        default: self
        }
    }
}

/// How a closed stream got there: it decides what a late frame on it means (§5.1).
enum HTTP2CloseReason: Equatable {
    /// END_STREAM both ways.
    case finished
    /// This side sent RST_STREAM: frames the peer had in flight are ignored.
    case resetHere
    /// The peer sent RST_STREAM: more frames from it are a stream error STREAM_CLOSED.
    case resetByPeer
    /// Below the highest id the peer opened, and not remembered: skipped by the peer (implicitly
    /// closed, §5.1.1) or closed long ago.
    case unknown
}
