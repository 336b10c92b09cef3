/// The peer's SETTINGS (RFC 9113 §6.5.2) that matter to a server that sends responses, with their
/// defaults until the peer's first SETTINGS frame.
///
/// The others are read only to be checked: MAX_CONCURRENT_STREAMS (the server opens no streams),
/// MAX_HEADER_LIST_SIZE (advisory; responses are a few small fields). Unknown ids are ignored (§6.5.2).
struct HTTP2PeerSettings: Equatable {
    var initialWindowSize = HTTP2FlowWindow.defaultSize
    var maxFrameSize = HTTP2Frame.defaultMaxFrameSize
    /// The dynamic table size the peer's decoder holds this side's encoder to: the default 4,096
    /// until the encoder says 0. The encoder never uses the table, but when the peer's
    /// SETTINGS_HEADER_TABLE_SIZE goes below this size, RFC 7541 §4.2 wants the change signalled at
    /// the start of the next field block, and some decoders (nghttp2's) insist. The update says 0,
    /// which no limit is below, so it is owed at most once.
    var encoderTableSize = 4_096
    var owesTableSizeUpdate = false

    /// Applies a SETTINGS frame's values in order (§6.5.3); returns how much the initial window
    /// grew (negative: shrank), which every open stream's send window moves by (§6.9.2).
    mutating func apply(_ settings: [HTTP2Setting]) throws(HTTP2Violation) -> Int {
        let oldWindow = initialWindowSize
        for setting in settings {
            switch setting.id {
            case HTTP2Setting.enablePush where setting.value > 1:
                throw .connection(.protocolError, "SETTINGS_ENABLE_PUSH is \(setting.value); only 0 and 1 are allowed")
            case HTTP2Setting.initialWindowSize:
                guard setting.value <= UInt32(HTTP2FlowWindow.maxSize) else {
                    throw .connection(.flowControlError, "SETTINGS_INITIAL_WINDOW_SIZE is \(setting.value), over the largest window, 2^31-1")
                }
                initialWindowSize = Int(setting.value)
            case HTTP2Setting.headerTableSize where Int(setting.value) < encoderTableSize:
                owesTableSizeUpdate = true
            case HTTP2Setting.maxFrameSize:
                guard (HTTP2Frame.defaultMaxFrameSize...HTTP2Frame.largestMaxFrameSize).contains(Int(setting.value)) else {
                    throw .connection(.protocolError, "SETTINGS_MAX_FRAME_SIZE is \(setting.value); it must be between 16384 and 16777215")
                }
                maxFrameSize = Int(setting.value)
            default:
                break
            }
        }
        return initialWindowSize - oldWindow
    }
}
