import TopologyCore
import TopologyWire

/// The answers: the dashboard, the JSON API, the event stream, /metrics and the probes.
extension HTTPSession {
    mutating func respond<C: Clock>(to request: HTTPRequest, now: Int64, _ env: HTTPEnvironment, topology: inout Topology,
                          rpc: inout RPCDispatcher<C>, _ out: inout HTTPOutput) {
        let headOnly = request.method == "HEAD"
        // During the shutdown drain a request is still answered, and its connection then closed.
        let keepAlive = request.keepAlive && !env.shuttingDown
        let response: HTTPResponse
        let route = HTTPRouter.route(request, tokenMatches: env.tokenMatches)
        switch route {
        case .dashboard:
            response = HTTPResponse(status: .ok, contentType: "text/html; charset=utf-8", body: env.dashboardPage, headers: [
                ("Cache-Control", "no-store"),
                // The address may carry ?access_token=: never send it on in a Referer.
                ("Referrer-Policy", "no-referrer"),
                // The page may talk to this server only: no CDN, no third party.
                ("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'"),
                ("X-Content-Type-Options", "nosniff"),
            ])
        case .topology(let query), .dot(let query):
            do {
                try topology.validate(query)
            } catch {
                response = .text(.badRequest, error.status.message)
                break
            }
            // Taken in O(nodes / 1,024); a large one is built as well as rendered off the loop.
            let source = topology.snapshotSource(for: query, now: now)
            let render: @Sendable (TopologySnapshot) -> HTTPResponse
            if case .dot = route {
                render = { HTTPResponse(status: .ok, contentType: "text/vnd.graphviz; charset=utf-8", body: TopologyDOT.encode($0),
                                        headers: [("Cache-Control", "no-store")]) }
            } else {
                render = { .json($0.jsonUTF8()) }
            }
            if source.entityBound >= env.offLoopReplyEntries && env.canEncodeOffLoop {
                return respondOffLoop(keepAlive: keepAlive, headOnly: headOnly, env, topology: &topology, rpc: &rpc, &out) {
                    render(source.build())
                }
            }
            response = render(source.build())
        case .topologyAt(let at):
            switch env.history.sample(at: at, now: now) {
            case .found(let sample):
                // A sample is the snapshot as taken: its timestampMs and revision say when and which.
                let snapshot = sample.snapshot
                if isLarge(snapshot, env) {
                    return respondOffLoop(keepAlive: keepAlive, headOnly: headOnly, env, topology: &topology, rpc: &rpc, &out) {
                        .json(snapshot.jsonUTF8())
                    }
                }
                response = .json(snapshot.jsonUTF8())
            case .outOfRange(let start, let end):
                response = HTTPResponse(status: .notFound, contentType: "application/json", body: HistoryJSON.outOfRange(at: at, startMs: start, endMs: end))
            case .unavailable(let pause):
                response = HTTPResponse(status: .notFound, contentType: "application/json", body: HistoryJSON.unavailable(pause))
            }
        case .history:
            let history = env.history
            if history.samples.count >= env.offLoopReplyEntries, env.canEncodeOffLoop {
                return respondOffLoop(keepAlive: keepAlive, headOnly: headOnly, env, topology: &topology, rpc: &rpc, &out) {
                    .json(HistoryJSON.index(history, now: now))
                }
            }
            response = .json(HistoryJSON.index(history, now: now))
        case .events(let since, let limit):
            response = .json(EventLogJSON.encode(topology.eventLog.page(afterRevision: since, limit: limit), log: topology.eventLog,
                                                 revision: topology.currentRevision, serverEpoch: env.serverEpoch))
        case .metrics:
            response = HTTPResponse(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8",
                                    body: Array(env.renderMetrics(now, topology, rpc.metrics).utf8), headers: [("Cache-Control", "no-store")])
        case .healthz:
            response = .text(.ok, "ok")
        case .readyz:
            response = env.shuttingDown ? .text(.serviceUnavailable, "shutting down") : .text(.ok, "ready")
        case .unauthorized(let failure):
            rpc.metrics.authenticationFailed(listener: "http")
            env.log.info("http request unauthorized", ["peer": peer, "path": request.path, "reason": failure.reason])
            response = .text(failure.status, failure.message, headers: [("WWW-Authenticate", failure.challenge), ("Cache-Control", "no-store")])
        case .error(let status, let message):
            let allow = request.path == OTLPExport.httpPath ? "POST" : "GET, HEAD"
            response = .text(status, message, headers: status == .methodNotAllowed ? [("Allow", allow)] : [])
        case .otlpTraces:
            response = answerOTLP(request, env, topology: &topology, rpc: &rpc)
        case .seedReporter(let reporterRoute):
            let answer = SeedReporterAPI.answer(reporterRoute, method: request.method, body: request.body, peer: peer, &rpc, topology: &topology)
            response = HTTPResponse(status: answer.status, contentType: "application/json", body: Array(answer.json.utf8))
        case .connect(let method):
            guard let answer = answerConnect(request, method: method, keepAlive: keepAlive, now: now, env, topology: &topology, rpc: &rpc, &out)
            else { return }
            response = answer
        case .watch, .seedEvents:
            guard !env.shuttingDown else {
                response = .text(.serviceUnavailable, "server shutting down; watch again on the next server")
                break
            }
            var query = TopologyQuery()
            var resume: SSEEventID?
            switch route {
            case .watch(let q, let r): (query, resume, streamFormat) = (q, r, .topology)
            case .seedEvents(let q): (query, streamFormat) = (q, .seed)
            default: break
            }
            if headOnly {
                EventStreamEncoder.appendHead(streamFormat, epoch: env.serverEpoch, to: &out.outbound)
                rpc.metrics.httpRequests[HTTPStatus.ok.code, default: 0] += 1
                beginClosing(now: now, env, topology: &topology, &out)
                return
            }
            startEventStream(query: query, resume: resume, now: now, env, topology: &topology, rpc: &rpc, &out)
            return
        }
        queue(response, keepAlive: keepAlive, headOnly: headOnly, now: now, env, topology: &topology, rpc: &rpc, &out)
    }

