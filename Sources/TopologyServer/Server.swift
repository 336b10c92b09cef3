import CTopologyShims
import Foundation
import TopologyCore
import TopologyProtocol
import TopologyWire
#if canImport(Glibc)
import Glibc
#endif

/// What the server is doing, read from any thread (tests, benchmarks).
public struct ServerStats: Sendable, Equatable {
    public var connections = 0
    public var services = 0
    public var watchers = 0
    /// Bytes queued for all connections and not yet accepted by the kernel.
    public var outboundBytes = 0
    /// The largest such queue of one connection left after a write, since start.
    public var maxConnectionOutboundBytes = 0
    /// How late the core's timers took effect, in ms: for each wake-up that served deadlines, the
    /// time `advance` returned minus the earliest deadline it served; the worst seen, and how many
    /// such wake-ups there were.
    public var maxTimerLatenessMs: Int64 = 0
    public var timerWakeups = 0
    public var loopIterations = 0
    /// Heartbeat frames read by the fast path (`HeartbeatFrame`) rather than the general decoder.
    public var fastPathHeartbeats = 0
    /// Replies encoded off the loop thread (`ReplyEncoder`).
    public var offLoopReplies = 0
    /// Times free memory was given back to the system (`MemoryReturn`).
    public var memoryTrims = 0
    /// The longest turn of the loop since start, in ms: from `epoll_wait`'s return to the end of
    /// that turn's writes. Input that arrives meanwhile waits that long to be read.
    public var maxLoopTurnMs: Int64 = 0
    /// Loop turns of at least `--slow-turn-log-ms` since start (each logged, or counted in the next
    /// "slow loop turn" line's `slow_turns_unlogged`).
    public var slowTurns = 0
    /// Turns that spent their input budget and left ready sockets to the next turn.
    public var turnsCutShort = 0
}

/// The TCP server: one thread runs an epoll loop that owns the `Topology`, every socket and every
/// timer. Single-threaded on purpose: the core is a plain struct, so nothing is locked on the hot
/// path; the loop sleeps until the next socket event or the core's next deadline. Two helper
/// threads take work that must not hold the loop: `LogWriter` (stderr) and `ReplyEncoder` (large
/// GetTopology replies); they share nothing with it but a queue each.
///
/// Use: `start()` binds (and throws on a port in use), `run()` serves on the calling thread until
/// `stop()` (from any thread) or, with `handleSignals`, SIGINT/SIGTERM.
public final class Server: @unchecked Sendable {
    public let configuration: ServerConfiguration
    let logger: Logger
    /// Writes the default logger's lines off the loop thread; nil when a logger was given.
    let logWriter: LogWriter?
    let clock = ServerClock()
    public let serverEpoch: String
    /// The RPCs and their call rules; the connections' frames go there.
    var dispatcher: RPCDispatcher<ServerClock>

    var topology: Topology
    var epoll: Epoll?
    var listener: Int32 = -1
    var wakeFD: Int32 = -1
    var signalFD: Int32 = -1
    /// Encodes large replies off the loop thread (set up by `start()`).
    var replyEncoder: ReplyEncoder?
    /// One delivery thread per `--webhook-url` (started by `start()`).
    var webhooks: [WebhookWorker] = []
    /// The per-service series of /metrics, with `--service-series-limit` only.
    var serviceSeries: ServiceSeries?
    /// Samples of the graph for `GET /api/v1/topology?at=` (`--history-minutes`; Server+History.swift).
    var history: TopologyHistory
    /// How long the last history sample took on the loop, for /metrics.
    var lastHistorySampleNs: Int64 = 0
    /// The sequence number of the last event read for the webhooks and the series.
    var eventCursor: UInt64 = 0
    /// The address actually bound (the port filled in when 0 was asked for).
    public private(set) var boundAddress: ListenAddress?

