import CTopologyShims
import TopologyCore
import TopologyProtocol
import TopologyWire
#if canImport(Glibc)
import Glibc
#endif

/// The HTTP listener: a second listening socket in the same epoll loop as the frames protocol, with
/// the same rules: non-blocking, bounded reads per wake-up, and output queued per connection. What
/// the bytes mean (requests, routes, the event stream, deadlines) is each connection's
/// `HTTPSession`'s; this file moves bytes and carries out the sessions' `HTTPAction`s.
extension Server {
    static let httpListenerToken: UInt64 = 4

    /// Binds the HTTP listener if one is configured; it must bind (the executable names the flag).
    func startHTTP() throws {
        guard let address = configuration.httpAddress, let epoll else { return }
        let (fd, bound) = try Sockets.listen(on: address)
        httpListener = fd
        try epoll.add(fd, events: UInt32(TOPOLOGY_EPOLLIN), data: Server.httpListenerToken)
        var actual = address
        actual.port = bound.port
        boundHTTPAddress = actual
        dispatcher.configuration.httpAddress = actual.description
    }

    func acceptHTTP(now: Int64) {
        acceptEach(from: httpListener, budget: 64, label: "http accept failed", admit: { fd, _ in
            guard httpConnections.count >= configuration.maxHTTPConnections && !makeRoomForHTTPConnection(now: now) else { return true }
            Server.writeLastHTTPResponse(.text(.serviceUnavailable, "too many HTTP connections, each busy with a request, a response or an event stream: the limit --max-http-connections is \(configuration.maxHTTPConnections); retry later"), to: fd)
            metrics.limitRejected("--max-http-connections")
            metrics.httpRequests[503, default: 0] += 1
            return false
        }, opened: { id, fd, peer in
            let session = HTTPSession(peer: peer.description, limits: configuration.httpLimits, now: now,
                                      requestTimeoutMs: configuration.httpRequestTimeoutMs)
            httpConnections[id] = HTTPConnection(id: id, fd: fd, session: session, registeredEvents: UInt32(TOPOLOGY_EPOLLIN | TOPOLOGY_EPOLLRDHUP))
        })
    }

    func handleHTTPEvent(_ connection: HTTPConnection, events: UInt32, now: Int64) {
        if events & UInt32(TOPOLOGY_EPOLLOUT) != 0 {
            flushHTTP(connection, now: now)
        }
        if events & UInt32(TOPOLOGY_EPOLLIN | TOPOLOGY_EPOLLHUP | TOPOLOGY_EPOLLERR | TOPOLOGY_EPOLLRDHUP) != 0,
           httpConnections[connection.id] != nil {
            readHTTP(connection, now: now)
        }
    }

    func readHTTP(_ connection: HTTPConnection, now: Int64) {
        var budget = 64 * 1024
        while budget > 0 {
            let result: IOResult<Int>
            do {
                result = try readBuffer.withUnsafeMutableBytes { try Sockets.read(connection.fd, into: $0) }
            } catch {
                closeHTTPNow(connection, reason: "read error")
                return
            }
            guard case .processed(let n) = result else { break }
            if n == 0 {
                withHTTPSession(connection) { session, env, out in session.peerEnded(now: now, env, topology: &topology, &out) }
                return
            }
            budget -= n
            withHTTPSession(connection) { session, env, out in
                readBuffer.withUnsafeBytes { bytes in
                    session.receive(UnsafeRawBufferPointer(rebasing: bytes[0..<n]), now: now, env, topology: &topology, rpc: &dispatcher, &out)
                }
            }
            if httpConnections[connection.id] == nil || n < readBuffer.count { return }
        }
    }

