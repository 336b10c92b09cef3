import CTopologyShims
import TopologyCore
import TopologyProtocol
import TopologyWire
#if canImport(Glibc)
import Glibc
#endif

/// The HTTP listener: a second listening socket in the same epoll loop as the frames protocol, with
/// the same rules: non-blocking, bounded reads per wake-up, bounded request heads, a deadline for
/// slow clients, and watch updates taken from the core only while the connection's queue has room.
extension Server {
    static let httpListenerToken: UInt64 = 4

    /// Binds the HTTP listener if one is configured. A default address whose port is taken is
    /// logged and skipped; an address that was asked for must bind.
    func startHTTP() throws {
        guard let address = configuration.httpAddress, let epoll else { return }
        let fd: Int32
        let bound: SocketAddress
        do {
            (fd, bound) = try Sockets.listen(on: address)
        } catch let error as SystemError where configuration.httpAddressIsDefault && error.errno == EADDRINUSE {
            logger.warning("http listener disabled", ["address": address.description, "error": error.description,
                                                      "note": "the default --http-address is taken; set --http-address to choose another"])
            return
        }
        httpListener = fd
        try epoll.add(fd, events: UInt32(TOPOLOGY_EPOLLIN), data: Server.httpListenerToken)
        var actual = address
        actual.port = bound.port
        boundHTTPAddress = actual
    }

    func acceptHTTP(now: Int64) {
        var budget = 64
        while httpListener >= 0, budget > 0 {
            budget -= 1
            let accepted: IOResult<(fd: Int32, peer: SocketAddress)>
            do {
                accepted = try Sockets.accept(httpListener)
            } catch {
                logger.error("http accept failed", ["error": "\(error)"])
                return
            }
            guard case .processed(let (fd, peerAddress)) = accepted else { return }
            if httpConnections.count >= configuration.maxHTTPConnections && !makeRoomForHTTPConnection(now: now) {
                Server.writeLastHTTPResponse(.text(.serviceUnavailable, "too many HTTP connections, each busy with a request, a response or an event stream: the limit --max-http-connections is \(configuration.maxHTTPConnections); retry later"), to: fd)
                Sockets.close(fd)
                metrics.limitRejected("--max-http-connections")
                metrics.httpRequests[503, default: 0] += 1
                continue
            }
            Sockets.configureAccepted(fd, keepaliveMs: configuration.tcpKeepaliveMs)
            let id = nextConnectionID
            nextConnectionID += 1
            let connection = HTTPConnection(id: id, fd: fd, peer: peerAddress.description, limits: configuration.httpLimits,
                                            deadlineMs: now + configuration.httpRequestTimeoutMs)
            do {
                try epoll?.add(fd, events: UInt32(TOPOLOGY_EPOLLIN | TOPOLOGY_EPOLLRDHUP), data: id)
            } catch {
                Sockets.close(fd)
                continue
            }
            httpConnections[id] = connection
        }
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
        var endOfStream = false
        while budget > 0 {
            let result: IOResult<Int>
            do {
                result = try readBuffer.withUnsafeMutableBytes { try Sockets.read(connection.fd, into: $0) }
            } catch {
                closeHTTPNow(connection, reason: "read error")
                return
            }
            guard case .processed(let n) = result else { break }
            if n == 0 { endOfStream = true; break }
            budget -= n
            // A closing connection's input is drained and dropped (a lingering close: closing a
            // socket with unread input would reset it and could destroy the error response).
            // An SSE client has nothing more to say either.
            if !connection.closing && connection.stream == nil {
                connection.parser.append(readBuffer[0..<n])
                processHTTPRequests(connection, now: now)
                if httpConnections[connection.id] == nil { return }
            }
            if n < readBuffer.count { break }
        }
        if endOfStream {
            if connection.peerClosed || connection.stream != nil || connection.pendingBytes == 0 && !connection.awaitingEncodedReply {
                closeHTTPNow(connection, reason: "closed by peer")
            } else {
                // The client half-closed after its request: write the answer, then close. Stop
                // watching for input (EOF stays readable: level-triggered, it would spin the loop).
                connection.peerClosed = true
                beginClosingHTTP(connection, now: now)
                connection.waitingForWritable = true
                updateHTTPInterest(connection)
            }
        }
    }