    /// A snapshot of this many nodes and edges is encoded off the loop (when the encoder runs).
    private func isLarge(_ snapshot: TopologySnapshot, _ env: HTTPEnvironment) -> Bool {
        snapshot.nodes.count + snapshot.edges.count >= env.offLoopReplyEntries && env.canEncodeOffLoop
    }

    /// A response too large to make on the loop (about a second as JSON for 100,000 nodes): the
    /// reply encoder makes and serializes it, and no request is taken until it is queued.
    mutating func respondOffLoop<C: Clock>(keepAlive: Bool, headOnly: Bool, _ env: HTTPEnvironment, topology: inout Topology,
                                           rpc: inout RPCDispatcher<C>, _ out: inout HTTPOutput,
                                           _ make: @escaping @Sendable () -> HTTPResponse) {
        rpc.metrics.httpRequests[HTTPStatus.ok.code, default: 0] += 1
        guard admitsResponse(env, topology: &topology, rpc: &rpc, &out) else { return }
        encoding = .response(keepAlive: keepAlive)
        out.request(.encodeOffLoop {
            var bytes: [UInt8] = []
            make().serialize(into: &bytes, keepAlive: keepAlive, headOnly: headOnly)
            return bytes
        })
    }

    private mutating func startEventStream<C: Clock>(query: TopologyQuery, resume: SSEEventID?, now: Int64, _ env: HTTPEnvironment,
                                                     topology: inout Topology, rpc: inout RPCDispatcher<C>, _ out: inout HTTPOutput) {
        var request = WatchTopologyRequest(query: query)
        if let resume {
            request.resumeAfterRevision = resume.revision
            request.resumeServerEpoch = resume.serverEpoch
        }
        startEventStream(request, now: now, env, topology: &topology, rpc: &rpc, &out)
    }

