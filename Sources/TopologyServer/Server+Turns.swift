/// One turn of the loop: the ready sockets it handles within its input budget (the rest carried
/// to the next turn), the time each phase takes, and the "slow loop turn" line at its end.
extension Server {
    /// Handles the sockets the last turns left, then the `count` the wait reported, until the
    /// turn's input budget (`ServerConfiguration.turnInputBudgetMs`) is spent; the rest wait in
    /// `carriedReady` for the next turn, which comes at once. Returns, of the sockets left, the
    /// earliest time through which one has been read (what the input horizon may move to, see
    /// `InputHorizon`); nil when all were handled.
    ///
    /// Why a budget: 3,000 connections each bringing 100 registrations at once made one turn of
    /// 1.2 to 1.8 s at 1,000,000 services, holding every reply, write and timer behind it (the
    /// "slow loop turn" log). Epoll is level-triggered, so a socket not handled is reported again;
    /// it is carried rather than left to the next wait because that wait lists sockets in the same
    /// order, and the ones at the end would wait behind the same ones every turn.
    func handleReady(count: Int, data: [UInt64], events: [UInt32]) -> Int64? {
        // The carried sockets are still ready, so the wait reported them again: each is listed
        // once, with both reports' events and the time of its first, oldest first, and the list
        // never holds more than the sockets.
        var work = carriedReady
        carriedReady = []
        let listedReadThroughMs = inputHorizon.newlyListedReadThroughMs
        if !work.isEmpty {
            var position: [UInt64: Int] = [:]
            for (index, entry) in work.enumerated() { position[entry.token] = index }
            for i in 0..<count {
                if let index = position[data[i]] {
                    work[index].events |= events[i]
                } else {
                    work.append(ReadySocket(token: data[i], events: events[i], readThroughMs: listedReadThroughMs))
                }
            }
        }
        let total = work.isEmpty ? count : work.count
        let deadlineNs = turnProfile.startNs + configuration.turnInputBudgetMs * 1_000_000
        var next = 0
        while next < total {
            if next % 16 == 0, next > 0, clock.monotonicNs() >= deadlineNs { break }
            let (token, flags) = work.isEmpty ? (data[next], events[next]) : (work[next].token, work[next].events)
            handleEvent(token: token, events: flags, now: clock.nowMs())
            runTimersIfDue()
            next += 1
        }
        guard next < total else { return nil }
        if work.isEmpty {
            for i in next..<count {
                carriedReady.append(ReadySocket(token: data[i], events: events[i], readThroughMs: listedReadThroughMs))
            }
        } else {
            carriedReady.append(contentsOf: work[next...])
        }
        localStats.turnsCutShort += 1
        return carriedReady.lazy.map(\.readThroughMs).min()
    }

    /// A socket a turn left unhandled: its token, the events the waits reported, and what had
    /// been read of it when a wait first listed it (`InputHorizon.newlyListedReadThroughMs`).
    struct ReadySocket {
        let token: UInt64
        var events: UInt32
        let readThroughMs: Int64
    }

    /// Runs `body`, adding its time to `phase` of this turn's profile.
    func timed<T>(_ phase: LoopTurnProfile.Phase, _ body: () -> T) -> T {
        let start = clock.monotonicNs()
        defer { turnProfile.add(phase, ns: clock.monotonicNs() - start) }
        return body()
    }

    /// The turn's writes are done: its length goes into the stats, and a slow turn into the log
    /// (at most one line a second, `SlowTurnLog`) with where its time went.
    func endTurn() {
        let endNs = clock.monotonicNs()
        let turnMs = (endNs - turnProfile.startNs) / 1_000_000
        localStats.maxLoopTurnMs = max(localStats.maxLoopTurnMs, turnMs)
        let logged = slowTurnLog.turnEnded(turnMs: turnMs, nowMs: clock.ms(monotonicNs: endNs))
        localStats.slowTurns = slowTurnLog.total
        guard let unlogged = logged else { return }
        logger.log(.warning, "slow loop turn", fieldList: turnProfile.fields(endNs: endNs) + [
            ("slow_turns_unlogged", String(unlogged)), ("services", String(topology.serviceCount)),
            ("connections", String(connections.count)),
        ])
    }
}
