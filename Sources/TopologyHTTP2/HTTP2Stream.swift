/// One open or half-closed stream: its state, its two windows, and what the application queued on
/// it that the windows have not let out yet.
struct HTTP2Stream {
    var state: HTTP2StreamState
    /// What the peer lets this side send (its SETTINGS_INITIAL_WINDOW_SIZE, then its WINDOW_UPDATEs).
    var sendWindow: HTTP2FlowWindow
    var receiveWindow: HTTP2FlowWindow
    /// DATA handed on since this stream's last WINDOW_UPDATE.
    var unacknowledgedBytes = 0
    /// The application was given the request: it is told when the stream goes away.
    var announced = true
    /// The request's content-length, which its DATA must add up to (RFC 9113 §8.1.1).
    var contentLength: Int?
    /// DATA payload received, padding not counted.
    var receivedLength = 0
    /// The response's HEADERS are written: DATA and trailers may follow.
    var headersSent = false
    /// DATA queued by the application; the first `sentOffset` bytes are written.
    private(set) var queue: [UInt8] = []
    private var sentOffset = 0
    /// END_STREAM goes on the last queued DATA (or an empty DATA frame after it).
    var endAfterQueue = false
    /// Sent after the queued DATA, with END_STREAM.
    var trailers: [HeaderField]?

    init(state: HTTP2StreamState, sendWindow: Int, receiveWindow: Int, contentLength: Int?) {
        self.state = state
        self.contentLength = contentLength
        self.sendWindow = HTTP2FlowWindow(sendWindow)
        self.receiveWindow = HTTP2FlowWindow(receiveWindow)
    }

    var queuedBytes: Int { queue.count - sentOffset }
    /// DATA, trailers or an END_STREAM still to write.
    var hasPendingOutput: Bool { queuedBytes > 0 || endAfterQueue || trailers != nil }
    /// The application said the stream ends (END_STREAM queued or sent): nothing more may be queued.
    var outputEnded: Bool { endAfterQueue || trailers != nil || !state.mayBeSentOn }

    /// §8.1.1: DATA past the content-length, or a request ending short of it, is malformed.
    func contentLengthProblem(_ id: UInt32, ended: Bool) -> String? {
        guard let contentLength, receivedLength > contentLength || (ended && receivedLength != contentLength) else { return nil }
        return "stream \(id) carries \(receivedLength)\(ended ? "" : " or more") bytes of DATA, not its content-length of \(contentLength) (§8.1.1)"
    }

    mutating func enqueue(_ bytes: [UInt8]) {
        // Into an empty queue the bytes become the queue: a reply of a million nodes is 134 MB,
        // which copying held the loop for.
        if queuedBytes == 0 {
            queue = bytes
            sentOffset = 0
            return
        }
        // Sent bytes are dropped once they are the larger part: copying stays amortized O(1) per byte.
        if sentOffset > 0 && sentOffset >= queue.count - sentOffset {
            queue.removeSubrange(0..<sentOffset)
            sentOffset = 0
        }
        queue += bytes
    }

    /// Takes up to `count` queued bytes for a DATA frame.
    mutating func dequeue(_ count: Int) -> [UInt8] {
        let chunk = Array(queue[sentOffset..<sentOffset + count])
        sentOffset += count
        if sentOffset == queue.count {
            queue = []
            sentOffset = 0
        }
        return chunk
    }
}