    /// What a session needs of the server for one call.
    func httpEnvironment() -> HTTPEnvironment {
        var environment = HTTPEnvironment(limits: configuration.httpLimits, requestTimeoutMs: configuration.httpRequestTimeoutMs,
                        sseCommentIntervalMs: configuration.sseCommentIntervalMs, maxOutboundBytes: configuration.maxOutboundBytes,
                        closeGraceMs: max(configuration.shutdownGraceMs, 1_000), offLoopReplyEntries: Server.offLoopReplyEntries,
                        canEncodeOffLoop: replyEncoder != nil, tokenMatches: dispatcher.configuration.tokenMatches,
                        limitFlag: CommandLineOptions.flag(forConfigurationField:), serverEpoch: serverEpoch,
                        shuttingDown: shutdownDeadlineMs != nil, dashboardPage: DashboardPage.bytes,
                        renderMetrics: { [unowned self] in renderMetrics(now: $0, topology: $1, metrics: $2) }, log: dispatcher.log)
        environment.framesAddress = boundAddress?.description
        environment.outboundBudgetSpent = outboundBytesTotal >= configuration.maxTotalOutboundBytes
        environment.history = history
        return environment
    }

    /// Runs `body` on the connection's session with its queue moved in (not copied), then carries
    /// out what the session asked for, and schedules the write.
    func withHTTPSession(_ connection: HTTPConnection, _ body: (inout HTTPSession, HTTPEnvironment, inout HTTPOutput) -> Void) {
        var out = HTTPOutput(outbound: [], written: connection.writeIndex, queuedAhead: connection.ahead.byteCount)
        swap(&out.outbound, &connection.outbound)
        let queuedBefore = out.outbound.count
        body(&connection.session, httpEnvironment(), &out)
        swap(&out.outbound, &connection.outbound)
        // Buffers sealed behind a large encoded reply go ahead of it, the first from where writing
        // stopped (`HTTPOutput.written` counts from its start).
        for (index, buffer) in out.sealed.enumerated() {
            connection.ahead.append(index == 0 ? buffer[connection.writeIndex...] : buffer[...])
        }
        if !out.sealed.isEmpty { connection.writeIndex = 0 }
        // Counted at once, not at the next write: the next stream of the same round sees the total.
        countPending(connection)
        for action in out.actions {
            switch action {
            case .closeNow(let reason):
                closeHTTPNow(connection, reason: reason)
                return
            case .watchOpened(let watcher):
                sseWatchers[watcher] = connection.id
                retryWatchers.append(watcher)
            case .watchClosed(let watcher):
                sseWatchers[watcher] = nil
            case .deliverUpdates(let watcher):
                retryWatchers.append(watcher)
            case .encodeOffLoop(let encode):
                _ = encodeOffLoop(for: connection.id, encode)  // the session asks only when the encoder runs
            }
        }
        if connection.outbound.count != queuedBefore || !out.sealed.isEmpty || connection.session.isClosing { scheduleHTTPFlush(connection) }
        updateHTTPInterest(connection)
    }

    /// Bytes the reply encoder made for `connection`.
    func takeEncodedReply(_ bytes: [UInt8], forHTTP connection: HTTPConnection, now: Int64) {
        withHTTPSession(connection) { session, env, out in
            session.takeEncodedReply(bytes, now: now, env, topology: &topology, rpc: &dispatcher, &out)
        }
    }

    /// Readable unless the peer has closed its side or a reply is being encoded; writable while
    /// output waits for the socket.
    private func updateHTTPInterest(_ connection: HTTPConnection) {
        guard httpConnections[connection.id] != nil else { return }
        let read = connection.session.wantsInput ? UInt32(TOPOLOGY_EPOLLIN | TOPOLOGY_EPOLLRDHUP) : 0
        let events = UInt32(connection.waitingForWritable ? TOPOLOGY_EPOLLOUT : 0) | read
        guard events != connection.registeredEvents else { return }
        connection.registeredEvents = events
        try? epoll?.modify(connection.fd, events: events, data: connection.id)
    }

    /// Moves an SSE watcher's updates from the core to its connection (the session says how many).
    func deliverSSE(_ watcher: WatcherID, connectionID: UInt64, cache: inout WatchEncodingCache) {
        guard let connection = httpConnections[connectionID] else { return }
        withHTTPSession(connection) { session, env, out in
            session.deliverUpdates(env, topology: &topology, cache: &cache, &out)
        }
    }

    // MARK: Output and closing

    func scheduleHTTPFlush(_ connection: HTTPConnection) {
        httpFlushList.schedule(connection)
    }

