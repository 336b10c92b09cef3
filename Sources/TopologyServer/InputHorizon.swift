/// How far the loop has read its input: the time up to which every byte that clients delivered
/// has been read and handled. Liveness deadlines (STALE, DEAD) fire only up to it, so a loop that
/// falls behind under load never declares a service dead whose heartbeat is waiting in a socket.
///
/// The rule: a loop turn takes the time `T` before it calls `epoll_wait`. Any socket with input
/// that arrived before `T` is in that call's ready list (the kernel scans after `T`), unless the
/// list was cut at its capacity. If the turn reads every socket of the list until it would block,
/// everything that arrived before `T` has been read: the horizon moves to `T`.
///
/// A turn whose input budget ran out leaves the rest of its list to the next turns, which handle
/// the oldest first. Each socket left carries what had been read of it when a list first named it
/// (the start of the turn before: it was not ready then, or was read through then), and the
/// horizon moves only as far as the oldest of them. So when every turn has more to read than its
/// budget (a registration storm), the horizon still follows a few turns behind.
///
/// A connection the turn could not drain (its per-wake-up read budget ran out, or its reading is
/// paused while a reply is encoded off the loop and input waits behind the request or arrived
/// since) keeps the horizon where it was when it fell behind, until it is drained. A paused
/// connection with nothing unread holds nothing (`Connection.listensWhilePaused`). A connection
/// still behind `maxHoldMs` after it fell behind (a client sending faster than the server reads,
/// or a reply encoded for that long) stops holding the others' deadlines: it delays only its own
/// services then. That time counts from when the loop found it behind, not from the horizon it
/// holds, which after a long turn may already be far in the past.
///
/// A value type fed with times; the loop reads the clock.
struct InputHorizon {
    /// Everything that arrived before this time has been read (connections behind aside).
    private(set) var readThroughMs: Int64
    private var turnStartMs: Int64
    /// Whether the last turn's ready list named every ready socket (it was not cut at its capacity).
    private var lastListComplete = true
    /// What has been read of a socket that this turn's wait lists and no earlier turn left unhandled.
    private(set) var newlyListedReadThroughMs: Int64
    /// Connections behind: where the horizon stood when each fell behind, and when that was.
    private var behind: [UInt64: (horizonMs: Int64, sinceMs: Int64)] = [:]
    let maxHoldMs: Int64

    /// A hold in progress: since when, and the largest lag seen in it.
    private(set) var holdStartedMs: Int64?
    private var holdMaxLagMs: Int64 = 0
    /// Holds since start, and the largest lag any of them saw.
    private(set) var holds = 0
    private(set) var maxLagMs: Int64 = 0

    init(startMs: Int64, maxHoldMs: Int64) {
        readThroughMs = startMs
        turnStartMs = startMs
        newlyListedReadThroughMs = startMs
        self.maxHoldMs = maxHoldMs
    }

    /// Before `epoll_wait`.
    mutating func beginTurn(atMs time: Int64) {
        // A socket this wait lists that the last turn did not leave unhandled was either not ready
        // at the last wait or was read through it then (given a complete list).
        newlyListedReadThroughMs = lastListComplete ? max(readThroughMs, turnStartMs) : readThroughMs
        turnStartMs = time
    }

    /// After the turn's handling stopped. `listComplete`: the ready list was not cut at its
    /// capacity; `oldestUnhandledMs`: of the sockets the turn left unhandled (see
    /// `Server.handleReady`), the earliest time through which one has been read, nil when it
    /// handled them all.
    mutating func endTurn(listComplete: Bool, oldestUnhandledMs: Int64?) {
        lastListComplete = listComplete
        // A list cut at its capacity proves nothing about the sockets left out of it.
        guard listComplete else { return }
        readThroughMs = max(readThroughMs, min(turnStartMs, oldestUnhandledMs ?? .max))
    }

    /// The connection has input it has not read and handled (it keeps the first time it fell behind).
    mutating func connectionBehind(_ id: UInt64, nowMs now: Int64) {
        if behind[id] == nil { behind[id] = (readThroughMs, now) }
    }

    /// The connection was read until it would block and all of it handled (or it closed).
    mutating func connectionCaughtUp(_ id: UInt64) {
        behind.removeValue(forKey: id)
    }

    var connectionsBehind: Int { behind.count }

    /// The time through which input has been read, as of `now`.
    func horizon(nowMs now: Int64) -> Int64 {
        var horizon = min(readThroughMs, now)
        for entry in behind.values where now - entry.sinceMs <= maxHoldMs {
            horizon = min(horizon, entry.horizonMs)
        }
        return horizon
    }

    /// Whether some connection behind (within `maxHoldMs`) holds the horizon below `deadline`:
    /// its own input will wake the loop, or the reply encoder will, not the deadline.
    func heldByConnection(deadline: Int64, nowMs now: Int64) -> Bool {
        behind.values.contains { $0.horizonMs < deadline && now - $0.sinceMs <= maxHoldMs }
    }

    /// What the hold did at one firing of the timers: `due` is the earliest liveness deadline.
    /// Returns a finished hold (its length and largest lag) when one ended now.
    mutating func noteTimers(due: Int64?, horizon: Int64, nowMs now: Int64) -> (heldMs: Int64, maxLagMs: Int64)? {
        if let due, due <= now, due > horizon {
            let lag = now - horizon
            if holdStartedMs == nil {
                holdStartedMs = now
                holdMaxLagMs = 0
                holds += 1
            }
            holdMaxLagMs = max(holdMaxLagMs, lag)
            maxLagMs = max(maxLagMs, lag)
            return nil
        }
        guard let started = holdStartedMs else { return nil }
        holdStartedMs = nil
        return (now - started, holdMaxLagMs)
    }
}