    private func processHTTPRequests(_ connection: HTTPConnection, now: Int64) {
        while !connection.closing, connection.stream == nil, !connection.awaitingEncodedReply {
            let request: HTTPRequest
            do {
                guard let next = try connection.parser.next() else { return }
                request = next
            } catch {
                if error.status == .requestHeaderFieldsTooLarge || error.status == .contentTooLarge {
                    metrics.limitRejected(error.status == .contentTooLarge ? "http-request-body" : "http-request-head")
                }
                logger.info("http request refused", ["peer": connection.peer, "code": String(error.status.code), "error": error.message])
                queue(HTTPResponse.text(error.status, error.message), on: connection, keepAlive: false, headOnly: false, now: now)
                return
            }
            connection.deadlineMs = now + configuration.httpRequestTimeoutMs
            respond(to: request, on: connection, now: now)
        }
    }

    private func respond(to request: HTTPRequest, on connection: HTTPConnection, now: Int64) {
        let headOnly = request.method == "HEAD"
        // During the shutdown drain a request is still answered, and its connection then closed.
        let keepAlive = request.keepAlive && shutdownDeadlineMs == nil
        let response: HTTPResponse
        switch HTTPRouter.route(request, token: authToken) {
        case .dashboard:
            response = HTTPResponse(status: .ok, contentType: "text/html; charset=utf-8", body: DashboardPage.bytes, headers: [
                ("Cache-Control", "no-store"),
                // The address may carry ?access_token=: never send it on in a Referer.
                ("Referrer-Policy", "no-referrer"),
                // The page may talk to this server only: no CDN, no third party.
                ("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'"),
                ("X-Content-Type-Options", "nosniff"),
            ])
        case .topology(let query):
            let snapshot = topology.snapshot(for: query, now: now)
            if snapshot.nodes.count + snapshot.edges.count >= Server.offLoopReplyEntries {
                queueEncoded(on: connection, keepAlive: keepAlive, headOnly: headOnly, now: now) { .json(snapshot.jsonUTF8()) }
                return
            }
            response = .json(snapshot.jsonUTF8())
        case .metrics:
            response = HTTPResponse(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8",
                                    body: Array(renderMetrics(now: now).utf8), headers: [("Cache-Control", "no-store")])
        case .healthz:
            response = .text(.ok, "ok")
        case .readyz:
            response = shutdownDeadlineMs == nil ? .text(.ok, "ready") : .text(.serviceUnavailable, "shutting down")
        case .unauthorized(let failure):
            metrics.authenticationFailed(listener: "http")
            logger.info("http request unauthorized", ["peer": connection.peer, "path": request.path, "reason": failure.reason])
            response = .text(failure.status, failure.message, headers: [("WWW-Authenticate", failure.challenge), ("Cache-Control", "no-store")])
        case .error(let status, let message):
            response = .text(status, message, headers: status == .methodNotAllowed ? [("Allow", "GET, HEAD")] : [])
        case .watch where shutdownDeadlineMs != nil:
            response = .text(.serviceUnavailable, "server shutting down; watch again on the next server")
        case .watch(let query, let resume):
            if headOnly {
                connection.outbound.append(contentsOf: HTTPResponse.eventStreamHead())
                metrics.httpRequests[200, default: 0] += 1
                beginClosingHTTP(connection, now: now)
                return
            }
            startEventStream(on: connection, query: query, resume: resume, now: now)
            return
        }
        queue(response, on: connection, keepAlive: keepAlive, headOnly: headOnly, now: now)
    }

    private func queue(_ response: HTTPResponse, on connection: HTTPConnection, keepAlive: Bool, headOnly: Bool, now: Int64) {
        metrics.httpRequests[response.status.code, default: 0] += 1
        if connection.pendingBytes > configuration.maxOutboundBytes {
            // Pipelining requests without reading the responses: the same rule as for frames.
            metrics.limitRejected("--max-outbound-bytes")
            closeHTTPNow(connection, reason: "not reading its responses")
            return
        }
        response.serialize(into: &connection.outbound, keepAlive: keepAlive, headOnly: headOnly)
        if keepAlive {
            scheduleHTTPFlush(connection)
        } else {
            beginClosingHTTP(connection, now: now)
        }
    }