    var connections: [UInt64: Connection] = [:]
    /// When `releaseIdleBuffers` next looks at the connections' buffers.
    var nextIdleBufferSweepMs: Int64 = 0
    var nextConnectionID: UInt64 = 16
    let callTableSeed = (UInt64.random(in: .min ... .max), UInt64.random(in: .min ... .max))
    var watcherCalls: [WatcherID: (connection: UInt64, callID: UInt64)] = [:]
    /// Watch snapshots being encoded by `replyEncoder`, by the id their bytes come back under: the
    /// watcher each is for. Such a watcher takes nothing more until they are queued.
    var watchSnapshotJobs: [UInt64: WatcherID] = [:]
    var watchersAwaitingEncoding: Set<WatcherID> = []
    /// Connections waiting for their first frame (`--first-frame-timeout-ms`).
    var firstFrameDeadlines = DeadlineQueue()
    /// Connections in the middle of a frame (`--frame-timeout-ms`): an entry is live while the
    /// connection's `partialFrameSinceMs` is still the one it was set for.
    var partialFrameDeadlines = DeadlineQueue()
    /// Connections paused until their queue drains (Server+SlowReaders.swift): at most one entry
    /// each, live while it is the connection's `drainCheckMs`.
    var drainDeadlines = DeadlineQueue()
    var flushList = FlushList<Connection>()
    /// gRPC connections with a call under a `grpc-timeout` deadline (Server+GRPC.swift).
    var grpcConnectionsWithDeadlines: Set<UInt64> = []
    var retryWatchers = WatcherRetryList()
    var closingConnections: Set<UInt64> = []
    var shutdownDeadlineMs: Int64?
    var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    var framesSinceTimerCheck = 0
    var nextWatchRoundMs: Int64 = 0
    /// Bytes queued for all connections, as of each one's last flush (kept up to date there and
    /// when a connection closes, so the stats never sum over every connection).
    var outboundBytesTotal = 0
    var nextBudgetCheckMs: Int64 = 0
    /// How far input has been read: liveness deadlines fire only up to it.
    var inputHorizon: InputHorizon
    var memoryReturn = MemoryReturn()
    /// Ready sockets the last turns left (`handleReady`), oldest first.
    var carriedReady: [ReadySocket] = []
    /// What is left of `Server.fanOutPerTurn` in this turn of the loop.
    var fanOutLeftThisTurn = Server.fanOutPerTurn
    /// Where the current turn's time goes, and which slow turns are logged (`--slow-turn-log-ms`).
    var turnProfile = LoopTurnProfile(startNs: 0, readySockets: 0)
    var slowTurnLog: SlowTurnLog

    // The HTTP listener (HTTP/Server+HTTP.swift).
    var httpListener: Int32 = -1
    var httpConnections: [UInt64: HTTPConnection] = [:]
    var sseWatchers: [WatcherID: UInt64] = [:]
    var httpFlushList = FlushList<HTTPConnection>()
    /// Counters for /metrics, owned by the loop thread (kept by the dispatcher, which counts most).
    var metrics: ServerMetrics {
        get { dispatcher.metrics }
        _modify { yield &dispatcher.metrics }
    }
    /// The token of `--auth-token-file`, read by `start()`; nil: no authentication.
    var authToken: AuthToken?
    let startedAtMs: Int64
    /// The HTTP address actually bound, nil when there is no HTTP listener.
    public internal(set) var boundHTTPAddress: ListenAddress?

    let statsLock = NSLock()
    var sharedStats = ServerStats()
    var localStats = ServerStats()

    static let listenerToken: UInt64 = 1
    static let wakeToken: UInt64 = 2
    static let signalToken: UInt64 = 3
    static let replyEncoderToken: UInt64 = 5
    /// A GetTopology reply (binary or JSON), or an SSE snapshot, of at least this many nodes and
    /// edges is encoded by `replyEncoder`.
    static let offLoopReplyEntries = 1_000
    /// Bytes read from one connection per wake-up at most, so one flooding client cannot hold the
    /// loop; the rest stays in the kernel and epoll (level-triggered) reports it again at once.
    static let readBudget = 256 * 1024

