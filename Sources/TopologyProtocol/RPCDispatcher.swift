import TopologyCore
import TopologyWire

/// The limits and access rule the dispatcher applies (the server's flags of the same names).
public struct RPCConfiguration {
    public var maxCallsPerConnection: Int
    /// Watch calls per connection at most (also within `maxCallsPerConnection`).
    public var maxWatchersPerConnection: Int
    public var maxOutboundBytes: Int
    /// A GetTopology on a core with at least this many nodes and edges is built and encoded off the loop.
    public var offLoopReplyEntries: Int
    /// Checks the token of an authenticate_request; nil: none is required, and any is accepted
    /// (a client configured with a token can talk to a server that requires none).
    public var tokenMatches: ((String) -> Bool)?
    /// The command-line flag that sets a core limit, by the limit's configuration field.
    public var limitFlag: (String) -> String?
    /// Where the HTTP listener is (host:port), to name it to an HTTP client on the frames port; nil:
    /// HTTP is disabled.
    public var httpAddress: String?
    /// Bounds of an OTLP trace request (`--otlp-max-body-bytes` sets the size).
    public var otlpLimits = OTLPDecodingLimits(maximumBytes: 4 * 1024 * 1024)
    /// Spans per second taken over OTLP, all clients together (`--otlp-max-spans-per-second`);
    /// a request over it is refused whole, to be retried (HTTP 429, gRPC UNAVAILABLE). 0: no limit.
    public var otlpMaxSpansPerSecond = 200_000

    public init(maxCallsPerConnection: Int, maxWatchersPerConnection: Int = 16, maxOutboundBytes: Int, offLoopReplyEntries: Int,
                 tokenMatches: ((String) -> Bool)?, limitFlag: @escaping (String) -> String?) {
        self.maxCallsPerConnection = maxCallsPerConnection
        self.maxWatchersPerConnection = maxWatchersPerConnection
        self.maxOutboundBytes = maxOutboundBytes
        self.offLoopReplyEntries = offLoopReplyEntries
        self.tokenMatches = tokenMatches
        self.limitFlag = limitFlag
    }
}

/// The six RPCs and Authenticate, with their call rules, for one Frame at a time of one connection
/// (docs/protocol.md): a call id names a call; unary requests need a call id of their own;
/// Heartbeat, ReportActivity and WatchTopology calls stay open until either side ends them; a
/// connection has at most `--max-calls-per-connection` of those open. It takes the connection's
/// `CallState`, the core and a `ReplySink`; it answers into the sink and reads the clock only to
/// stamp and time heartbeats. Nothing here touches a socket.
public struct RPCDispatcher<C: Clock> {
    /// Set by the server once it has read its token file.
    public var configuration: RPCConfiguration
    public let clock: C
    public let serverEpoch: String
    /// Counters for /metrics; the HTTP side counts its own here too.
    public var metrics = ServerMetrics()
    public let log: EventLog
    /// Writes heartbeat acknowledgements (their tail, with the epoch, is encoded once).
    let heartbeatReply: HeartbeatReplyEncoder
    /// What remains of `otlpMaxSpansPerSecond` (see `RPCDispatcher+OTLP.swift`).
    var spanBudget = SpanRateBudget()

    static var ok: Status { Status(code: .ok, message: "") }

    public init(configuration: RPCConfiguration, clock: C, serverEpoch: String, log: EventLog) {
        self.configuration = configuration
        self.clock = clock
        self.serverEpoch = serverEpoch
        self.log = log
        heartbeatReply = HeartbeatReplyEncoder(serverEpoch: serverEpoch)
    }

