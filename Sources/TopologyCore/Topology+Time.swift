import TopologyWire

extension Topology {
    /// The earliest time `advance(to:)` has work: a liveness transition, an activity flush, a
    /// throttled refresh or a progress update. nil when nothing is scheduled. It may be early (a
    /// timer whose node heartbeated since then only reschedules itself), never late.
    public var nextDeadline: Int64? {
        var earliest = flushAt
        if let entry = livenessTimers.first {
            let due = entry.time + forgivenStallMs
            earliest = min(earliest ?? due, due)
        }
        if let entry = realTimers.first {
            earliest = min(earliest ?? entry.time, entry.time)
        }
        return earliest
    }

    /// The earliest liveness deadline (STALE, DEAD, IDLE, edge expiry), in real time; nil when none
    /// is scheduled. Early rather than late, as `nextDeadline`.
    public var nextLivenessDeadline: Int64? {
        livenessTimers.first.map { $0.time + forgivenStallMs }
    }

    /// Fires everything due at `now`, in time order of the timers. Returns the events since the
    /// previous call (including those input calls caused, such as a stall one of them noticed).
    ///
    /// `inputReadThrough`: the caller has read every input that arrived up to this time (at most
    /// `now`). Liveness deadlines fire only up to it: a busy caller that has not yet read the
    /// heartbeat a service sent before its deadline must not declare it STALE or DEAD. Other timers
    /// (activity flushes, throttled refreshes, watch progress) fire up to `now`.
    ///
    /// `fanOutBudget`: each update published is offered to every watcher, so with thousands of
    /// watchers a burst of due timers (2,000 throttled refreshes at once) is seconds of work, and
    /// with a million services a second's refreshes are too. Once the timers fired in this call
    /// have done this much work (`fanOutWork`: watcher slots visited, plus `publishCost` for each
    /// update and `timerCost` for each timer fired), the rest stay due, in order, for the next call
    /// (`nextDeadline` is then already past): the caller reads its input and lets watchers take
    /// their updates in between. A timer fires later, never earlier, so a liveness deadline held
    /// back this way errs on the side of the service.
    public mutating func advance(to now: Int64, inputReadThrough: Int64? = nil, fanOutBudget: Int = .max) -> [TopologyEvent] {
        let now = observe(now)
        let live = min(now, inputReadThrough ?? now) - forgivenStallMs
        let workLimit = fanOutBudget >= Int.max - fanOutWork ? Int.max : fanOutWork + fanOutBudget
        // A table that outgrew itself is moved a little at every write; here, more at a time, so
        // that the old one goes soon after the writes stop (a million services' is 100 MB). Within
        // the budget: a loop turn that reads 3,000 sockets calls this between them, and moving
        // 1,024 entries at each call was a whole 1,570,000-entry move, 122 ms, in one turn.
        if resolutionIndex.isMoving, fanOutWork < workLimit {
            resolutionIndex.migrate(Topology.indexMovePerAdvance)
            fanOutWork += Topology.indexMovePerAdvance
        }
        while fanOutWork < workLimit, let entry = livenessTimers.first, entry.time <= live {
            _ = livenessTimers.popFirst()
            fanOutWork += Topology.timerCost
            if entry.ref & edgeTimerBit != 0 {
                fireEdge(entry, live: live, now: now)
            } else {
                fireNodeLiveness(entry, live: live, now: now)
            }
        }
        if fanOutWork < workLimit, let due = flushAt, due <= now { flush(now: now) }
        while fanOutWork < workLimit, let entry = realTimers.first, entry.time <= now {
            _ = realTimers.popFirst()
            fanOutWork += Topology.timerCost
            if entry.ref & watcherTimerBit != 0 {
                fireProgress(entry, now: now)
            } else {
                fireRefresh(entry, now: now)
            }
        }
        let events = pendingEvents
        pendingEvents = []
        return events
    }

    /// Storage an index left behind when it outgrew itself (`IncrementalDictionary`), for the caller
    /// to free off its thread (a pass over every bucket, tens of milliseconds at a million
    /// services). Left untaken, it is freed when the next one is left.
    public mutating func takeRetiredStorage() -> Any? {
        resolutionIndex.takeRetired()
    }

    /// Every input passes its `now` through here first. Time never goes backwards (an earlier
    /// `now` is taken as the latest seen).
    ///
    /// The stall guard: the caller promised to call again by `nextDeadline`. If it comes more than
    /// one heartbeat interval later than that, the process was not running (paused, machine
    /// asleep) from some moment after it last spoke until now, and heartbeats sent meanwhile may be
    /// unread in its sockets. Every liveness deadline is then extended by the whole gap since the
    /// last call (the liveness clock stands still over it), so no service dies for the pause alone.
    mutating func observe(_ now: Int64) -> Int64 {
        let now = max(now, lastObservedMs)
        if let due = nextDeadline, now - max(lastObservedMs, due) > configuration.heartbeatIntervalMs {
            let gap = now - lastObservedMs
            forgivenStallMs += gap
            pendingEvents.append(.stallDetected(jumpMs: gap))
        }
        lastObservedMs = now
        return now
    }
}
