import TopologyProtocol

/// Clients that send requests faster than they read the replies: once more than
/// `--max-outbound-bytes` are queued for one, its session takes no more frames
/// (`FrameSession.State.awaitingDrain`) and its socket is not read, so TCP slows the client down to
/// the pace it reads at. It is read again once its queue is written down to half the limit. A client
/// that reads nothing for `stalledReaderMs` meanwhile has stopped reading: it is closed with
/// RESOURCE_EXHAUSTED, and the queue goes with it.
extension Server {
    /// A client with bytes queued and none of them written for this long has stopped reading.
    static let stalledReaderMs: Int64 = 2_000

    /// The session stopped taking frames for the queue to drain: reading stops, and a drain check
    /// is set unless one is still ahead.
    func pausedForDrain(_ connection: Connection, now: Int64) {
        updateInterest(connection)
        guard connection.drainCheckMs == nil else { return }
        let deadline = now + Server.stalledReaderMs
        connection.drainCheckMs = deadline
        drainDeadlines.append(connection: connection.id, deadlineMs: deadline)
    }

    /// After a write: a connection paused for its queue to drain is read again once the queue is
    /// under half of `--max-outbound-bytes`, starting with the frames it holds already.
    func resumeIfDrained(_ connection: Connection, now: Int64) {
        guard connection.session.state == .awaitingDrain, connection.pendingBytes < configuration.maxOutboundBytes / 2 else { return }
        connection.session.resumeAfterDrain()
        updateInterest(connection)
        readAll(connection, now: now)
    }

    func isDrainDeadlineLive(connection id: UInt64, deadlineMs: Int64) -> Bool {
        guard let connection = connections[id], !connection.closing else { return false }
        return connection.drainCheckMs == deadlineMs
    }

    /// Drain checks due: a connection still paused that has had nothing written for
    /// `stalledReaderMs` is closed; one whose client reads, however slowly, is checked again later.
    func runDrainChecks(now: Int64) {
        var reading: [Connection] = []
        drainDeadlines.popDue(now: now) { id, deadlineMs in
            guard isDrainDeadlineLive(connection: id, deadlineMs: deadlineMs), let connection = connections[id] else { return }
            connection.drainCheckMs = nil
            guard connection.session.state == .awaitingDrain else { return }
            let idleMs = now - connection.lastWriteProgressMs
            guard idleMs >= Server.stalledReaderMs else { return reading.append(connection) }
            metrics.limitRejected("--max-outbound-bytes")
            protocolError(connection, code: .resourceExhausted,
                          message: "the client is not reading its replies: \(connection.pendingBytes) bytes queued, over the limit "
                              + "--max-outbound-bytes=\(configuration.maxOutboundBytes), and none written for \(idleMs) ms; "
                              + "the connection is closed",
                          now: now)
        }
        // Every entry is `stalledReaderMs` after it is set, which keeps the queue in order: the
        // close may come up to twice that after the last byte written.
        for connection in reading { pausedForDrain(connection, now: now) }
    }
}
