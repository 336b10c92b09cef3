/// Reads Connect envelopes, or gRPC's length-prefixed messages (the same five-byte prefix: flags,
/// then the length, big-endian), from a byte stream, sans I/O: `append` the bytes as they arrive, then
/// take envelopes with `next()` until it returns nil (not enough bytes yet). A payload longer than
/// `maximumMessageSize` is refused from its prefix, before any of it is buffered; after an error
/// the decoder stays failed.
///
/// Buffered bytes are at most one prefix plus one payload under the limit, plus whatever the
/// caller appends before taking envelopes (the caller bounds its reads).
public struct ConnectEnvelopeDecoder: Sendable {
    public let maximumMessageSize: Int
    /// The flag bits the protocol defines: Connect's compressed and end-of-stream, gRPC's compressed.
    public let allowedFlags: UInt8
    private var buffer: [UInt8] = []
    /// Where the next envelope starts in `buffer`; consumed bytes are dropped in batches.
    private var start = 0
    private var failure: ConnectEnvelopeError?

    public init(maximumMessageSize: Int, allowedFlags: UInt8 = ConnectEnvelope.compressed | ConnectEnvelope.endOfStream) {
        self.maximumMessageSize = maximumMessageSize
        self.allowedFlags = allowedFlags
    }

    /// Bytes received and not yet returned in an envelope.
    public var bufferedCount: Int { buffer.count - start }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    /// The next whole envelope, nil until its bytes are all there. Throws `ConnectEnvelopeError`.
    public mutating func next() throws -> ConnectEnvelope? {
        try next { flags, payload in ConnectEnvelope(flags: flags, payload: Array(payload)) }
    }

    /// `next()` without copying the payload: `read` sees the flags and the payload where they are
    /// buffered (a heartbeat is scanned there) and makes what the caller keeps of them.
    public mutating func next<Result>(_ read: (UInt8, UnsafeRawBufferPointer) -> Result) throws -> Result? {
        if let failure { throw failure }
        guard bufferedCount >= ConnectEnvelope.prefixSize else { return nil }
        let flags = buffer[start]
        guard flags & ~allowedFlags == 0 else {
            try fail(.unknownFlags(flags, allowed: allowedFlags))
        }
        let length = buffer[start + 1..<start + 5].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard Int(length) <= maximumMessageSize else {
            try fail(.tooLarge(length: length, limit: maximumMessageSize))
        }
        let end = start + ConnectEnvelope.prefixSize + Int(length)
        guard buffer.count >= end else { return nil }
        let result = buffer.withUnsafeBytes { read(flags, UnsafeRawBufferPointer(rebasing: $0[start + ConnectEnvelope.prefixSize..<end])) }
        start = end
        // Drop what was read once it is most of the buffer: each byte is moved at most once more.
        if start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        return result
    }

    private mutating func fail(_ error: ConnectEnvelopeError) throws -> Never {
        failure = error
        buffer = []
        start = 0
        throw error
    }
}
