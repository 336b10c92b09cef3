import TopologyCore
import TopologyWire

/// Per-service and per-edge series for `/metrics` (`--service-series-limit`), so that Prometheus
/// rules can name a service: instances by state and health, deaths, and per caller -> target calls,
/// errors, rate and a latency histogram. Services are named by `service_name` (instances of one name
/// are added up: a restart gets a new id, not a new series). At most `limit` series are written:
/// services by name, then edges by source and target, each whole or not at all; the rest are left
/// out and their number written as `topology_service_series_dropped`.
public struct ServiceSeries {
    public let limit: Int
    /// Deaths per service name since start, from the event log; names past `limit` are not kept.
    private var deaths: [String: UInt64] = [:]

    public init(limit: Int) {
        self.limit = max(0, limit)
    }

    /// Takes in an event of the log (the server passes each once).
    public mutating func note(_ event: ServiceEvent) {
        guard case .state(_, .dead) = event.kind else { return }
        if deaths[event.serviceName] != nil || deaths.count < limit { deaths[event.serviceName, default: 0] += 1 }
    }

    private static let states: [ServiceState] = [.registered, .idle, .active, .stale]

    private struct Service {
        var byState: [UInt64] = Array(repeating: 0, count: ServiceSeries.states.count)
        var byHealth: [HealthState: UInt64] = [:]
        var deaths: UInt64?
        var seriesCount: Int { ServiceSeries.states.count + byHealth.count + (deaths == nil ? 0 : 1) }
    }

    private struct EdgeKey: Hashable, Comparable {
        var source: String
        var target: String
        static func < (a: EdgeKey, b: EdgeKey) -> Bool { (a.source, a.target) < (b.source, b.target) }
    }

    private struct Edge {
        var requests: UInt64 = 0
        var errors: UInt64 = 0
        var rps: Double = 0
        var errorsPerSecond: Double = 0
        var latencyCounts: [UInt64] = []
        var latencySumMs: Double = 0
        var seriesCount: Int { 4 + (latencyCounts.isEmpty ? 0 : EdgeLatencyTotals.boundsMs.count + 3) }
    }

    public func render(_ topology: Topology, now: Int64) -> String {
        var services: [String: Service] = [:]
        for node in topology.snapshot(for: TopologyQuery(), now: now).nodes {
            if let position = ServiceSeries.states.firstIndex(of: node.state) { services[node.serviceName, default: Service()].byState[position] += 1 }
            services[node.serviceName, default: Service()].byHealth[node.health, default: 0] += 1
        }
        for (name, count) in deaths { services[name, default: Service()].deaths = count }
        var edges: [EdgeKey: Edge] = [:]
        topology.forEachPublishedEdge { edge, sourceName, latency in
            var sum = edges[EdgeKey(source: sourceName, target: edge.targetService)] ?? Edge()
            sum.requests += edge.totalRequests
            sum.errors += edge.totalErrors
            sum.rps += edge.rps
            sum.errorsPerSecond += edge.rps * edge.errorRate
            if !latency.counts.isEmpty {
                if sum.latencyCounts.isEmpty { sum.latencyCounts = Array(repeating: 0, count: latency.counts.count) }
                for (index, count) in latency.counts.enumerated() { sum.latencyCounts[index] += count }
                sum.latencySumMs += latency.sumMs
            }
            edges[EdgeKey(source: sourceName, target: edge.targetService)] = sum
        }

        // Whole services, then whole edges, in name order, while they fit.
        var budget = limit
        var dropped = 0
        var keptServices: [(String, Service)] = []
        for (name, service) in services.sorted(by: { $0.key < $1.key }) {
            if dropped == 0 && service.seriesCount <= budget {
                budget -= service.seriesCount
                keptServices.append((name, service))
            } else {
                dropped += service.seriesCount
            }
        }
        var keptEdges: [(EdgeKey, Edge)] = []
        for (key, edge) in edges.sorted(by: { $0.key < $1.key }) {
            if dropped == 0 && edge.seriesCount <= budget {
                budget -= edge.seriesCount
                keptEdges.append((key, edge))
            } else {
                dropped += edge.seriesCount
            }
        }

        var text = PrometheusText()
        text.family("topology_service_series_dropped", "gauge", "Per-service and per-edge series left out of this scrape by --service-series-limit.")
        text.sample("topology_service_series_dropped", [], String(dropped))
        text.family("topology_service_instances", "gauge", "Live instances of a service (by service_name), by state.")
        for (name, service) in keptServices {
            for (position, state) in ServiceSeries.states.enumerated() {
                text.sample("topology_service_instances", [("service", name), ("state", String((state.protoName ?? "").dropFirst("SERVICE_STATE_".count)))],
                            String(service.byState[position]))
            }
        }
        text.family("topology_service_health_instances", "gauge", "Live instances of a service by the health they last reported (health states with instances only).")
        for (name, service) in keptServices {
            for (health, count) in service.byHealth.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                text.sample("topology_service_health_instances", [("service", name), ("health", String((health.protoName ?? "").dropFirst("HEALTH_STATE_".count)))],
                            String(count))
            }
        }
        text.family("topology_service_deaths_total", "counter", "Instances of a service declared DEAD since start (services that have died only).")
        for (name, service) in keptServices {
            if let deaths = service.deaths { text.sample("topology_service_deaths_total", [("service", name)], String(deaths)) }
        }
        func edgeFamily(_ name: String, _ type: String, _ help: String, _ value: (Edge) -> String) {
            text.family(name, type, help)
            for (key, edge) in keptEdges { text.sample(name, [("source", key.source), ("target", key.target)], value(edge)) }
        }
        edgeFamily("topology_edge_requests_total", "counter", "Calls from a service (by name) to a target, as long as the edges exist.") { String($0.requests) }
        edgeFamily("topology_edge_errors_total", "counter", "Failed calls from a service to a target.") { String($0.errors) }
        edgeFamily("topology_edge_rps", "gauge", "Calls per second from a service to a target over --rps-window-ms.") { PrometheusText.format($0.rps) }
        edgeFamily("topology_edge_error_ratio", "gauge", "Share of failed calls over --rps-window-ms (0 with no calls).") {
            $0.rps > 0 ? PrometheusText.format($0.errorsPerSecond / $0.rps) : "0"
        }
        text.family("topology_edge_latency_seconds", "histogram", "Latency of calls from a service to a target, as reported by the caller.")
        for (key, edge) in keptEdges where !edge.latencyCounts.isEmpty {
            var cumulative: UInt64 = 0
            for (index, count) in edge.latencyCounts.enumerated() {
                cumulative += count
                let bound = index < EdgeLatencyTotals.boundsMs.count ? PrometheusText.format(EdgeLatencyTotals.boundsMs[index] / 1000) : "+Inf"
                text.sample("topology_edge_latency_seconds_bucket", [("source", key.source), ("target", key.target), ("le", bound)], String(cumulative))
            }
            text.sample("topology_edge_latency_seconds_sum", [("source", key.source), ("target", key.target)], PrometheusText.format(edge.latencySumMs / 1000))
            text.sample("topology_edge_latency_seconds_count", [("source", key.source), ("target", key.target)], String(cumulative))
        }
        return text.output
    }
}