    /// Opens the watch behind an event stream in `streamFormat`, or answers why not.
    mutating func startEventStream<C: Clock>(_ request: WatchTopologyRequest, now: Int64, _ env: HTTPEnvironment,
                                             topology: inout Topology, rpc: inout RPCDispatcher<C>, _ out: inout HTTPOutput) {
        let watcher: WatcherID
        do {
            watcher = try topology.watch(request, now: now)
        } catch {
            if case .resourceExhausted(let limit, _) = error { rpc.metrics.limitRejected(env.limitFlag(limit) ?? limit) }
            let status = error.status(limitFlag: env.limitFlag)
            if case .connect = streamFormat {
                // A Connect stream's error is its end-of-stream message, after a 200 head.
                rpc.metrics.httpRequests[HTTPStatus.ok.code, default: 0] += 1
                EventStreamEncoder.appendHead(streamFormat, epoch: env.serverEpoch, to: &out.outbound)
                out.outbound += ConnectEndOfStream(status).envelope
                return beginClosing(now: now, env, topology: &topology, &out)
            }
            let httpStatus: HTTPStatus = status.statusCode == .resourceExhausted ? .serviceUnavailable : .badRequest
            queue(.text(httpStatus, status.message), keepAlive: false, headOnly: false, now: now, env, topology: &topology, rpc: &rpc, &out)
            return
        }
        rpc.metrics.httpRequests[HTTPStatus.ok.code, default: 0] += 1
        phase = .streaming(watcher)
        deadlineMs = now + env.sseCommentIntervalMs
        EventStreamEncoder.appendHead(streamFormat, epoch: env.serverEpoch, to: &out.outbound)
        env.log.info("watch started", ["peer": peer, "transport": streamFormat.logName,
                                       "resume": request.resumeAfterRevision.map { "\(request.resumeServerEpoch).\($0)" } ?? "",
                                       "watchers": String(topology.watcherCount)])
        out.request(.watchOpened(watcher))
    }

    /// Moves the stream's updates from the core to the queue while it is under the watch bound
    /// (half of --max-outbound-bytes), exactly as for a frames watcher: a slow reader's backlog
    /// stays in the core, which coalesces it and, past its limit, resyncs.
    public mutating func deliverUpdates(_ env: HTTPEnvironment, topology: inout Topology, cache: inout WatchEncodingCache,
                                        _ out: inout HTTPOutput) {
        guard case .streaming(let watcher) = phase, encoding == nil else { return }
        let bound = env.watchQueueBound
        let epoch = env.serverEpoch
        var taken = 0
        while true {
            if out.pendingBytes >= bound {
                watcherBlocked = true
                return
            }
            if taken >= WatchEncodingCache.updatesPerRound {
                out.request(.deliverUpdates(watcher))  // the rest in the next round
                return
            }
            // A snapshot of a large topology, and what comes after it, in order, built and encoded
            // off the loop; the watcher's further updates wait in the core (coalesced there if need
            // be) until they are queued.
            if topology.serviceCount + topology.edgeCount >= env.offLoopReplyEntries, env.canEncodeOffLoop,
               let pending = topology.takePendingSnapshot(for: watcher) {
                let rest = cache.takeUpdates(for: watcher, max: 31, from: &topology)
                let format = streamFormat
                encoding = .events
                out.request(.encodeOffLoop {
                    var bytes: [UInt8] = []
                    EventStreamEncoder.append(([pending.update()] + rest)[...], format: format, epoch: epoch, to: &bytes)
                    return bytes
                })
                return
            }
            let updates = cache.takeUpdates(for: watcher, max: 32, from: &topology)
            if updates.isEmpty {
                watcherBlocked = false
                return
            }
            EventStreamEncoder.append(updates[...], format: streamFormat, epoch: epoch, to: &out.outbound)
            taken += updates.count
        }
    }
}
