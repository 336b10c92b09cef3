/// Buffers queued whole ahead of an outbound queue's own buffer, written in order from the front.
/// A large encoded reply that comes while bytes are queued goes here with the bytes queued before
/// it (`OutboundQueue.append(encoded:)`): moved, not copied. Appending a 134 MB snapshot to the few
/// bytes queued before it took the loop 150 ms.
struct QueuedSegments {
    /// Smaller encoded replies are copied onto the queue: cheaper than a segment of their own.
    static let smallestMovedBytes = 64 * 1024

    /// Buffers at least this large are freed off the loop once written (`OutboundQueue.writeQueued`):
    /// freeing a 450 MB JSON snapshot took 39-76 ms (its pages unmapped), a 134 MB one 8-9 ms.
    static let releasedOffLoopBytes = 8 << 20

    /// Slices of the buffers: a partly written one is a slice of what is left (no copy either).
    private var segments: [ArraySlice<UInt8>] = []
    /// Whether each segment's buffer is large enough to be freed off the loop (known when it came:
    /// a slice does not say how large its buffer is).
    private var large: [Bool] = []
    /// Bytes queued and not yet written.
    private(set) var byteCount = 0

    var isEmpty: Bool { segments.isEmpty }

    /// What to write next.
    var first: ArraySlice<UInt8>? { segments.first }

    mutating func append(_ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { return }
        segments.append(bytes)
        large.append(bytes.count >= Self.releasedOffLoopBytes)
        byteCount += bytes.count
    }

    /// `count` bytes of `first` were written. Returns the segment if that was all of it and its
    /// buffer is large: the caller frees it off the loop.
    @discardableResult
    mutating func removeFirst(_ count: Int) -> ArraySlice<UInt8>? {
        let front = segments[0]
        byteCount -= min(count, front.count)
        guard count >= front.count else {
            segments[0] = front[(front.startIndex + count)...]
            return nil
        }
        segments.removeFirst()
        let wasLarge = large.removeFirst()
        if segments.isEmpty {  // a drained queue keeps no capacity
            segments = []
            large = []
        }
        return wasLarge ? front : nil
    }
}