    /// `queue` for a response too large to serialize on the loop (about a second as JSON for
    /// 100,000 nodes): the reply encoder makes it; `takeEncodedReply` queues it.
    private func queueEncoded(on connection: HTTPConnection, keepAlive: Bool, headOnly: Bool, now: Int64,
                              _ response: @escaping @Sendable () -> HTTPResponse) {
        if connection.pendingBytes > configuration.maxOutboundBytes {
            metrics.httpRequests[HTTPStatus.ok.code, default: 0] += 1
            metrics.limitRejected("--max-outbound-bytes")
            closeHTTPNow(connection, reason: "not reading its responses")
            return
        }
        let submitted = encodeOffLoop(for: connection.id) {
            var bytes: [UInt8] = []
            response().serialize(into: &bytes, keepAlive: keepAlive, headOnly: headOnly)
            return bytes
        }
        guard submitted else { return queue(response(), on: connection, keepAlive: keepAlive, headOnly: headOnly, now: now) }
        metrics.httpRequests[HTTPStatus.ok.code, default: 0] += 1
        connection.awaitingEncodedReply = true
        connection.encodedReplyKeepsAlive = keepAlive
        updateHTTPInterest(connection)
    }

    /// Bytes the reply encoder made for `connection`: a response (then the requests that came
    /// after it are served) or SSE events (then the watcher's next updates).
    func takeEncodedReply(_ bytes: [UInt8], forHTTP connection: HTTPConnection, now: Int64) {
        guard connection.awaitingEncodedReply else { return }
        connection.awaitingEncodedReply = false
        updateHTTPInterest(connection)
        if let stream = connection.stream {
            // A stream that has ended meanwhile: its events are moot, but its closing goes on.
            if !connection.closing {
                connection.append(encoded: bytes)
                retryWatchers.append(stream.watcher)
            }
            scheduleHTTPFlush(connection)
            return
        }
        connection.append(encoded: bytes)
        scheduleHTTPFlush(connection)
        if connection.closing {
            // The peer closed its side, or the server is shutting down: write the answer, then close.
            connection.closeDeadlineMs = now + max(configuration.shutdownGraceMs, 1_000)
        } else if connection.encodedReplyKeepsAlive {
            connection.deadlineMs = now + configuration.httpRequestTimeoutMs
            processHTTPRequests(connection, now: now)
        } else {
            beginClosingHTTP(connection, now: now)
        }
    }

    /// Readable unless the peer has closed its side or a reply is being encoded; writable while
    /// output waits for the socket.
    private func updateHTTPInterest(_ connection: HTTPConnection) {
        let read = connection.peerClosed || connection.awaitingEncodedReply ? 0 : UInt32(TOPOLOGY_EPOLLIN | TOPOLOGY_EPOLLRDHUP)
        let events = UInt32(connection.waitingForWritable ? TOPOLOGY_EPOLLOUT : 0) | read
        try? epoll?.modify(connection.fd, events: events, data: connection.id)
    }

    private func startEventStream(on connection: HTTPConnection, query: TopologyQuery, resume: SSEEventID?, now: Int64) {
        var request = WatchTopologyRequest(query: query)
        if let resume {
            request.resumeAfterRevision = resume.revision
            request.resumeServerEpoch = resume.serverEpoch
        }
        let watcher: WatcherID
        do {
            watcher = try topology.watch(request, now: now)
        } catch {
            let status: HTTPStatus
            if case .resourceExhausted(let limit, _) = error {
                metrics.limitRejected(CommandLineOptions.flag(forConfigurationField: limit) ?? limit)
                status = .serviceUnavailable
            } else {
                status = .badRequest
            }
            queue(HTTPResponse.text(status, error.serverStatus.message), on: connection, keepAlive: false, headOnly: false, now: now)
            return
        }
        metrics.httpRequests[200, default: 0] += 1
        connection.stream = HTTPConnection.EventStream(watcher: watcher, nextCommentMs: now + configuration.sseCommentIntervalMs)
        sseWatchers[watcher] = connection.id
        connection.outbound.append(contentsOf: HTTPResponse.eventStreamHead())
        // The reconnection delay for EventSource, and the epoch a client may compare ids with.
        connection.outbound.append(contentsOf: "retry: 1000\n: topology watch, server_epoch \(serverEpoch)\n\n".utf8)
        logger.info("watch started", ["peer": connection.peer, "transport": "sse", "resume": resume?.text ?? "", "watchers": String(topology.watcherCount)])
        retryWatchers.append(watcher)
        scheduleHTTPFlush(connection)
    }