    public init(configuration: ServerConfiguration, logger: Logger? = nil) {
        MemoryReturn.useOneArena()  // before the log writer's thread starts
        self.configuration = configuration
        if let logger {
            self.logger = logger
            self.logWriter = nil
        } else {
            let writer = LogWriter(fd: 2)
            self.logger = Logger(level: configuration.logLevel, sink: writer.enqueue)
            self.logWriter = writer
        }
        self.serverEpoch = makeServerEpoch()
        let logger = self.logger
        self.dispatcher = RPCDispatcher(
            configuration: RPCConfiguration(
                maxCallsPerConnection: configuration.maxCallsPerConnection, maxWatchersPerConnection: configuration.maxWatchersPerConnection,
                maxOutboundBytes: configuration.maxOutboundBytes,
                offLoopReplyEntries: Server.offLoopReplyEntries, tokenMatches: nil, limitFlag: CommandLineOptions.flag(forConfigurationField:)),
            clock: clock, serverEpoch: serverEpoch, log: EventLog(level: logger.level, write: logger.log))
        dispatcher.configuration.otlpLimits.maximumBytes = configuration.httpLimits.maxOTLPBodyBytes
        dispatcher.configuration.otlpMaxSpansPerSecond = configuration.otlpMaxSpansPerSecond
        self.startedAtMs = clock.nowMs()
        // A connection behind holds the others' deadlines for at most one dead timeout.
        self.inputHorizon = InputHorizon(startMs: startedAtMs,
                                         maxHoldMs: configuration.topology.heartbeatIntervalMs * configuration.topology.timeoutMultiplier)
        self.topology = Topology(configuration: configuration.topology, serverEpoch: serverEpoch, now: startedAtMs)
        self.history = TopologyHistory(limits: configuration.historyLimits)
        self.slowTurnLog = SlowTurnLog(thresholdMs: configuration.slowTurnLogMs)
    }

    deinit {
        replyEncoder?.stop()
        webhooks.forEach { $0.stop() }
        for fd in [listener, httpListener, wakeFD, signalFD, epoll?.fd ?? -1] where fd >= 0 { Sockets.close(fd) }
        for connection in connections.values { Sockets.close(connection.fd) }
        for connection in httpConnections.values { Sockets.close(connection.fd) }
    }

    /// The statistics as of the loop's last wake-up.
    public func stats() -> ServerStats {
        statsLock.lock()
        defer { statsLock.unlock() }
        return sharedStats
    }

    /// Binds and listens. Throws `SystemError` (errno EADDRINUSE for a port in use).
    /// With `handleSignals`, SIGINT and SIGTERM are blocked in this thread and read from a
    /// signalfd by the loop instead: call it on the thread that will call `run()`, before any other
    /// thread is started, so no thread receives them the default way.
    @discardableResult
    public func start(handleSignals: Bool = false) throws -> ListenAddress {
        try setUpAccessControl()
        let epoll = try Epoll()
        self.epoll = epoll
        _ = raiseOpenFileLimit()
        let (fd, bound) = try Sockets.listen(on: configuration.address)
        listener = fd
        try epoll.add(fd, events: UInt32(TOPOLOGY_EPOLLIN), data: Server.listenerToken)
        try startHTTP()
        wakeFD = try syscallBlocking("eventfd") { topology_eventfd_create() }
        try epoll.add(wakeFD, events: UInt32(TOPOLOGY_EPOLLIN), data: Server.wakeToken)
        let replyEncoder = try ReplyEncoder()
        self.replyEncoder = replyEncoder
        try epoll.add(replyEncoder.fd, events: UInt32(TOPOLOGY_EPOLLIN), data: Server.replyEncoderToken)
        if handleSignals {
            signalFD = try syscallBlocking("signalfd") { topology_signalfd_create() }
            try epoll.add(signalFD, events: UInt32(TOPOLOGY_EPOLLIN), data: Server.signalToken)
        }
        // SIGPIPE never kills the process (writes use MSG_NOSIGNAL too).
        signal(SIGPIPE, SIG_IGN)
        var address = configuration.address
        address.port = bound.port
        boundAddress = address
        logStartup(address)
        startAlerting()
        return address
    }

    /// Asks the loop to shut down gracefully; safe from any thread and from a signal handler.
    public func stop() {
        guard wakeFD >= 0 else { return }
        var one: UInt64 = 1
        _ = try? syscall("write eventfd") { Glibc.write(wakeFD, &one, 8) }
    }

