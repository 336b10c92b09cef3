/// Splits a byte stream into `Frame`s, whatever the reads look like: a frame split over many reads,
/// many frames in one read, or one byte at a time.
///
///     +-----------------+--------------------------+----
///     | length (varint, | Frame (protobuf, length  | next frame ...
///     |  1 to 5 bytes)  |  bytes)                  |
///     +-----------------+--------------------------+----
///
/// The limit is checked on the length prefix, before the body is waited for, so a peer announcing a
/// huge frame costs nothing beyond the bytes it actually sent. Not enough bytes yet: `next()` returns
/// nil. Anything else wrong: it throws, and the decoder is unusable from then on.
public struct FrameDecoder {
    /// The largest frame body accepted, in bytes.
    public let maximumFrameSize: Int
    private var buffer: [UInt8] = []
    /// Bytes of `buffer` before this index were consumed by earlier frames.
    private var readIndex = 0

    public init(maximumFrameSize: Int) {
        precondition(maximumFrameSize > 0, "the frame size limit must be positive")
        self.maximumFrameSize = maximumFrameSize
    }

    /// Bytes received but not yet returned as frames.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// The input buffer's capacity: what the decoder holds between reads.
    public var bufferCapacity: Int { buffer.capacity }

    /// Frees the input buffer if it holds nothing: for a connection gone quiet after a burst (a
    /// hundred registrations, or heartbeats that fall due together), which would otherwise keep the
    /// burst's capacity (up to 64 KiB) until it closes.
    public mutating func releaseIdleCapacity() {
        guard bufferedByteCount == 0, buffer.capacity > 0 else { return }
        buffer = []
        readIndex = 0
    }

    /// Adds bytes read from the stream.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfWorthIt()
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        compactIfWorthIt()
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, or nil until more bytes arrive.
    public mutating func next() throws -> Frame? {
        guard let (headerLength, bodyLength) = try peekLengthPrefix() else { return nil }
        let bodyStart = readIndex + headerLength
        guard buffer.count - bodyStart >= bodyLength else { return nil }
        let frame: Frame
        do {
            frame = try buffer.withUnsafeBytes { raw in
                try Frame(decoding: UnsafeRawBufferPointer(rebasing: raw[bodyStart..<bodyStart + bodyLength]))
            }
        } catch let error as WireDecodingError {
            throw FramingError.invalidFrame(error)
        }
        consume(through: bodyStart + bodyLength)
        return frame
    }

    /// The next complete frame if it is a heartbeat request in the layout `HeartbeatFrame` reads,
    /// consumed; otherwise nil and nothing consumed (`next()` then returns or rejects it). A fast
    /// path: `next()` alone gives the same frames.
    public mutating func nextHeartbeat() -> HeartbeatFrame? {
        guard let (headerLength, bodyLength) = try? peekLengthPrefix() else { return nil }
        let bodyStart = readIndex + headerLength
        guard buffer.count - bodyStart >= bodyLength,
              let heartbeat = buffer.withUnsafeBytes({ raw in
                  HeartbeatFrame(scanning: UnsafeRawBufferPointer(rebasing: raw[bodyStart..<bodyStart + bodyLength]))
              }) else { return nil }
        consume(through: bodyStart + bodyLength)
        return heartbeat
    }

    private mutating func consume(through end: Int) {
        readIndex = end
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024)
            readIndex = 0
        }
    }

    /// Call when the stream has ended: throws if it ended inside a frame.
    public func finish() throws {
        if bufferedByteCount > 0 { throw FramingError.truncatedFrame(bufferedBytes: bufferedByteCount) }
    }

    /// Reads the length prefix without consuming it: nil while it is incomplete.
    private func peekLengthPrefix() throws -> (headerLength: Int, bodyLength: Int)? {
        // The limit is checked at every byte of the prefix, not once it is complete: an incomplete
        // prefix can already be over the limit, and the verdict (and the length it names) must not
        // depend on how many of the prefix's bytes the reads have delivered so far.
        let read = buffer.withUnsafeBytes { raw in
            Varint.read(raw, at: readIndex, end: raw.count, maximumBytes: 5, limit: UInt64(maximumFrameSize))
        }
        switch read {
        case .value(let length, let end): return (end - readIndex, Int(length))
        case .truncated: return nil
        case .overlong: throw FramingError.malformedLengthPrefix
        case .overLimit(let length): throw FramingError.frameTooLarge(length: length, limit: maximumFrameSize)
        }
    }

    /// Drops consumed bytes once they are the larger part of the buffer, so memory stays
    /// proportional to what is pending, and the copying cost stays amortized O(1) per byte.
    /// The bytes received and not taken as frames, handed over (the decoder is empty after): for a
    /// connection that turned out to speak another protocol.
    public mutating func takeBufferedBytes() -> [UInt8] {
        defer {
            buffer = []
            readIndex = 0
        }
        return Array(buffer[readIndex...])
    }

    private mutating func compactIfWorthIt() {
        if readIndex > 0 && readIndex >= buffer.count - readIndex {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }
}
