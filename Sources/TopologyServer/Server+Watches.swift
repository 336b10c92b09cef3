import CTopologyShims
import TopologyCore
import TopologyProtocol
import TopologyWire

/// Watch delivery: updates taken from the core in rounds, each encoded once for every watcher that
/// takes it; large snapshots encoded by the reply encoder; the budget of all queued output.
extension Server {
    // MARK: - Watches

    /// Watch updates go out in rounds. While many watchers take updates (more than
    /// `watchersPerUnpacedRound` in a round), at most one round per this many milliseconds: each
    /// watcher then gets one larger write per round instead of one small write per loop wake-up,
    /// and the kernel's cost per write, times the watchers, is most of what a busy stream costs.
    /// Fewer watchers get their updates at every wake-up, with no wait.
    static let watchRoundIntervalMs: Int64 = 2
    static let watchersPerUnpacedRound = 16

    var watchUpdatesWaiting: Bool { topology.hasReadyWatchers || !retryWatchers.isEmpty }

    /// The longest a round of watch delivery runs before the loop reads its sockets again.
    static let watchRoundBudgetMs: Int64 = 5

    /// Takes watch updates from the core only while a connection's queue is under the watch bound:
    /// a slow watcher's backlog stays in the core, which coalesces it and, past its limit, resyncs.
    /// Each update (and each full snapshot) is encoded once for all the watchers of the round.
    /// Returns how many watchers were served.
    func deliverWatchUpdates() -> Int {
        retryWatchers.append(contentsOf: topology.takeReadyWatchers())
        let ready = retryWatchers.take()
        let bound = configuration.maxOutboundBytes / 2
        // Over the budget of all queued bytes, a watcher takes updates only while its connection
        // has nothing queued: its backlog stays in the core, which coalesces it.
        let overBudget = outboundBytesTotal >= configuration.maxTotalOutboundBytes
        var encodings = WatchEncodingCache()
        var sharedSnapshots: [SharedWatchSnapshot.Key: SharedWatchSnapshot] = [:]
        let startedMs = clock.nowMs()
        for (index, watcher) in ready.enumerated() {
            // A round may take `watchRoundBudgetMs`; the watchers left wait for the next one, after
            // the loop has read its sockets again (heartbeats come before watchers).
            if index > 0, index % 64 == 0, clock.nowMs() - startedMs >= Server.watchRoundBudgetMs {
                retryWatchers.append(contentsOf: ready[index...])
                return index
            }
            if let httpID = sseWatchers[watcher] {
                deliverSSE(watcher, connectionID: httpID, cache: &encodings)
                continue
            }
            guard let (connectionID, callID) = watcherCalls[watcher], let connection = connections[connectionID],
                  !connection.closing, !watchersAwaitingEncoding.contains(watcher) else { continue }
            var taken = 0
            while true {
                if taken >= WatchEncodingCache.updatesPerRound {
                    retryWatchers.append(watcher)  // the rest in the next round
                    break
                }
                let backlog = connection.watchBacklog(callID: callID)
                if backlog >= bound || (overBudget && backlog > 0) {
                    connection.blockedWatchers.insert(watcher)
                    break
                }
                if let pending = topology.pendingSnapshot(for: watcher),
                   topology.serviceCount + topology.edgeCount >= Server.offLoopReplyEntries, replyEncoder != nil {
                    encodeSnapshotOffLoop(for: watcher, callID: callID, wholeTopology: pending.wholeTopology,
                                          cache: &encodings, shared: &sharedSnapshots)
                    break
                }
                let updates = encodings.take(for: watcher, max: 32, from: &topology)
                if updates.isEmpty {
                    connection.blockedWatchers.remove(watcher)
                    break
                }
                let before = connection.outbound.count
                for update in updates {
                    connection.appendWatchResponse(callID: callID, encoded: update)
                }
                taken += updates.count
                connection.largestWatchBatchBytes = max(connection.largestWatchBatchBytes, connection.outbound.count - before)
                scheduleFlush(connection)
            }
        }
        return ready.count
    }

    /// Takes a watcher's updates, which start with a SNAPSHOT of a large topology, and has the
    /// reply encoder build and encode them: at 1,000,000 services seconds of work that the loop does
    /// not wait for (it takes the snapshot's `SnapshotSource`, O(nodes / 1,024)). A snapshot of the
    /// whole topology is built and encoded once for all the round's watchers that take it. The
    /// watcher takes nothing more until the bytes are queued (`takeEncodedWatchUpdates`), so its
    /// updates keep their order.
    func encodeSnapshotOffLoop(for watcher: WatcherID, callID: UInt64, wholeTopology: Bool,
                                       cache: inout WatchEncodingCache, shared: inout [SharedWatchSnapshot.Key: SharedWatchSnapshot]) {
        guard let pending = topology.takePendingSnapshot(for: watcher) else { return }
        let rest = cache.takeUpdates(for: watcher, max: 31, from: &topology)
        let snapshot: SharedWatchSnapshot
        let key = SharedWatchSnapshot.Key(revision: pending.source.revision, timestampMs: pending.source.timestampMs, resync: pending.resync)
        if wholeTopology, let existing = shared[key] {
            snapshot = existing
        } else {
            snapshot = SharedWatchSnapshot(pending)
            if wholeTopology { shared[key] = snapshot }
        }
        let destination = nextConnectionID
        nextConnectionID += 1
        watchSnapshotJobs[destination] = watcher
        watchersAwaitingEncoding.insert(watcher)
        _ = encodeOffLoop(for: destination) {
            var bytes = snapshot.framed(callID: callID)  // shared by the watchers on this call id until more is appended
            for update in rest {
                Connection.appendWatchResponse(callID: callID, encoded: WatchTopologyResponse(update: update).serializedBytes(), to: &bytes)
            }
            return bytes
        }
    }