    /// Serves until stopped; returns after the graceful shutdown.
    public func run() throws {
        guard let epoll else { preconditionFailure("start() must be called before run()") }
        defer {
            replyEncoder?.stop()
            webhooks.forEach { $0.stop() }
            logWriter?.finish()  // every line written before returning; later ones directly
        }
        // Room for every socket the server may hold, so one wait reports all that are ready: a
        // turn that reads them all moves the input horizon (see `InputHorizon`).
        let capacity = max(256, configuration.maxConnections + configuration.maxHTTPConnections + 8)
        var readyData = [UInt64](repeating: 0, count: capacity)
        var readyEvents = [UInt32](repeating: 0, count: capacity)
        while true {
            fanOutLeftThisTurn = Server.fanOutPerTurn
            var now = clock.nowMs()
            let deadline = nextWakeupMs(now: now)
            // Sockets the last turn left unhandled are served first, without waiting.
            let timeout: Int32 = !carriedReady.isEmpty ? 0 : deadline.map { Int32(clamping: max(0, $0 - now)) } ?? -1
            inputHorizon.beginTurn(atMs: now)
            let count = try epoll.wait(data: &readyData, events: &readyEvents, timeoutMs: timeout)
            localStats.loopIterations += 1
            turnProfile = LoopTurnProfile(startNs: clock.monotonicNs(), readySockets: count)
            let oldestUnhandledMs = handleReady(count: count, data: readyData, events: readyEvents)
            inputHorizon.endTurn(listComplete: count < capacity, oldestUnhandledMs: oldestUnhandledMs)
            now = clock.nowMs()
            runTimers(now: now)
            if watchUpdatesWaiting, clock.nowMs() >= nextWatchRoundMs {
                let served = timed(.watchers) { deliverWatchUpdates() }
                nextWatchRoundMs = served > Server.watchersPerUnpacedRound ? clock.nowMs() + Server.watchRoundIntervalMs : 0
            }
            readNewEvents()
            timed(.writes) { flushAll(now: clock.nowMs()) }
            endTurn()
            publishStats()
            if let shutdownDeadlineMs, connections.isEmpty && httpConnectionsAreIdle || clock.nowMs() >= shutdownDeadlineMs {
                for connection in Array(connections.values) { closeNow(connection, reason: "shutdown") }
                for connection in Array(httpConnections.values) { closeHTTPNow(connection, reason: "shutdown") }
                logger.info("stopped", ["services": String(topology.serviceCount)])
                return
            }
        }
    }

    // MARK: - Events

    func handleEvent(token: UInt64, events: UInt32, now: Int64) {
        switch token {
        case Server.listenerToken:
            acceptAll(now: now)
        case Server.httpListenerToken:
            acceptHTTP(now: now)
        case Server.wakeToken:
            var value: UInt64 = 0
            _ = try? syscall("read eventfd") { Glibc.read(wakeFD, &value, 8) }
            beginShutdown(reason: "stop requested", now: now)
        case Server.replyEncoderToken:
            takeEncodedReplies(now: now)
        case Server.signalToken:
            while let signal = try? syscall("read signalfd", { topology_signalfd_read(signalFD) }),
                  case .processed(let number) = signal, number > 0 {
                beginShutdown(reason: number == SIGINT ? "SIGINT" : "SIGTERM", now: now)
            }
        default:
            guard let connection = connections[token] else {
                if let http = httpConnections[token] { handleHTTPEvent(http, events: events, now: now) }
                return
            }
            if connection.closing, events & UInt32(TOPOLOGY_EPOLLHUP | TOPOLOGY_EPOLLERR) != 0 {
                closeNow(connection, reason: "peer gone")
                return
            }
            if events & UInt32(TOPOLOGY_EPOLLOUT) != 0 {
                flush(connection, now: now)
            }
            if events & UInt32(TOPOLOGY_EPOLLIN | TOPOLOGY_EPOLLHUP | TOPOLOGY_EPOLLERR | TOPOLOGY_EPOLLRDHUP) != 0,
               !connection.closing {
                if connection.readPaused, events & UInt32(TOPOLOGY_EPOLLHUP | TOPOLOGY_EPOLLERR) == 0 {
                    inputArrivedWhilePaused(connection, now: now)
                } else {
                    readAll(connection, now: now)
                }
            }
        }
    }

