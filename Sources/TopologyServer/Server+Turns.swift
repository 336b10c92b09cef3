/// One turn of the loop: the ready sockets it handles within its input budget (the rest carried
/// to the next turn), the time each phase takes, and the "slow loop turn" line at its end.
extension Server {
    /// Handles the sockets the last turn left, then the `count` the wait reported, until the
    /// turn's input budget (`ServerConfiguration.turnInputBudgetMs`) is spent; the rest wait in `carriedReady`
    /// for the next turn, which comes at once. Returns whether the sockets carried from the last
    /// turn were all handled, and whether everything was (what the input horizon may move by: see
    /// `InputHorizon`).
    ///
    /// Why a budget: 3,000 connections each bringing 100 registrations at once made one turn of
    /// 1.2 to 1.8 s at 1,000,000 services, holding every reply, write and timer behind it (the
    /// "slow loop turn" log). Epoll is level-triggered, so a socket not handled is reported again;
    /// it is carried rather than left to the next wait because that wait lists sockets in the same
    /// order, and the ones at the end would wait behind the same ones every turn.
    func handleReady(count: Int, data: [UInt64], events: [UInt32]) -> (carried: Bool, all: Bool) {
        // The carried sockets are still ready, so the wait reported them again: each is listed
        // once, with both reports' events, and the list never holds more than the sockets.
        var work = carriedReady
        let carriedCount = work.count
        carriedReady = []
        if !work.isEmpty {
            var position: [UInt64: Int] = [:]
            for (index, entry) in work.enumerated() { position[entry.0] = index }
            for i in 0..<count {
                if let index = position[data[i]] { work[index].1 |= events[i] } else { work.append((data[i], events[i])) }
            }
        }
        let total = work.isEmpty ? count : work.count
        let deadlineNs = turnProfile.startNs + configuration.turnInputBudgetMs * 1_000_000
        var next = 0
        while next < total {
            if next % 16 == 0, next > 0, clock.monotonicNs() >= deadlineNs { break }
            let (token, flags) = work.isEmpty ? (data[next], events[next]) : work[next]
            handleEvent(token: token, events: flags, now: clock.nowMs())
            runTimersIfDue()
            next += 1
        }
        guard next < total else { return (carriedCount > 0, true) }
        if work.isEmpty {
            for i in next..<count { carriedReady.append((data[i], events[i])) }
        } else {
            carriedReady.append(contentsOf: work[next...])
        }
        localStats.turnsCutShort += 1
        return (carriedCount > 0 && next >= carriedCount, false)
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