    /// A watcher's updates that the reply encoder encoded: queued if its watch is still open, and
    /// the watcher may take more.
    func takeEncodedWatchUpdates(_ bytes: [UInt8], for watcher: WatcherID, now: Int64) {
        watchersAwaitingEncoding.remove(watcher)
        guard let (connectionID, _) = watcherCalls[watcher], let connection = connections[connectionID], !connection.closing else { return }
        if connection.grpc != nil {
            takeEncodedGRPCReply(bytes, connection, now: now)
        } else {
            connection.append(encoded: bytes)
        }
        connection.largestWatchBatchBytes = max(connection.largestWatchBatchBytes, bytes.count)
        scheduleFlush(connection)
        retryWatchers.append(watcher)
    }

    /// Frames a gRPC connection's session gets back as they were encoded (length-prefixed Frames):
    /// it writes them on their streams, through their flow control.
    func takeEncodedGRPCReply(_ bytes: [UInt8], _ connection: Connection, now: Int64) {
        guard !connection.closing else { return }
        answer(connection, now: now) { connection.grpc!.takeEncodedReply(bytes, &dispatcher, &$0) }
    }

    /// A GetTopology's gRPC message that the reply encoder made (`GRPCSession.offLoopMessage`).
    func takeEncodedGRPCMessage(_ message: [UInt8], _ connection: Connection, now: Int64) {
        guard !connection.closing else { return }
        answer(connection, now: now) { connection.grpc!.takeEncodedMessage(message, &$0) }
    }

    /// Gives `encode` to the reply encoder; its bytes come back for `connection` through
    /// `takeEncodedReplies`. False when there is none (before `start()`): encode on the loop then.
    func encodeOffLoop(for connection: UInt64, _ encode: @escaping @Sendable () -> [UInt8]) -> Bool {
        guard let replyEncoder else { return false }
        replyEncoder.encode(for: connection, encode)
        localStats.offLoopReplies += 1
        return true
    }

    /// Replies the worker has encoded: each goes where its connection's replies stand, and the
    /// connection is read again, starting with the frames that came after the request.
    func takeEncodedReplies(now: Int64) {
        guard let replyEncoder else { return }
        for finished in replyEncoder.takeFinished() {
            if let watcher = watchSnapshotJobs.removeValue(forKey: finished.connection) {
                takeEncodedWatchUpdates(finished.bytes, for: watcher, now: now)
                continue
            }
            if let http = httpConnections[finished.connection] {
                takeEncodedReply(finished.bytes, forHTTP: http, now: now)
                continue
            }
            if let connection = connections[finished.connection], connection.grpc != nil {
                takeEncodedGRPCMessage(finished.bytes, connection, now: now)
                continue
            }
            guard let connection = connections[finished.connection], connection.awaitingEncodedReply else { continue }
            connection.session.resumeAfterEncodedReply()
            var allowed = false
            answer(connection, now: now) { allowed = dispatcher.replyAllowed(&connection.session.callState, &$0, topology: &topology) }
            if allowed {
                connection.append(encoded: finished.bytes)
                scheduleFlush(connection)
            }
            guard !connection.closing else { continue }
            updateInterest(connection)
            // What came after the request, and what arrived while reading was paused: the
            // connection holds the input horizon until it is read to the end again.
            readAll(connection, now: now)
        }
    }

    // MARK: - The budget of queued output

    static let budgetCheckIntervalMs: Int64 = 100

    /// Over `maxTotalOutboundBytes`: closes the connections whose watches stalled, the largest
    /// backlog first, until the total is under three quarters of the budget. Connections that are
    /// reading (a large reply on its way) are left alone, however large.
    func closeStalledWatchers(now: Int64) {
        let budget = configuration.maxTotalOutboundBytes
        let stalled = connections.values.filter {
            !$0.closing && $0.pendingBytes > 0 && now - $0.lastWriteProgressMs >= Server.stalledReaderMs && $0.callState.watchCount > 0
        }.sorted { $0.pendingBytes > $1.pendingBytes }
        var total = outboundBytesTotal
        for connection in stalled where total > budget * 3 / 4 {
            total -= connection.pendingBytes
            metrics.limitRejected("--max-total-outbound-bytes")
            protocolError(connection, code: .resourceExhausted,
                          message: "the server's budget for queued output (--max-total-outbound-bytes=\(budget)) is spent and this connection's watches "
                              + "have not read for \(now - connection.lastWriteProgressMs) ms (\(connection.pendingBytes) bytes queued); "
                              + "the connection is closed: read watch updates as they come, then reconnect and resume",
                          now: now)
        }
    }
}