    /// Accepts what is waiting on the frames listener, at most 256 per wake-up.
    func acceptAll(now: Int64) {
        acceptEach(from: listener, budget: 256, label: "accept failed", admit: { fd, peer in
            guard connections.count >= configuration.maxConnections else { return true }
            var bytes: [UInt8] = []
            Frame(callId: 0, endOfStream: true, status: Status(code: .resourceExhausted,
                  message: "too many connections: the limit --max-connections is \(configuration.maxConnections); retry later with backoff"))
                .encodeLengthPrefixed(appendingTo: &bytes)
            logger.warning("connection refused", ["peer": peer.description, "limit": "max-connections", "value": String(configuration.maxConnections)])
            metrics.limitRejected("--max-connections")
            metrics.frameError(.resourceExhausted)
            _ = try? bytes.withUnsafeBytes { try Sockets.write(fd, $0) }
            return false
        }, opened: { id, fd, peerAddress in
            let peer = peerAddress.description
            // Each connection's call table gets seeds of its own, derived from the server's.
            let seed = (callTableSeed.0 ^ id &* 0x9E37_79B9_7F4A_7C15, callTableSeed.1 &+ id)
            connections[id] = Connection(id: id, fd: fd, peer: peer, acceptedAtMs: now, maxFrameBytes: configuration.maxFrameBytes,
                                         tableSeed: seed, requiresAuthentication: authToken != nil)
            metrics.connectionsAccepted += 1
            firstFrameDeadlines.append(connection: id, deadlineMs: now + configuration.firstFrameTimeoutMs)
            logger.debug("connection opened", ["peer": peer, "connections": String(connections.count)])
        })
    }

    /// Accepts what waits on `listener`, at most `budget` sockets per wake-up (a burst of connects
    /// cannot hold the loop; the listener stays readable and is served again at once). `admit` sees
    /// each socket first: false, and it is closed (`admit` has answered it). The others are
    /// configured, registered for input under a new id, and handed to `opened`.
    func acceptEach(from listener: Int32, budget: Int, label: String, admit: (Int32, SocketAddress) -> Bool,
                    opened: (UInt64, Int32, SocketAddress) -> Void) {
        var budget = budget
        while listener >= 0, budget > 0 {
            budget -= 1
            let accepted: IOResult<(fd: Int32, peer: SocketAddress)>
            do {
                accepted = try Sockets.accept(listener)
            } catch {
                // EMFILE and the like: log and try again at the next wake-up.
                logger.error(label, ["error": "\(error)"])
                return
            }
            guard case .processed(let (fd, peer)) = accepted else { return }
            guard admit(fd, peer) else {
                Sockets.close(fd)
                continue
            }
            Sockets.configureAccepted(fd, keepaliveMs: configuration.tcpKeepaliveMs)
            let id = nextConnectionID
            nextConnectionID += 1
            do {
                try epoll?.add(fd, events: UInt32(TOPOLOGY_EPOLLIN | TOPOLOGY_EPOLLRDHUP), data: id)
            } catch {
                logger.error("epoll registration failed", ["peer": peer.description, "error": "\(error)"])
                Sockets.close(fd)
                continue
            }
            opened(id, fd, peer)
        }
    }