    /// Moves updates of an SSE watcher from the core to its connection while the queue is under the
    /// watch bound (half of --max-outbound-bytes), exactly as for a frames watcher: a slow reader's
    /// backlog stays in the core, which coalesces it and, past its limit, resyncs.
    func deliverSSE(_ watcher: WatcherID, connectionID: UInt64, cache: inout WatchEncodingCache) {
        guard let connection = httpConnections[connectionID], !connection.closing, !connection.awaitingEncodedReply else { return }
        let bound = configuration.maxOutboundBytes / 2
        while true {
            if connection.pendingBytes >= bound {
                connection.watcherBlocked = true
                return
            }
            let updates = topology.takeUpdates(for: watcher, max: 32, cache: &cache)
            if updates.isEmpty {
                connection.watcherBlocked = false
                return
            }
            let large = updates.firstIndex { ($0.snapshot?.nodes.count ?? 0) + ($0.snapshot?.edges.count ?? 0) >= Server.offLoopReplyEntries }
            for update in updates[..<(large ?? updates.count)] {
                SSEEncoder.append(TopologyUpdateJSON(revision: update.revision, json: update.jsonUTF8()), epoch: serverEpoch, to: &connection.outbound)
            }
            scheduleHTTPFlush(connection)
            if let large {
                // A large snapshot, and what came after it, in order, off the loop; the watcher's
                // further updates wait in the core (coalesced there if need be) until they are queued.
                let rest = Array(updates[large...])
                let epoch = serverEpoch
                let encode: @Sendable () -> [UInt8] = {
                    var bytes: [UInt8] = []
                    for update in rest {
                        SSEEncoder.append(TopologyUpdateJSON(revision: update.revision, json: update.jsonUTF8()), epoch: epoch, to: &bytes)
                    }
                    return bytes
                }
                guard encodeOffLoop(for: connection.id, encode) else {
                    connection.outbound.append(contentsOf: encode())
                    continue
                }
                connection.awaitingEncodedReply = true
                updateHTTPInterest(connection)
                return
            }
        }
    }

    // MARK: Output and closing

    func scheduleHTTPFlush(_ connection: HTTPConnection) {
        if !connection.scheduledForFlush {
            connection.scheduledForFlush = true
            httpFlushList.append(connection)
        }
    }

    func flushHTTPList(now: Int64) {
        let list = httpFlushList
        httpFlushList.removeAll(keepingCapacity: true)
        for connection in list {
            connection.scheduledForFlush = false
            if httpConnections[connection.id] != nil { flushHTTP(connection, now: now) }
        }
    }

    private func flushHTTP(_ connection: HTTPConnection, now: Int64) {
        do {
            if try connection.writeQueued() { updateHTTPInterest(connection) }
        } catch {
            closeHTTPNow(connection, reason: "write error")
            return
        }
        if connection.closing {
            // Written: half-close, then drain input until the peer closes or the grace period ends
            // (closing with unread input would reset the connection and could lose the response).
            // A response still being encoded is not written yet.
            if connection.pendingBytes == 0 && !connection.awaitingEncodedReply {
                if connection.peerClosed { closeHTTPNow(connection, reason: "answered") } else { _ = shutdown(connection.fd, Int32(SHUT_WR)) }
            }
            return
        }
        if connection.watcherBlocked, let stream = connection.stream,
           connection.pendingBytes < configuration.maxOutboundBytes / 2 {
            connection.watcherBlocked = false
            retryWatchers.append(stream.watcher)
        }
    }

