import TopologyCore
import TopologyProtocol
import TopologyWire

/// What a webhook is told: an event of the log that an operator is paged for, and its name.
struct WebhookAlert: Equatable {
    /// The alerts a webhook may filter on (`--webhook-url URL#events=dead,unhealthy`).
    enum Kind: String, CaseIterable, Sendable {
        /// A service went DEAD (no heartbeat for interval x multiplier).
        case dead
        /// A service went STALE (no heartbeat for 2 x interval).
        case stale
        /// A service reported UNHEALTHY.
        case unhealthy
        /// A STALE service heartbeats again, or an UNHEALTHY one reports another health.
        case recovered
        /// An edge's error rate reached `--edge-failing-error-percent`.
        case edgeFailing = "edge_failing"
        /// A failing edge's error rate fell under it.
        case edgeRecovered = "edge_recovered"
    }

    var kind: Kind
    var event: ServiceEvent

    /// The alert an event raises, nil for one that pages nobody (registrations, IDLE <-> ACTIVE...).
    init?(_ event: ServiceEvent) {
        switch event.kind {
        case .state(_, .dead): kind = .dead
        case .state(_, .stale): kind = .stale
        case .state(.stale, _): kind = .recovered
        case .health(_, .unhealthy): kind = .unhealthy
        case .health(.unhealthy, _): kind = .recovered
        case .edgeFailing: kind = .edgeFailing
        case .edgeRecovered: kind = .edgeRecovered
        default: return nil
        }
        self.event = event
    }

    /// The POST body: `{"alert":"dead","serverEpoch":"…","event":{…}}`, the event as
    /// `GET /api/v1/events` writes it.
    func body(serverEpoch: String) -> [UInt8] {
        var out: [UInt8] = Array(#"{"alert":"\#(kind.rawValue)","serverEpoch":"#.utf8)
        JSONText.appendQuoted(serverEpoch, to: &out)
        out += #","event":"#.utf8
        EventLogJSON.append(event, to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }
}
