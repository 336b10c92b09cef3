import TopologyCore
import TopologyProtocol

/// Where the server listens: an IPv4 address or a bracketed IPv6 one, and a port (0: any free port).
public struct ListenAddress: Equatable, Sendable, CustomStringConvertible {
    public enum Family: Sendable { case ipv4, ipv6 }
    public var host: String
    public var port: UInt16
    public var family: Family

    /// Parses `127.0.0.1:50053` or `[::1]:50053`; nil when it is neither.
    public init?(parsing text: String) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
            family = .ipv6
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            family = .ipv4
        }
        guard let port = UInt16(portPart), !hostPart.isEmpty, SocketAddress(host: String(hostPart), port: port, family: family) != nil
        else { return nil }
        self.host = String(hostPart)
        self.port = port
    }

    public init(host: String, port: UInt16, family: Family) {
        self.host = host
        self.port = port
        self.family = family
    }

    /// Only this host can connect: an IPv4 127/8 address or ::1.
    var isLoopback: Bool {
        family == .ipv4 ? host.hasPrefix("127.") : ["::1", "0:0:0:0:0:0:0:1"].contains(host)
    }

    /// `127.0.0.1:50053` or `[::1]:50053`: the form the flag takes and the startup log line shows.
    public var description: String { family == .ipv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Everything the server needs to run: the core's configuration and the transport's limits.
public struct ServerConfiguration: Sendable, Equatable {
    public var address = ListenAddress(host: "127.0.0.1", port: 50053, family: .ipv4)
    public var topology = TopologyConfiguration()
    /// The largest frame a client may send, in bytes (the length prefix is checked before the body
    /// is read). Over it: Status RESOURCE_EXHAUSTED on call 0, connection closed.
    public var maxFrameBytes = 1 << 20
    /// Open connections at most; one more is sent Status RESOURCE_EXHAUSTED on call 0 and closed.
    public var maxConnections = 10_000
    /// Open streaming calls (heartbeat, activity, watch) per connection; one more is refused with
    /// Status RESOURCE_EXHAUSTED on its call id.
    public var maxCallsPerConnection = 1_000
    /// Bytes queued for a connection that it has not read yet. Watch streams stop taking updates at
    /// half of it (the core coalesces, then resyncs them). Over it, the connection's requests are not
    /// read until the client has read its queue down to half of it; a client that reads nothing for
    /// `Server.stalledReaderMs` meanwhile is sent Status RESOURCE_EXHAUSTED on call 0 and closed.
    public var maxOutboundBytes = 4 << 20
    /// Bytes queued for all frames connections together. Over it, watch streams take no more
    /// updates, and the connections with watches that have written nothing for
    /// `Server.stalledReaderMs` (clients that stopped reading) are sent Status RESOURCE_EXHAUSTED on
    /// call 0 and closed, the largest backlog first, until the total is back under three quarters
    /// of it: a few hundred stalled watchers cannot make the server hold gigabytes.
    public var maxTotalOutboundBytes = 64 << 20
    /// Watch streams per connection at most; one more is refused with Status RESOURCE_EXHAUSTED on
    /// its call id, so one client cannot take every place under `topology.maxWatchers`.
    public var maxWatchersPerConnection = 16
    /// A new connection must send its first complete frame within this time, or it is sent Status
    /// DEADLINE_EXCEEDED on call 0 and closed.
    public var firstFrameTimeoutMs: Int64 = 10_000
    /// A frame whose first byte has arrived must be complete within this time, or the connection is
    /// sent Status DEADLINE_EXCEEDED on call 0 and closed: no client holds a partial frame (up to
    /// `maxFrameBytes` of the server's memory) for longer.
    public var frameTimeoutMs: Int64 = 30_000
    /// TCP keepalive on every accepted connection: after this much silence the kernel probes the
    /// peer (3 probes a third of this apart), so a peer that vanished without a FIN or RST (power
    /// loss, a dropped NAT entry) has its connection closed within about twice this, instead of
    /// holding a place under `maxConnections` forever. Whole seconds; 0: off.
    public var tcpKeepaliveMs: Int64 = 30_000
    /// How long shutdown waits for the last frames to be written before closing connections anyway.
    public var shutdownGraceMs: Int64 = 500
    public var logLevel = LogLevel.info
    /// How long one loop turn handles ready sockets before it leaves the rest to the next turn, so
    /// that replies, writes and timers come in between (`Server.handleReady`). Not a flag: tests set
    /// it to 0 (16 sockets a turn).
    var turnInputBudgetMs: Int64 = 100
    /// A loop turn at least this long is logged ("slow loop turn", at most one line a second) with
    /// where its time went: input, the core's timers, watchers, writes, history, memory.
    public var slowTurnLogMs: Int64 = 100

    /// Where the HTTP listener (dashboard, JSON API, SSE watch, /metrics) listens; nil: no HTTP.
    /// The library default is none; the command line's is 127.0.0.1:50054 (`--http-address`). It
    /// must bind, the default too: a second server on the host fails at startup rather than run
    /// without its dashboard while :50054 shows the first one's graph (issue 16).
    public var httpAddress: ListenAddress? = nil
    /// An HTTP client must send a complete request head within this time of connecting (or of its
    /// previous response), and read each response within it; otherwise it is closed (408 if it had
    /// started a request). Also how long an idle keep-alive connection is kept.
    public var httpRequestTimeoutMs: Int64 = 10_000
    /// An SSE watch stream gets a comment line this often, so proxies and clients see it is alive.
    public var sseCommentIntervalMs: Int64 = 15_000
    /// Open HTTP connections at most (SSE streams included); one more is answered 503 and closed.
    public var maxHTTPConnections = 256
    /// Request line and header bounds of the HTTP parser (over them: 431), and the body bounds (413);
    /// `maxOTLPBodyBytes` bounds OTLP/gRPC messages too.
    var httpLimits = HTTPLimits()
    /// OTLP spans taken per second, all clients together; 0: no limit (docs/opentelemetry.md).
    public var otlpMaxSpansPerSecond = 200_000
    /// A file holding the shared secret every client must present (docs/security.md), read once by
    /// `Server.start()`; nil: no authentication. With it, each frames connection must open with an
    /// authenticate_request carrying the token, and every HTTP endpoint but /healthz needs
    /// `Authorization: Bearer <token>` (or `?access_token=`).
    public var authTokenFile: String? = nil
    /// Where alerts are POSTed (`--webhook-url`, repeatable), each with the alerts it wants.
    public var webhooks: [WebhookTarget] = []
    /// One webhook attempt (connect, send, read the status line) must end within this long.
    public var webhookTimeoutMs: Int64 = 5_000
    /// Alerts waiting per webhook at most; one more is dropped and counted.
    public var webhookQueueLimit = 1_000
    /// Per-service and per-edge series on /metrics, at most this many; 0: none.
    public var serviceSeriesLimit = 0
    /// Minutes of the graph's history kept for `GET /api/v1/topology?at=` and the page's scrubber; 0: none.
    public var historyMinutes = 15
    /// History samples are at least this far apart (taken when the revision has moved).
    public var historyIntervalMs: Int64 = 5_000
    /// The history's size at most (an estimate, `TopologyHistory.estimatedBytes`), oldest dropped first.
    public var historyMaxBytes = 128 << 20

    /// The history's bounds, from the flags.
    var historyLimits: TopologyHistory.Limits {
        TopologyHistory.Limits(retentionMs: Int64(historyMinutes) * 60_000, intervalMs: historyIntervalMs, maxBytes: historyMaxBytes)
    }

    public init() {}
}
