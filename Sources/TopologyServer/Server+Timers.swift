import CTopologyShims
import TopologyCore
import TopologyProtocol

/// Timers: when the loop must wake next, and what it does then (liveness with the input horizon,
/// frame deadlines, closing connections, HTTP and gRPC deadlines, giving memory back, history samples).
extension Server {
    func nextWakeupMs(now: Int64) -> Int64? {
        var deadline = topology.nextDeadline
        if let due = deadline, due <= now, inputHorizon.heldByConnection(deadline: due, nowMs: now) {
            // Held until a connection behind is read: its input, or the reply encoder, wakes the
            // loop; meanwhile look again every millisecond rather than spin.
            deadline = now + 1
        }
        func consider(_ value: Int64) { deadline = min(deadline ?? value, value) }
        if let first = firstFrameDeadlines.nextDeadline(isLive: isFirstFrameDeadlineLive) { consider(first) }
        if let partial = partialFrameDeadlines.nextDeadline(isLive: isPartialFrameDeadlineLive) { consider(partial) }
        if let drain = drainDeadlines.nextDeadline(isLive: isDrainDeadlineLive) { consider(drain) }
        for id in closingConnections {
            if let connection = connections[id] { consider(connection.closeDeadlineMs) }
        }
        if let shutdownDeadlineMs { consider(shutdownDeadlineMs) }
        if watchUpdatesWaiting { consider(nextWatchRoundMs) }
        if !httpConnections.isEmpty, let http = nextHTTPWakeupMs() { consider(http) }
        if let grpc = nextGRPCDeadlineMs() { consider(grpc) }
        // Int64.min before the first sample: due at once.
        if let sample = history.nextDeadline(revision: topology.currentRevision) { consider(max(sample, now)) }
        // A flush scheduled during the last flush (a gRPC connection whose socket took a whole
        // batch of DATA, with more let out by the windows) runs at the next turn: at once, not at
        // the next event, which may never come while the client waits for that DATA.
        if !flushList.isEmpty { consider(now) }
        return deadline
    }

    func runTimers(now: Int64) {
        let due = topology.nextDeadline.flatMap { $0 <= now ? $0 : nil }
        let horizon = inputHorizon.horizon(nowMs: now)
        if let hold = inputHorizon.noteTimers(due: topology.nextLivenessDeadline, horizon: horizon, nowMs: now),
           hold.maxLagMs >= Server.logHoldsFromLagMs {
            logger.warning("liveness deadlines held: input was read late", [
                "held_ms": String(hold.heldMs), "max_lag_ms": String(hold.maxLagMs),
                "connections_behind": String(inputHorizon.connectionsBehind),
            ])
        }
        let events = timed(.timers) { advanceCore(to: now, inputReadThrough: horizon) }
        if let replyEncoder, let garbage = topology.takeRetiredStorage() { replyEncoder.release(garbage) }
        if let due {
            // Measured when advance has returned: every transition it made took effect by now, and
            // none of them was due before `due`.
            localStats.timerWakeups += 1
            localStats.maxTimerLatenessMs = max(localStats.maxTimerLatenessMs, clock.nowMs() - due)
        }
        logEvents(events)
        firstFrameDeadlines.popDue(now: now) { id, deadlineMs in
            guard isFirstFrameDeadlineLive(connection: id, deadlineMs: deadlineMs), let connection = connections[id] else { return }
            protocolError(connection, code: .deadlineExceeded,
                          message: "no complete frame within --first-frame-timeout-ms=\(configuration.firstFrameTimeoutMs) of connecting",
                          now: now)
        }
        partialFrameDeadlines.popDue(now: now) { id, deadlineMs in
            guard isPartialFrameDeadlineLive(connection: id, deadlineMs: deadlineMs), let connection = connections[id] else { return }
            protocolError(connection, code: .deadlineExceeded,
                          message: "frame not complete within --frame-timeout-ms=\(configuration.frameTimeoutMs) of its first byte "
                              + "(\(connection.session.bufferedByteCount) bytes of it received); the connection is closed",
                          now: now)
        }
        runDrainChecks(now: now)
        for id in closingConnections {
            if let connection = connections[id], connection.closeDeadlineMs <= now {
                closeNow(connection, reason: "close deadline")
            }
        }
        runHTTPTimers(now: now)
        runGRPCTimers(now: now)
        sampleHistory(now: now)
        // Timed only when there is something to do: this runs after almost every event at scale.
        if now >= nextIdleBufferSweepMs || memoryReturn.isDue(nowMs: now) {
            timed(.memory) {
                // Idle buffers first, so that the trim that may follow gives their memory back too.
                releaseIdleBuffers(now: now)
                if memoryReturn.trimIfDue(nowMs: now, residentBytes: ServerMetrics.residentMemoryBytes, heapFreeBytes: MemoryReturn.heapFreeBytes,
                                          trim: { _ = topology_malloc_trim() }, monotonicNs: clock.monotonicNs) {
                    localStats.memoryTrims += 1
                }
            }
        }
    }

