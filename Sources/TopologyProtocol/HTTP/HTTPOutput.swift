import TopologyCore

/// What only the server can do for an HTTP connection, asked for by its session.
public enum HTTPAction {
    /// Close the connection now, without writing what is queued.
    case closeNow(reason: String)
    /// An event stream began for this watcher: deliver its updates to this connection.
    case watchOpened(WatcherID)
    /// The stream's watch ended (the core has forgotten it): deliver no more.
    case watchClosed(WatcherID)
    /// The watcher may take updates again (its queue drained, or its off-loop events are queued).
    case deliverUpdates(WatcherID)
    /// A response or events too large to encode on the loop: encode them elsewhere and hand the bytes
    /// to `HTTPSession.takeEncodedReply`. The session reads and answers nothing meanwhile.
    case encodeOffLoop(@Sendable () -> [UInt8])
}

/// Where an HTTP session's answers go while it handles input or time: bytes appended to the
/// connection's outbound queue (moved in and back by the server), actions listed in order.
///
///     sealed: [ written | ... ][ ... ]...  outbound: [ pending .......... ]
///             0         written
///
/// `written` counts from the start of the first buffer: `sealed[0]` if any, else `outbound`.
public struct HTTPOutput {
    /// Encoded bytes this large or larger are not copied behind queued bytes (see `appendEncoded`).
    static let smallestSealedBytes = 64 * 1024

    public var outbound: [UInt8]
    /// Bytes at the front of the first buffer written already.
    public let written: Int
    /// Bytes the server queued ahead of all of this, not yet written.
    public let queuedAhead: Int
    /// Buffers queued before `outbound`, oldest first: what was queued when a large encoded reply
    /// came. The server moves them into its queue's segments, ahead of `outbound`.
    public private(set) var sealed: [[UInt8]] = []
    private var sealedBytes = 0
    public private(set) var actions: [HTTPAction] = []

    public init(outbound: [UInt8], written: Int, queuedAhead: Int = 0) {
        self.outbound = outbound
        self.written = written
        self.queuedAhead = queuedAhead
    }

    /// Bytes queued and not yet written.
    public var pendingBytes: Int { queuedAhead + sealedBytes + outbound.count - written }

    mutating func request(_ action: HTTPAction) {
        actions.append(action)
    }

    /// Queues bytes the reply encoder made without copying them: a snapshot of a million nodes is
    /// 450 MB of JSON, and copying it took the loop 600 ms (into an empty queue) and 224 ms (behind
    /// an event stream's response head). Large ones are sealed, behind what is queued (sealed too):
    /// as `outbound` the first event appended behind an event stream's snapshot would grow it, a
    /// copy of all of it. Small ones are copied.
    mutating func appendEncoded(_ bytes: [UInt8]) {
        if bytes.count < HTTPOutput.smallestSealedBytes {
            outbound += bytes
            return
        }
        if !outbound.isEmpty {
            sealedBytes += outbound.count
            sealed.append(outbound)
        }
        sealedBytes += bytes.count
        sealed.append(bytes)
        outbound = []
    }
}

/// What the server's HTTP side is, for its sessions: limits, timeouts and the parts only the server
/// has (the dashboard page, the metrics text, whether it is shutting down).
public struct HTTPEnvironment {
    public var limits: HTTPLimits
    /// A request head must be complete, and its response read, within this long.
    public var requestTimeoutMs: Int64
    /// An idle event stream gets a comment this often (proxies close silent connections).
    public var sseCommentIntervalMs: Int64
    /// A connection's queue bound (`--max-outbound-bytes`); watch updates stop at half of it.
    public var maxOutboundBytes: Int
    /// The server's budget for the output queued on all its connections (`--max-total-outbound-bytes`)
    /// is spent: an event stream takes no more updates while anything is queued for it (the core
    /// keeps and coalesces them), as the frames watchers do.
    public var outboundBudgetSpent = false
    /// The queued bytes at which an event stream stops taking watch updates.
    var watchQueueBound: Int { outboundBudgetSpent ? 1 : maxOutboundBytes / 2 }
    /// How long a closing connection may take to read what is queued and close its side.
    public var closeGraceMs: Int64
    /// A response of at least this many nodes and edges is encoded off the loop.
    public var offLoopReplyEntries: Int
    /// False before the server starts its reply encoder: everything is encoded inline then.
    public var canEncodeOffLoop: Bool
    /// Checks a presented token (`--auth-token-file`); nil: none is required.
    public var tokenMatches: ((String) -> Bool)?
    /// The command-line flag that sets a core limit, by the limit's configuration field.
    public var limitFlag: (String) -> String?
    public var serverEpoch: String
    /// The server drains for shutdown: requests are answered with `Connection: close`, /readyz with 503.
    public var shuttingDown: Bool
    public var dashboardPage: [UInt8]
    /// The text of /metrics at `now`, for the topology and counters given (the session's caller
    /// holds them for the call, so the function must not reach for them itself).
    public var renderMetrics: (Int64, Topology, ServerMetrics) -> String
    public var log: EventLog
    /// Where the frames listener is (host:port), to name it to a Frames or gRPC client that came to
    /// the HTTP port.
    public var framesAddress: String?
    /// The graph's history (`GET /api/v1/topology?at=`, `/api/v1/history`); off unless the server gives it.
    public var history = TopologyHistory(limits: .off)

    public init(limits: HTTPLimits, requestTimeoutMs: Int64, sseCommentIntervalMs: Int64, maxOutboundBytes: Int, closeGraceMs: Int64,
                offLoopReplyEntries: Int, canEncodeOffLoop: Bool, tokenMatches: ((String) -> Bool)?, limitFlag: @escaping (String) -> String?,
                serverEpoch: String, shuttingDown: Bool, dashboardPage: [UInt8], renderMetrics: @escaping (Int64, Topology, ServerMetrics) -> String, log: EventLog) {
        self.limits = limits
        self.requestTimeoutMs = requestTimeoutMs
        self.sseCommentIntervalMs = sseCommentIntervalMs
        self.maxOutboundBytes = maxOutboundBytes
        self.closeGraceMs = closeGraceMs
        self.offLoopReplyEntries = offLoopReplyEntries
        self.canEncodeOffLoop = canEncodeOffLoop
        self.tokenMatches = tokenMatches
        self.limitFlag = limitFlag
        self.serverEpoch = serverEpoch
        self.shuttingDown = shuttingDown
        self.dashboardPage = dashboardPage
        self.renderMetrics = renderMetrics
        self.log = log
    }
}