    /// Stops serving; the connection is closed once the peer has read what is queued and closed its
    /// side, or at the close deadline.
    func beginClosingHTTP(_ connection: HTTPConnection, now: Int64) {
        guard !connection.closing else { return }
        connection.closing = true
        connection.closeDeadlineMs = now + max(configuration.shutdownGraceMs, 1_000)
        if let stream = connection.stream {
            endWatch(stream.watcher)
            sseWatchers[stream.watcher] = nil
        }
        scheduleHTTPFlush(connection)
    }

    func closeHTTPNow(_ connection: HTTPConnection, reason: String) {
        guard httpConnections.removeValue(forKey: connection.id) != nil else { return }
        memoryReturn.released(connection.outbound.capacity)
        if let stream = connection.stream {
            endWatch(stream.watcher)
            sseWatchers[stream.watcher] = nil
        }
        epoll?.remove(connection.fd)
        Sockets.close(connection.fd)
        logger.debug("http connection closed", ["peer": connection.peer, "reason": reason])
    }

    // MARK: Timers

    /// The earliest HTTP deadline: a close grace period, an SSE comment, or a request deadline.
    func nextHTTPWakeupMs() -> Int64? {
        var deadline: Int64?
        for connection in httpConnections.values where !connection.awaitingEncodedReply {
            let due = connection.closing ? connection.closeDeadlineMs
                : connection.stream?.nextCommentMs ?? connection.deadlineMs
            deadline = min(deadline ?? due, due)
        }
        return deadline
    }

    func runHTTPTimers(now: Int64) {
        guard !httpConnections.isEmpty else { return }
        // A connection waiting for an encoded reply has its deadlines set again once it is queued.
        for connection in Array(httpConnections.values) where !connection.awaitingEncodedReply {
            if connection.closing {
                if connection.closeDeadlineMs <= now { closeHTTPNow(connection, reason: "close deadline") }
            } else if var stream = connection.stream {
                guard stream.nextCommentMs <= now else { continue }
                stream.nextCommentMs = now + configuration.sseCommentIntervalMs
                connection.stream = stream
                if connection.pendingBytes < configuration.maxOutboundBytes / 2 {
                    SSEEncoder.appendComment("keep-alive \(now)", to: &connection.outbound)
                    scheduleHTTPFlush(connection)
                }
            } else if connection.deadlineMs <= now {
                if connection.parser.bufferedBytes > 0 {
                    // A request was started and not finished in time.
                    logger.info("http request timed out", ["peer": connection.peer])
                    queue(HTTPResponse.text(.requestTimeout, "request head not complete within --http-request-timeout-ms=\(configuration.httpRequestTimeoutMs)"),
                          on: connection, keepAlive: false, headOnly: false, now: now)
                    metrics.limitRejected("--http-request-timeout-ms")
                } else {
                    closeHTTPNow(connection, reason: connection.pendingBytes > 0 ? "response not read in time" : "idle")
                }
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
        for connection in httpConnections.values where !connection.closing && connection.stream != nil {
            SSEEncoder.appendComment("server shutting down", to: &connection.outbound)
            beginClosingHTTP(connection, now: now)
        }
    }

    /// No HTTP connection has work left for the shutdown drain to wait for: each is an idle
    /// keep-alive connection (nothing queued, no request begun), which may be closed at once.
    var httpConnectionsAreIdle: Bool {
        httpConnections.values.allSatisfy { $0.isWaitingForRequest && $0.parser.bufferedBytes == 0 }
    }

    // MARK: Metrics

    func renderMetrics(now: Int64) -> String {
        let gauges = ServerMetrics.Gauges(
            servicesByState: topology.serviceCountsByState, edges: topology.edgeCount, watchers: topology.watcherCount, sseWatchers: sseWatchers.count,
            binaryConnections: connections.count, httpConnections: httpConnections.count, revision: topology.currentRevision,
            residentBytes: ServerMetrics.residentMemoryBytes(), version: topologyServerVersion, serverEpoch: serverEpoch,
            startTimeSeconds: Double(startedAtMs) / 1000, logLinesDropped: logWriter?.droppedLines ?? 0,
            livenessHolds: inputHorizon.holds, maxInputLagMs: inputHorizon.maxLagMs)
        return metrics.render(gauges)
    }
}
