/// A flow-control window (RFC 9113 §6.9): the bytes of DATA one side may still send. It never
/// exceeds 2^31-1; a send window may go below zero when the peer lowers
/// SETTINGS_INITIAL_WINDOW_SIZE under what is in flight (§6.9.2).
struct HTTP2FlowWindow: Equatable {
    static let maxSize = Int(Int32.max)
    /// The window every stream and the connection start with until SETTINGS say otherwise (§6.9.2).
    static let defaultSize = 65_535

    private(set) var size: Int

    init(_ size: Int) {
        self.size = size
    }

    /// Adds `delta` (negative to take bytes off); false, and the window unchanged, when the result
    /// would pass 2^31-1, which the peer must never cause (FLOW_CONTROL_ERROR, §6.9.1).
    mutating func adjust(by delta: Int) -> Bool {
        guard size + delta <= Self.maxSize else { return false }
        size += delta
        return true
    }
}