    /// The core's due timers, within this turn's fan-out budget, in slices of `fanOutPerSlice`, for
    /// at most `timersNsPerTurn` in the whole turn: what is left stays due for the next turn, which
    /// comes at once. The budget counts watcher visits, and what one visit costs grows with the
    /// core: at 1,000,000 services with four watchers, a turn spent 116 to 429 ms within it
    /// publishing refreshes (each builds its node, a cache miss or more per field) while heartbeats
    /// waited. The time is per turn, not per call: a turn that reads many sockets serves timers
    /// between them (`runTimersIfDue`), and 10 ms a call added up to a 508 ms turn.
    func advanceCore(to now: Int64, inputReadThrough horizon: Int64) -> [TopologyEvent] {
        let startNs = clock.monotonicNs()
        let spentNs = turnProfile.nanoseconds(in: .timers)
        // Calls that each do a little (one between every two sockets read) add up too.
        guard spentNs < Server.timersNsPerTurn else {
            fanOutLeftThisTurn = 0
            return []
        }
        var events: [TopologyEvent] = []
        while true {
            let workBefore = topology.fanOutWork
            let slice = min(fanOutLeftThisTurn, Server.fanOutPerSlice)
            events += topology.advance(to: now, inputReadThrough: horizon, fanOutBudget: slice)
            let used = topology.fanOutWork - workBefore
            fanOutLeftThisTurn = max(0, fanOutLeftThisTurn - used)
            // Another slice only if this one ran out of budget (more may be due) and time is left.
            guard used >= slice, fanOutLeftThisTurn > 0 else { return events }
            if spentNs + clock.monotonicNs() - startNs >= Server.timersNsPerTurn {
                fanOutLeftThisTurn = 0  // no more timers this turn, between sockets either
                return events
            }
        }
    }

    /// One slice of `advanceCore` (the time is checked between slices), and how long the core's
    /// timers may take in one turn.
    static let fanOutPerSlice = 2_500
    static let timersNsPerTurn: Int64 = 10_000_000

    /// A hold whose lag reached this is logged (shorter ones are counted only).
    static let logHoldsFromLagMs: Int64 = 100

    /// The work the core's timers may do per loop turn (`Topology.advance(fanOutBudget:)`), in
    /// watcher-slot visits, each update published counting `Topology.publishCost` more: some 5 to
    /// 50 ms of work: 5 updates published to 5,000 watchers, 50 to 500, 1,500 to none. With 2,000
    /// services whose throttled refreshes fell due together and 5,000 watchers, firing them all at
    /// once held the loop for 15 to 24 s (measured, docs/reliability.md): heartbeats went unread,
    /// and every watcher's buffer overflowed and was coalesced, since none could take its updates.
    static let fanOutPerTurn = 25_000
}