    /// A frame the general decoder read.
    public mutating func handle(_ frame: Frame, _ state: inout CallState, _ sink: inout ReplySink, topology: inout Topology, now: Int64) {
        if state.awaitingAuthentication, !admitFirstFrame(frame, &state, &sink, topology: &topology) { return }
        let callID = frame.callId
        guard callID != 0 else {
            return closeConnection(&state, &sink, topology: &topology, code: .invalidArgument,
                                   message: "call_id 0 is reserved for the connection itself; number calls from 1")
        }
        let open = state.calls[callID]
        guard let message = frame.message else {
            if frame.endOfStream {
                guard open == nil else { return finishCall(callID, &state, &sink, topology: &topology) }
                // Never opened, or ended by the server first (its final frame went out before this
                // answer): every end_of_stream a client sends is answered once, so it knows when
                // the call id is free again.
                return fail(callID, Status(code: .failedPrecondition,
                            message: "call \(callID) is not open on this connection (never opened, or already ended by the server); there is nothing to end"),
                            &state, &sink, topology: &topology)
            }
            return fail(callID, Status(code: .unimplemented,
                        message: "the frame carries no request this server knows (an unknown or missing oneof member)"),
                        &state, &sink, topology: &topology)
        }
        switch message {
        case .registerServiceRequest(let request):
            guard unary(callID, open, "RegisterService", &state, &sink, topology: &topology) else { return }
            do {
                let response = try topology.register(request, now: now)
                metrics.registrations += 1
                log.info("service registered", ["service_id": response.handle?.serviceId ?? "", "name": request.serviceName, "peer": state.peer])
                reply(Frame(callId: callID, endOfStream: true, status: Self.ok, message: .registerServiceResponse(response)),
                      &state, &sink, topology: &topology)
            } catch {
                refuse("RegisterService", callID, error, &state, &sink, topology: &topology)
            }

        case .unregisterServiceRequest(let request):
            guard unary(callID, open, "UnregisterService", &state, &sink, topology: &topology) else { return }
            let response = topology.unregister(request, now: now)
            if response.removed {
                metrics.unregistrations += 1
                log.info("service unregistered", ["service_id": request.serviceId, "peer": state.peer])
            }
            reply(Frame(callId: callID, endOfStream: true, status: Self.ok, message: .unregisterServiceResponse(response)),
                  &state, &sink, topology: &topology)

        case .getTopologyRequest(let request):
            guard unary(callID, open, "GetTopology", &state, &sink, topology: &topology) else { return }
            let query = request.query ?? TopologyQuery()
            do {
                try topology.validate(query)
            } catch {
                return refuse("GetTopology", callID, error, &state, &sink, topology: &topology)
            }
            // Taken in O(nodes / 1,024); a large one is built and encoded off the loop.
            let snapshot = SnapshotReply(callId: callID, source: topology.snapshotSource(for: query, now: now))
            if snapshot.source.entityBound >= configuration.offLoopReplyEntries, !sink.closing {
                sink.encodeOffLoop(snapshot)
            } else {
                reply(snapshot.frame(), &state, &sink, topology: &topology)
            }

        case .heartbeatRequest(let request):
            heartbeat(HeartbeatInput(callId: callID, endOfStream: frame.endOfStream, request: request), &state, &sink,
                      topology: &topology, startedNs: clock.monotonicNs(), now: now)

        case .reportActivityRequest(let request):
            var accepted: Int64 = 0
            if let open {
                guard case .activity(let sofar) = open else {
                    return mismatch(callID, open, "ReportActivity", &state, &sink, topology: &topology)
                }
                accepted = sofar
            } else {
                guard openCall(callID, .activity(accepted: 0), &state, &sink, topology: &topology) else { return }
            }
            do {
                let count = try topology.reportActivity(request, now: now)
                metrics.activityEvents += count
                accepted += count
                state.calls[callID] = .activity(accepted: accepted)
            } catch {
                return refuse("ReportActivity", callID, error, &state, &sink, topology: &topology)
            }
            if frame.endOfStream { finishCall(callID, &state, &sink, topology: &topology) }

        case .watchTopologyRequest(let request):
            if let open { return mismatch(callID, open, "WatchTopology", &state, &sink, topology: &topology) }
            guard state.calls.count < configuration.maxCallsPerConnection else {
                return refuseCallLimit(callID, &state, &sink, topology: &topology)
            }
            guard state.watchCount < configuration.maxWatchersPerConnection else {
                return refuseWatcherLimit(callID, &state, &sink, topology: &topology)
            }
            do {
                let watcher = try topology.watch(request, now: now)
                state.calls[callID] = .watch(watcher)
                sink.watchOpened(watcher, callID: callID)
                log.info("watch started", ["peer": state.peer, "call_id": String(callID), "watchers": String(topology.watcherCount)])
            } catch {
                return refuse("WatchTopology", callID, error, &state, &sink, topology: &topology)
            }
            if frame.endOfStream { finishCall(callID, &state, &sink, topology: &topology) }

        case .authenticateRequest(let request):
            guard unary(callID, open, "Authenticate", &state, &sink, topology: &topology) else { return }
            authenticate(request, callID: callID, &state, &sink, topology: &topology)

        case .registerServiceResponse, .heartbeatResponse, .reportActivityResponse, .unregisterServiceResponse,
             .getTopologyResponse, .watchTopologyResponse, .authenticateResponse:
            fail(callID, Status(code: .invalidArgument, message: "a client sends requests; this frame carries a response message"),
                 &state, &sink, topology: &topology)
        }
    }
}
