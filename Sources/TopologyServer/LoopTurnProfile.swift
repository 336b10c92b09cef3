/// Where one turn of the event loop spent its time. A turn longer than `--slow-turn-log-ms` is
/// logged with this breakdown ("slow loop turn"), so that an operator who sees late heartbeats or
/// late deaths can tell what held the loop: its input (reading and answering frames and HTTP
/// requests), the core's timers, watch delivery, writes, a history sample or giving memory back.
///
/// Phases are measured where the loop calls them; input is the rest of the turn. A value type fed
/// with monotonic nanoseconds: the loop reads the clock.
struct LoopTurnProfile: Equatable {
    enum Phase: CaseIterable {
        /// `Topology.advance`: liveness transitions, throttled refreshes, activity flushes.
        case timers
        /// Taking updates for watchers and encoding them.
        case watchers
        /// Writing queued bytes to sockets (`flushAll`).
        case writes
        /// A sample of the graph for `--history-minutes`.
        case history
        /// Idle buffers released and `malloc_trim`.
        case memory

        var field: String {
            switch self {
            case .timers: return "timers_ms"
            case .watchers: return "watchers_ms"
            case .writes: return "writes_ms"
            case .history: return "history_ms"
            case .memory: return "memory_ms"
            }
        }
    }

    let startNs: Int64
    /// Sockets `epoll_wait` reported ready for this turn.
    var readySockets = 0
    private var timersNs: Int64 = 0
    private var watchersNs: Int64 = 0
    private var writesNs: Int64 = 0
    private var historyNs: Int64 = 0
    private var memoryNs: Int64 = 0

    init(startNs: Int64, readySockets: Int) {
        self.startNs = startNs
        self.readySockets = readySockets
    }

    mutating func add(_ phase: Phase, ns: Int64) {
        switch phase {
        case .timers: timersNs += ns
        case .watchers: watchersNs += ns
        case .writes: writesNs += ns
        case .history: historyNs += ns
        case .memory: memoryNs += ns
        }
    }

    func nanoseconds(in phase: Phase) -> Int64 {
        switch phase {
        case .timers: return timersNs
        case .watchers: return watchersNs
        case .writes: return writesNs
        case .history: return historyNs
        case .memory: return memoryNs
        }
    }

    /// The log line's fields for a turn that ended at `endNs`: its length, the ready sockets, the
    /// time of the input (what no phase took) and of each phase, in ms with one decimal.
    func fields(endNs: Int64) -> [(key: String, value: String)] {
        let total = endNs - startNs
        let measured = Phase.allCases.reduce(Int64(0)) { $0 + nanoseconds(in: $1) }
        return [("turn_ms", Self.milliseconds(total)), ("ready_sockets", String(readySockets)),
                ("input_ms", Self.milliseconds(max(0, total - measured)))]
            + Phase.allCases.map { ($0.field, Self.milliseconds(nanoseconds(in: $0))) }
    }

    static func milliseconds(_ ns: Int64) -> String {
        let tenths = (ns + 50_000) / 100_000
        return "\(tenths / 10).\(tenths % 10)"
    }
}
