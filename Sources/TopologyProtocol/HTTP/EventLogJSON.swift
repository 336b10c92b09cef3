import TopologyCore
import TopologyWire

/// The event log as JSON, in the style of the rest of the HTTP API (the proto3 JSON mapping's):
/// lowerCamelCase names, 64-bit integers as decimal strings, enums by their proto names. One writer
/// for `GET /api/v1/events` and the webhooks' bodies, so an event reads the same in both.
public enum EventLogJSON {
    /// `{"events":[…],"more":…,"missed":…,"evicted":"…","revision":"…","serverEpoch":"…"}`.
    static func encode(_ page: ServiceEventPage, log: ServiceEventLog, revision: UInt64, serverEpoch: String) -> [UInt8] {
        var out: [UInt8] = []
        out += #"{"events":["#.utf8
        for (index, event) in page.events.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            append(event, to: &out)
        }
        out += #"],"more":\#(page.more),"missed":\#(page.missed),"evicted":"\#(log.evicted)","revision":"\#(revision)","serverEpoch":"#.utf8
        JSONText.appendQuoted(serverEpoch, to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// One event: `sequence`, `revision`, `timeMs`, `type` (`ServiceEvent.Kind.name`), `serviceId`,
    /// `serviceName`; `from` and `to` for `state` and `health`; `target` for an edge; `errorRate` for
    /// `edge_failing` and `edge_recovered`.
    public static func append(_ event: ServiceEvent, to out: inout [UInt8]) {
        out += #"{"sequence":"\#(event.sequence)","revision":"\#(event.revision)","timeMs":"\#(event.timeMs)","type":"\#(event.kind.name)","serviceId":"#.utf8
        JSONText.appendQuoted(event.serviceId, to: &out)
        out += #","serviceName":"#.utf8
        JSONText.appendQuoted(event.serviceName, to: &out)
        func field(_ name: String, _ value: String) {
            out += ",\"\(name)\":".utf8
            JSONText.appendQuoted(value, to: &out)
        }
        switch event.kind {
        case .state(let from, let to):
            field("from", from.protoName ?? String(from.rawValue))
            field("to", to.protoName ?? String(to.rawValue))
        case .health(let from, let to):
            field("from", from.protoName ?? String(from.rawValue))
            field("to", to.protoName ?? String(to.rawValue))
        case .edgeFailing(let target, let errorRate), .edgeRecovered(let target, let errorRate):
            field("target", target)
            out += ",\"errorRate\":\(JSONText.javaScriptNumber(errorRate))".utf8
        case .edgeAdded(let target), .edgeRemoved(let target):
            field("target", target)
        case .registered, .unregistered, .removed:
            break
        }
        out.append(UInt8(ascii: "}"))
    }
}
