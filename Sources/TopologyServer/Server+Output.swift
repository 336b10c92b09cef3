import CTopologyShims
import TopologyCore
import TopologyProtocol
import TopologyWire

/// Output: each connection's queue written at the end of a wake-up, EPOLLOUT while the kernel's
/// buffer is full, and closing once the queue is written.
extension Server {
    // MARK: - Output

    /// The epoll events a connection waits for: writable while output is queued, readable unless
    /// it is closing, or paused (waiting for a reply being encoded, or for its queue to drain) with
    /// input already known to be waiting (see `Connection.listensWhilePaused`).
    func updateInterest(_ connection: Connection) {
        let paused = connection.readPaused && !connection.listensWhilePaused
        let read = connection.closing || paused ? 0 : UInt32(TOPOLOGY_EPOLLIN | TOPOLOGY_EPOLLRDHUP)
        let events = (connection.waitingForWritable ? UInt32(TOPOLOGY_EPOLLOUT) : 0) | read
        try? epoll?.modify(connection.fd, events: events, data: connection.id)
    }

    func scheduleFlush(_ connection: Connection) {
        flushList.schedule(connection)
    }

    func flushAll(now: Int64) {
        for connection in flushList.take() where connections[connection.id] != nil {
            flush(connection, now: now)
        }
        if !httpFlushList.isEmpty { flushHTTPList(now: now) }
        if outboundBytesTotal > configuration.maxTotalOutboundBytes, now >= nextBudgetCheckMs {
            nextBudgetCheckMs = now + Server.budgetCheckIntervalMs
            closeStalledWatchers(now: now)
        }
    }

    /// Frees `garbage` (the last reference to a large buffer) on the reply encoder's thread, or
    /// here before `start()`.
    func releaseOffLoop(_ garbage: Any) {
        replyEncoder?.release(garbage)
    }

    /// Writes what the kernel takes; registers for EPOLLOUT if some is left.
    func flush(_ connection: Connection, now: Int64) {
        let interestChanged: Bool
        do {
            interestChanged = try connection.writeQueued(release: releaseOffLoop)
            // gRPC: DATA the client's windows let out, a batch at a time while the socket takes it.
            if connection.grpc != nil, connection.pendingBytes == 0, connection.grpc!.hasOutbound {
                connection.append(encoded: connection.grpc!.takeOutbound())
                scheduleFlush(connection)
            }
        } catch {
            logger.debug("connection write failed", ["peer": connection.peer, "error": "\(error)"])
            closeNow(connection, reason: "write error")
            return
        }
        if connection.pendingBytes < connection.countedPendingBytes || connection.pendingBytes == 0 {
            connection.lastWriteProgressMs = now
        }
        countPending(connection)
        localStats.maxConnectionOutboundBytes = max(localStats.maxConnectionOutboundBytes, connection.pendingBytes)
        if interestChanged { updateInterest(connection) }
        if connection.closing {
            if connection.pendingBytes == 0 { closeNow(connection, reason: "closed") }
            return
        }
        // Drained below the watch bound: the watchers it held back may take updates again.
        if !connection.blockedWatchers.isEmpty, connection.pendingBytes < configuration.maxOutboundBytes / 2 {
            retryWatchers.append(contentsOf: connection.blockedWatchers)
            connection.blockedWatchers.removeAll()
        }
        resumeIfDrained(connection, now: now)
    }

    /// Brings the total of queued output (`--max-total-outbound-bytes`) up to date with one queue,
    /// a frames connection or an HTTP one (an event stream).
    func countPending(_ queue: some OutboundQueue) {
        outboundBytesTotal += queue.pendingBytes - queue.countedPendingBytes
        queue.countedPendingBytes = queue.pendingBytes
    }

    /// Stops reading; the connection is closed once its queue is written, or after a grace period.
    func beginClosing(_ connection: Connection, now: Int64) {
        guard !connection.closing else { return }
        connection.closing = true
        connection.closeDeadlineMs = now + max(configuration.shutdownGraceMs, 100)
        closingConnections.insert(connection.id)
        connection.waitingForWritable = connection.pendingBytes > 0
        updateInterest(connection)
        scheduleFlush(connection)
    }

    func closeNow(_ connection: Connection, reason: String) {
        guard connections.removeValue(forKey: connection.id) != nil else { return }
        outboundBytesTotal -= connection.countedPendingBytes
        inputHorizon.connectionCaughtUp(connection.id)
        endCalls(connection)
        closingConnections.remove(connection.id)
        epoll?.remove(connection.fd)
        Sockets.close(connection.fd)
        logger.debug("connection closed", ["peer": connection.peer, "reason": reason])
    }
}