    func readAll(_ connection: Connection, now: Int64) {
        var budget = Server.readBudget
        var endOfStream = false
        var drained = false
        while budget > 0 {
            let result: IOResult<Int>
            do {
                result = try readBuffer.withUnsafeMutableBytes { try Sockets.read(connection.fd, into: $0) }
            } catch {
                logger.debug("connection read failed", ["peer": connection.peer, "error": "\(error)"])
                closeNow(connection, reason: "read error")
                return
            }
            guard case .processed(let n) = result else { drained = true; break }
            if n == 0 { endOfStream = true; drained = true; break }
            readBuffer.withUnsafeBytes { connection.receive(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            budget -= n
            if n < readBuffer.count { drained = true; break }  // no need for a read that returns EAGAIN
        }
        processFrames(connection, now: now)
        // Paused, a connection has caught up only if no frame waits behind the one that paused it.
        let caughtUp = drained && (!connection.readPaused || connection.session.bufferedByteCount == 0)
        if caughtUp {
            inputHorizon.connectionCaughtUp(connection.id)
        } else {
            inputHorizon.connectionBehind(connection.id, nowMs: now)
        }
        if connection.readPaused, connection.listensWhilePaused != caughtUp {
            connection.listensWhilePaused = caughtUp
            updateInterest(connection)
        } else if !connection.readPaused {
            connection.listensWhilePaused = false
        }
        if endOfStream && !connection.closing {
            do { if connection.grpc == nil { try connection.session.finish() } } catch {
                logger.info("connection closed mid-frame", ["peer": connection.peer, "error": "\(error)"])
            }
            logger.debug("connection closed by peer", ["peer": connection.peer])
            endCalls(connection)
            beginClosing(connection, now: now)
        }
    }

    /// Input arrived on a connection paused with nothing unread: it is left unread (the pause bounds
    /// what a client can make the server hold), but from now on the connection holds the input
    /// horizon, and the loop stops listening until it reads the connection again.
    func inputArrivedWhilePaused(_ connection: Connection, now: Int64) {
        connection.listensWhilePaused = false
        inputHorizon.connectionBehind(connection.id, nowMs: now)
        updateInterest(connection)
    }

    /// Lets the connection's session take the frames it has, serving due timers every 64 frames
    /// (counted across connections), so a wake-up with much input does not hold them back.
    func processFrames(_ connection: Connection, now: Int64) {
        if connection.grpc != nil { return processGRPC(connection, now: now) }
        let framesBefore = connection.session.framesReceived
        defer { trackPartialFrame(connection, framesBefore: framesBefore, now: now) }
        while !connection.closing {
            var progress = FrameSession.Progress()
            answer(connection, now: now) { sink in
                progress = connection.session.handleFrames(limit: 64 - framesSinceTimerCheck, &dispatcher, topology: &topology, &sink)
            }
            localStats.fastPathHeartbeats += progress.fastPathHeartbeats
            framesSinceTimerCheck += progress.frames
            guard framesSinceTimerCheck >= 64 else { break }  // the session took all it could
            runTimersIfDue()
        }
        switch connection.session.state {
        case .http2: startGRPC(connection, now: now)
        case .awaitingDrain: pausedForDrain(connection, now: now)
        default: break
        }
    }

    /// Starts the `--frame-timeout-ms` clock of a frame left incomplete by this read: a new one if
    /// frames were taken (what is left began in this read), the running one otherwise. Bytes held
    /// while a reply is encoded off the loop are not counted against the client.
    func trackPartialFrame(_ connection: Connection, framesBefore: Int, now: Int64) {
        guard !connection.closing, !connection.readPaused, connection.session.bufferedByteCount > 0 else {
            connection.partialFrameSinceMs = nil
            return
        }
        guard connection.partialFrameSinceMs == nil || connection.session.framesReceived != framesBefore else { return }
        connection.partialFrameSinceMs = now
        partialFrameDeadlines.append(connection: connection.id, deadlineMs: now + configuration.frameTimeoutMs)
        // A client that ends every read inside a frame adds an entry per read; the stale ones go.
        if partialFrameDeadlines.count > 2 * connections.count + 1024 {
            partialFrameDeadlines.compact(isLive: isPartialFrameDeadlineLive)
        }
    }

    func isPartialFrameDeadlineLive(connection id: UInt64, deadlineMs: Int64) -> Bool {
        guard let connection = connections[id], !connection.closing else { return false }
        return connection.partialFrameSinceMs == deadlineMs - configuration.frameTimeoutMs
    }

    func isFirstFrameDeadlineLive(connection id: UInt64, deadlineMs: Int64) -> Bool {
        guard let connection = connections[id] else { return false }
        return connection.session.framesReceived == 0 && connection.grpc == nil && !connection.closing
    }

    /// Keeps timers on time while a wake-up has much input to get through: every 64 frames (and
    /// between connections), a due core deadline is served before reading on, while this turn's
    /// fan-out budget lasts (timers it left due wait for the next turn, after watch delivery).
    func runTimersIfDue() {
        framesSinceTimerCheck = 0
        guard fanOutLeftThisTurn > 0, let due = topology.nextDeadline else { return }
        let now = clock.nowMs()
        if due <= now { runTimers(now: now) }
    }

    /// The byte stream cannot be trusted any more: one Status frame on call 0, then close.
    func protocolError(_ connection: Connection, code: StatusCode, message: String, now: Int64) {
        answer(connection, now: now) {
            connection.session.close(code: code, message: message, &dispatcher, topology: &topology, &$0)
        }
    }

    /// Lets the dispatcher answer on `connection`: its outbound queue goes into a `ReplySink` for
    /// `body` and back, and the sink's actions are performed.
    func answer(_ connection: Connection, now: Int64, _ body: (inout ReplySink) -> Void) {
        var sink = ReplySink(outbound: [], written: connection.writeIndex, queuedAhead: connection.ahead.byteCount,
                             watchBatchAllowance: connection.largestWatchBatchBytes, closing: connection.closing)
        swap(&sink.outbound, &connection.outbound)  // moved, not copied: the sink appends in place
        let queuedBefore = sink.outbound.count
        body(&sink)
        swap(&sink.outbound, &connection.outbound)
        if connection.outbound.count != queuedBefore { scheduleFlush(connection) }
        for action in sink.actions {
            switch action {
            case .close:
                connection.blockedWatchers.removeAll()
                beginClosing(connection, now: now)
            case .watchOpened(let watcher, let callID):
                watcherCalls[watcher] = (connection.id, callID)
                retryWatchers.append(watcher)  // its snapshot is queued already
            case .watchClosed(let watcher):
                watcherCalls[watcher] = nil
            case .encodeOffLoop(let reply):
                if connection.grpc != nil {
                    // Its other streams go on meanwhile; the message comes back to its session
                    // (`takeEncodedReplies`), which sends it on the call's stream.
                    let encode = connection.grpc!.offLoopMessage(reply)
                    if !encodeOffLoop(for: connection.id, encode) { takeEncodedGRPCMessage(encode(), connection, now: now) }
                    continue
                }
                let encode: @Sendable () -> [UInt8] = {
                    var bytes: [UInt8] = []
                    reply.frame().encodeLengthPrefixed(appendingTo: &bytes)
                    return bytes
                }
                // This connection is not read meanwhile, so its replies keep the order of its
                // requests (`takeEncodedReplies` resumes it).
                if encodeOffLoop(for: connection.id, encode) {
                    updateInterest(connection)
                } else {
                    connection.append(reply.frame())  // no encoder: only before start(), when no connection is open
                    scheduleFlush(connection)
                    connection.session.resumeAfterEncodedReply()
                }
            }
        }
    }

    // MARK: - Calls

    func endWatch(_ watcher: WatcherID) {
        topology.endWatch(watcher)
        watcherCalls[watcher] = nil
    }

    /// Ends every open call of a connection that is going away (its watches stop; its services
    /// live on until their heartbeats stop counting).
    func endCalls(_ connection: Connection) {
        dispatcher.endCalls(&connection.callState, topology: &topology) { watcherCalls[$0] = nil }
        connection.blockedWatchers.removeAll()
    }

    // MARK: - Shutdown

    func beginShutdown(reason: String, now: Int64) {
        guard shutdownDeadlineMs == nil else { return }
        logger.info("shutting down", ["reason": reason, "connections": String(connections.count)])
        shutdownDeadlineMs = now + configuration.shutdownGraceMs
        if listener >= 0 {
            epoll?.remove(listener)
            Sockets.close(listener)
            listener = -1
        }
        shutdownHTTP(now: now)
        for connection in connections.values where !connection.closing {
            answer(connection, now: now) { sink in
                if connection.grpc != nil {
                    connection.grpc!.shutdown(&dispatcher, topology: &topology, &sink)
                } else {
                    dispatcher.endCallsForShutdown(&connection.session.callState, &sink, topology: &topology)
                }
            }
            connection.blockedWatchers.removeAll()
            beginClosing(connection, now: now)
        }
    }

}

public let topologyServerVersion = "0.1.0"
