/// The most recently closed streams and how each closed, at most `capacity` of them: the memory a
/// connection keeps of closed streams stays bounded however many streams a peer opens.
struct HTTP2ClosedStreams {
    let capacity: Int
    private var reasons: [UInt32: HTTP2CloseReason] = [:]
    /// Ids in the order they closed; the oldest is forgotten first.
    private var order: [UInt32] = []
    private var oldest = 0

    init(capacity: Int) {
        precondition(capacity > 0, "remember at least one closed stream")
        self.capacity = capacity
    }

    func reason(_ stream: UInt32) -> HTTP2CloseReason? { reasons[stream] }

    /// Streams remembered: never more than `capacity`.
    var count: Int { reasons.count }

    mutating func record(_ stream: UInt32, _ reason: HTTP2CloseReason) {
        if reasons.updateValue(reason, forKey: stream) != nil { return }
        if order.count < capacity {
            order.append(stream)
            return
        }
        reasons[order[oldest]] = nil
        order[oldest] = stream
        oldest = (oldest + 1) % capacity
    }
}
