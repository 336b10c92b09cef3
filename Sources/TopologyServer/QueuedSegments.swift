/// Buffers queued whole ahead of an outbound queue's own buffer, written in order from the front.
/// A large encoded reply that comes while bytes are queued goes here with the bytes queued before
/// it (`OutboundQueue.append(encoded:)`): moved, not copied. Appending a 134 MB snapshot to the few
/// bytes queued before it took the loop 150 ms.
struct QueuedSegments {
    /// Smaller encoded replies are copied onto the queue: cheaper than a segment of their own.
    static let smallestMovedBytes = 64 * 1024

    /// Slices of the buffers: a partly written one is a slice of what is left (no copy either).
    private var segments: [ArraySlice<UInt8>] = []
    /// Bytes queued and not yet written.
    private(set) var byteCount = 0

    var isEmpty: Bool { segments.isEmpty }

    /// What to write next.
    var first: ArraySlice<UInt8>? { segments.first }

    mutating func append(_ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { return }
        segments.append(bytes)
        byteCount += bytes.count
    }

    /// `count` bytes of `first` were written.
    mutating func removeFirst(_ count: Int) {
        let front = segments[0]
        if count >= front.count {
            segments.removeFirst()
            if segments.isEmpty { segments = [] }  // a drained queue keeps no capacity
        } else {
            segments[0] = front[(front.startIndex + count)...]
        }
        byteCount -= min(count, front.count)
    }
}
