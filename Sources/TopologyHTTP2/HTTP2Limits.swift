/// What one HTTP/2 connection advertises and tolerates. Every default has its reason; the abuse
/// budgets are the ones RFC 9113 §10.5 leaves to the implementation.
public struct HTTP2Limits: Sendable {
    /// SETTINGS_MAX_CONCURRENT_STREAMS. §6.5.2 recommends at least 100, and gRPC clients queue calls
    /// past it rather than fail; each stream is a call with state in the layers above.
    public var maxConcurrentStreams = 100
    /// SETTINGS_INITIAL_WINDOW_SIZE, and the size the connection's receive window is raised to.
    /// 1 MiB: DATA is handed to the application as it arrives (nothing is held here), so the window
    /// only bounds what a client may have in flight; the default 65,535 bytes would cap a client
    /// stream at 64 KiB per round trip, 1 MiB does not stall it on any ordinary link.
    public var initialWindowSize = 1 << 20
    /// SETTINGS_MAX_FRAME_SIZE: the minimum every peer must accept (§4.2). gRPC's messages are
    /// small; larger frames would only let one frame hold the decoder's buffer longer.
    public var maxFrameSize = 16_384
    /// SETTINGS_MAX_HEADER_LIST_SIZE (name + value + 32 per field, §6.5.2): gRPC request headers are
    /// a few hundred bytes; a request over it is answered `:status 431`.
    public var maxHeaderListSize = 16_384
    /// The compressed field block, HEADERS plus its CONTINUATIONs: it is held whole until
    /// END_HEADERS (the decoder takes whole blocks), so this bounds that buffer. Four times the
    /// list limit: an honest encoder's block is smaller than the list it decodes to, plus literal
    /// and length octets; past it the peer is flooding (ENHANCE_YOUR_CALM).
    public var maxFieldBlockSize = 65_536
    /// CONTINUATION frames in one block: empty ones add no bytes to the block, so they are counted.
    /// 64: a block at the byte bound above in 1 KiB frames.
    public var maxContinuationFrames = 64
    /// Streams that ended in a reset before their call did: RST_STREAM from the peer on a stream
    /// still open, or ours for the peer's fault (a malformed request, a refused stream). Rapid
    /// reset, CVE-2023-44487: each reset stream costs the server a call set up and torn down. The
    /// numbers are Netty's (Http2MaxRstFrameDecoder): a client cancelling a watch or a call past
    /// its deadline now and then stays far below.
    public var resets = HTTP2RateLimit(events: 200, perMilliseconds: 30_000)
    /// PING frames (not ACKs). Keepalive pings come every tens of seconds; grpc-go and C-core send
    /// bandwidth-probe pings while data flows, so, as grpc-go's server does for its ping strikes,
    /// the budget is full again whenever this side sends HEADERS or DATA.
    public var pings = HTTP2RateLimit(events: 100, perMilliseconds: 10_000)
    /// SETTINGS frames (not ACKs): clients send one or two per connection.
    public var settingsFrames = HTTP2RateLimit(events: 20, perMilliseconds: 10_000)
    /// Replies owed to the peer's frames (PING and SETTINGS acknowledgements, RST_STREAM) written
    /// but not yet taken by `takeOutbound()`: a peer that sends control frames and does not read the
    /// answers would otherwise make them pile up (CVE-2019-9512, -9515).
    public var maxQueuedControlFrames = 1_000
    /// The DATA one `takeOutbound()` moves from the streams' queues: data leaves a stream's queue
    /// only as the socket takes it, so `queuedBytes(stream:)` shows what waits, whatever windows the
    /// peer grants.
    public var outboundBatchSize = 128 * 1024
    /// Closed streams remembered, to ignore what was in flight when this side reset them (§5.1)
    /// and to tell a frame on a closed stream from an id going backwards.
    public var closedStreamMemory = 128

    public init() {}
}

/// At most `events` per `perMilliseconds` (a token bucket: a burst of `events`, then that rate).
public struct HTTP2RateLimit: Sendable, Equatable {
    public var events: Int
    public var perMilliseconds: Int64

    public init(events: Int, perMilliseconds: Int64) {
        precondition(events > 0 && perMilliseconds > 0, "a rate limit needs a positive count and window")
        self.events = events
        self.perMilliseconds = perMilliseconds
    }
}