    func flushHTTPList(now: Int64) {
        for connection in httpFlushList.take() where httpConnections[connection.id] != nil {
            flushHTTP(connection, now: now)
        }
    }

    private func flushHTTP(_ connection: HTTPConnection, now: Int64) {
        do {
            if try connection.writeQueued(release: releaseOffLoop) { updateHTTPInterest(connection) }
        } catch {
            closeHTTPNow(connection, reason: "write error")
            return
        }
        countPending(connection)
        switch connection.session.wrote(pendingBytes: connection.pendingBytes, httpEnvironment()) {
        case .nothing:
            break
        case .shutDownWriting:
            // Written: half-close, then drain input until the peer closes or the grace period ends
            // (closing with unread input would reset the connection and could lose the response).
            _ = shutdown(connection.fd, Int32(SHUT_WR))
        case .close:
            closeHTTPNow(connection, reason: "answered")
        case .deliverUpdates(let watcher):
            retryWatchers.append(watcher)
        }
    }

    func closeHTTPNow(_ connection: HTTPConnection, reason: String) {
        guard httpConnections.removeValue(forKey: connection.id) != nil else { return }
        outboundBytesTotal -= connection.countedPendingBytes
        if let watcher = connection.session.end(topology: &topology) { sseWatchers[watcher] = nil }
        epoll?.remove(connection.fd)
        Sockets.close(connection.fd)
        logger.debug("http connection closed", ["peer": connection.session.peer, "reason": reason])
    }

    // MARK: Timers

    /// The earliest HTTP deadline: a close grace period, an SSE comment, or a request deadline.
    func nextHTTPWakeupMs() -> Int64? {
        httpConnections.values.compactMap(\.session.nextDeadlineMs).min()
    }

    func runHTTPTimers(now: Int64) {
        for connection in Array(httpConnections.values) where connection.session.nextDeadlineMs.map({ $0 <= now }) ?? false {
            withHTTPSession(connection) { session, env, out in
                session.runTimers(now: now, env, topology: &topology, rpc: &dispatcher, &out)
            }
        }
    }

    /// At shutdown: stops accepting and ends SSE streams (after what is queued is written). Other
    /// connections stay open for the drain: a request on one is still answered (`/readyz` with 503),
    /// with `Connection: close`.
    func shutdownHTTP(now: Int64) {
        if httpListener >= 0 {
            epoll?.remove(httpListener)
            Sockets.close(httpListener)
            httpListener = -1
        }
        for connection in Array(httpConnections.values) {
            withHTTPSession(connection) { session, env, out in session.shutdown(now: now, env, topology: &topology, &out) }
        }
    }

    /// No HTTP connection has work left for the shutdown drain to wait for: each is an idle
    /// keep-alive connection (nothing queued, no request begun), which may be closed at once.
    var httpConnectionsAreIdle: Bool {
        httpConnections.values.allSatisfy { $0.isWaitingForRequest && $0.session.requestBytesBuffered == 0 }
    }

    // MARK: Metrics

    func renderMetrics(now: Int64, topology: Topology, metrics: ServerMetrics) -> String {
        var gauges = ServerMetrics.Gauges(
            servicesByState: topology.serviceCountsByState, edges: topology.edgeCount, watchers: topology.watcherCount, sseWatchers: sseWatchers.count,
            binaryConnections: connections.count, grpcConnections: connections.values.count { $0.grpc != nil }, httpConnections: httpConnections.count, revision: topology.currentRevision,
            residentBytes: ServerMetrics.residentMemoryBytes(), version: topologyServerVersion, serverEpoch: serverEpoch,
            startTimeSeconds: Double(startedAtMs) / 1000, logLinesDropped: logWriter?.droppedLines ?? 0,
            livenessHolds: inputHorizon.holds, maxInputLagMs: inputHorizon.maxLagMs)
        gauges.observedServices = topology.observedServiceCount
        gauges.observedServiceRefusals = topology.observedServiceRefusals
        gauges.maxLoopTurnMs = localStats.maxLoopTurnMs
        gauges.slowTurns = localStats.slowTurns
        return metrics.render(gauges) + renderWebhookMetrics() + renderHistoryMetrics() + (serviceSeries?.render(topology, now: now) ?? "")
    }
}
