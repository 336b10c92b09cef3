import TopologyCore
import TopologyWire

/// The server's counters, owned and updated by the loop thread only (no locks), and rendered in the
/// Prometheus text exposition format (version 0.0.4) by the loop thread when `/metrics` is read.
public struct ServerMetrics {
    public init() {}

    public var registrations = 0
    public var unregistrations = 0
    public var heartbeats = 0
    /// Heartbeats refused, by the `result` label of their status (see `heartbeatRefused`).
    public var heartbeatsRefused = ["not_found": 0, "invalid_argument": 0]
    public var activityEvents: Int64 = 0
    public var deaths = 0
    public var connectionsAccepted = 0
    public var httpRequests: [Int: Int] = [:]
    /// Frames the server sent with a non-OK Status, by gRPC status code name.
    public var frameErrors: [String: Int] = [:]
    /// Requests or connections refused by a configured limit, by the flag that sets it.
    public var limitRejections: [String: Int] = [:]
    /// Connections (frames) and requests (HTTP) refused for a missing or wrong token.
    public var authenticationFailures = ["frames": 0, "http": 0]
    public var watcherResyncs = 0
    /// HTTP connections closed to admit another when every `--max-http-connections` slot was taken,
    /// by what the closed one had sent of its current request: `none` (idle) or `incomplete`.
    public var httpEvictions = ["none": 0, "incomplete": 0]
    /// Heartbeat replies not queued on a gRPC stream whose client does not read them.
    public var grpcHeartbeatRepliesDropped = 0
    /// OTLP spans by what became of them: `accepted`, `rejected` (a partial success: no
    /// service.name, a limit), `refused` (in a request over the span rate, refused whole; the spans
    /// of a request that does not decode are not counted: it has none to count).
    public var otlpSpans = ["accepted": 0, "rejected": 0, "refused": 0]
    /// OTLP export requests by transport (`http`, `grpc`) and result (`ok`, `invalid`, `throttled`).
    public var otlpRequests: [OTLPRequestKey: Int] = [:]

    public struct OTLPRequestKey: Hashable, Sendable {
        public var transport: String
        public var result: String
    }
    public var heartbeatSeconds = Histogram(bounds: [0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.0025, 0.005, 0.01])
    /// How late each death was declared: what an operator checks against the dead timeout's promise.
    public var deathLatenessSeconds = Histogram(bounds: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])

    public struct Histogram {
        public let bounds: [Double]
        public var counts: [Int]
        public var sum = 0.0
        public var count = 0

        public init(bounds: [Double]) {
            self.bounds = bounds
            counts = Array(repeating: 0, count: bounds.count)
        }

        public mutating func observe(_ value: Double) {
            sum += value
            count += 1
            if let index = bounds.firstIndex(where: { value <= $0 }) { counts[index] += 1 }
        }
    }

    public mutating func frameError(_ code: StatusCode) {
        frameErrors[code.description, default: 0] += 1
    }

    /// A heartbeat answered with `code`: NOT_FOUND (unknown id) or INVALID_ARGUMENT (a bad field).
    public mutating func heartbeatRefused(_ code: StatusCode) {
        heartbeatsRefused[code.description.lowercased(), default: 0] += 1
    }

    public mutating func limitRejected(_ flag: String) {
        limitRejections[flag, default: 0] += 1
    }

    public mutating func httpEvicted(requestBegun: Bool) {
        httpEvictions[requestBegun ? "incomplete" : "none", default: 0] += 1
    }

    public mutating func authenticationFailed(listener: String) {
        authenticationFailures[listener, default: 0] += 1
    }

    /// What the loop knows at the time of the scrape and the counters do not hold.
    public struct Gauges {
        public var servicesByState: ServiceStateCounts
        public var edges: Int
        public var watchers: Int
        public var sseWatchers: Int
        public var binaryConnections: Int
        /// Of the frames listener's connections, those speaking gRPC.
        public var grpcConnections: Int
        public var httpConnections: Int
        public var revision: UInt64
        public var residentBytes: Int
        public var version: String
        public var serverEpoch: String
        public var startTimeSeconds: Double
        public var logLinesDropped: Int
        public var livenessHolds: Int
        public var maxInputLagMs: Int64
        /// `Topology.observedServiceCount` and `observedServiceRefusals`.
        public var observedServices = 0
        public var observedServiceRefusals: UInt64 = 0
        /// The longest turn of the event loop since start, in ms (`ServerStats.maxLoopTurnMs`).
        public var maxLoopTurnMs: Int64 = 0
        /// Loop turns of at least `--slow-turn-log-ms` since start (`ServerStats.slowTurns`).
        public var slowTurns = 0

        public init(servicesByState: ServiceStateCounts, edges: Int, watchers: Int, sseWatchers: Int, binaryConnections: Int,
                     grpcConnections: Int = 0, httpConnections: Int, revision: UInt64, residentBytes: Int, version: String, serverEpoch: String,
                     startTimeSeconds: Double, logLinesDropped: Int, livenessHolds: Int, maxInputLagMs: Int64) {
            self.servicesByState = servicesByState
            self.edges = edges
            self.watchers = watchers
            self.sseWatchers = sseWatchers
            self.binaryConnections = binaryConnections
            self.grpcConnections = grpcConnections
            self.httpConnections = httpConnections
            self.revision = revision
            self.residentBytes = residentBytes
            self.version = version
            self.serverEpoch = serverEpoch
            self.startTimeSeconds = startTimeSeconds
            self.logLinesDropped = logLinesDropped
            self.livenessHolds = livenessHolds
            self.maxInputLagMs = maxInputLagMs
        }
    }

    public func render(_ g: Gauges) -> String {
        var text = PrometheusText()
        func family(_ name: String, _ type: String, _ help: String) { text.family(name, type, help) }
        func sample(_ name: String, _ labels: [(String, String)] = [], _ value: String) { text.sample(name, labels, value) }
        family("topology_build_info", "gauge", "Build information; the value is always 1.")
        sample("topology_build_info", [("version", g.version), ("server_epoch", g.serverEpoch)], "1")
        family("topology_start_time_seconds", "gauge", "Start time of the server process, seconds since the Unix epoch.")
        sample("topology_start_time_seconds", [], format(g.startTimeSeconds))
        family("topology_services", "gauge", "Live services by state.")
        for state in [ServiceState.registered, .idle, .active, .stale] {
            sample("topology_services", [("state", stateLabel(state))], String(g.servicesByState[state]))
        }
        family("topology_edges", "gauge", "Edges (caller -> target) currently in the topology.")
        sample("topology_edges", [], String(g.edges))
        family("topology_revision", "gauge", "The topology's current revision (restarts with each process).")
        sample("topology_revision", [], String(g.revision))
        family("topology_registrations_total", "counter", "RegisterService calls accepted.")
        sample("topology_registrations_total", [], String(registrations))
        family("topology_unregistrations_total", "counter", "UnregisterService calls that removed a service.")
        sample("topology_unregistrations_total", [], String(unregistrations))
        family("topology_heartbeats_total", "counter", "Heartbeats handled, by result.")
        sample("topology_heartbeats_total", [("result", "acknowledged")], String(heartbeats))
        for (result, count) in heartbeatsRefused.sorted(by: { $0.key < $1.key }) {
            sample("topology_heartbeats_total", [("result", result)], String(count))
        }
        family("topology_activity_events_total", "counter", "Calls reported through ReportActivity and accepted (batch_size counted).")
        sample("topology_activity_events_total", [], String(activityEvents))
        family("topology_otlp_spans_total", "counter", "OTLP spans received, by result: accepted, rejected (partial success), refused (the request was over the span rate).")
        for (result, count) in otlpSpans.sorted(by: { $0.key < $1.key }) {
            sample("topology_otlp_spans_total", [("result", result)], String(count))
        }
        family("topology_otlp_requests_total", "counter", "OTLP trace export requests, by transport and result (ok, invalid, throttled).")
        for (key, count) in otlpRequests.sorted(by: { ($0.key.transport, $0.key.result) < ($1.key.transport, $1.key.result) }) {
            sample("topology_otlp_requests_total", [("transport", key.transport), ("result", key.result)], String(count))
        }
        family("topology_observed_services", "gauge", "Services known only from OTLP spans (observed nodes).")
        sample("topology_observed_services", [], String(g.observedServices))
        family("topology_observed_service_refusals_total", "counter", "Resources whose spans were refused because --max-observed-services observed services existed.")
        sample("topology_observed_service_refusals_total", [], String(g.observedServiceRefusals))
        family("topology_service_deaths_total", "counter", "Services declared DEAD after missing their heartbeats.")
        sample("topology_service_deaths_total", [], String(deaths))
        text.histogram("topology_death_lateness_seconds",
                       "How long after its deadline (the last heartbeat plus the dead timeout) each service was declared DEAD.", deathLatenessSeconds)
        family("topology_watchers", "gauge", "Open topology watches, by transport.")
        sample("topology_watchers", [("transport", "frames")], String(max(0, g.watchers - g.sseWatchers)))
        sample("topology_watchers", [("transport", "sse")], String(g.sseWatchers))
        family("topology_watcher_resyncs_total", "counter", "Watchers whose backlog overflowed and were sent a resync snapshot.")
        sample("topology_watcher_resyncs_total", [], String(watcherResyncs))
        family("topology_log_lines_dropped_total", "counter", "Log lines dropped because the log writer fell behind (slow disk or pipe).")
        sample("topology_log_lines_dropped_total", [], String(g.logLinesDropped))
        family("topology_liveness_holds_total", "counter", "Times a due STALE/DEAD deadline waited because input that arrived before it was not yet read (the loop was behind).")
        sample("topology_liveness_holds_total", [], String(g.livenessHolds))
        family("topology_input_lag_max_seconds", "gauge", "The most the loop's reading of client input has been behind since start, in seconds.")
        sample("topology_input_lag_max_seconds", [], format(Double(g.maxInputLagMs) / 1000))
        family("topology_loop_turn_max_seconds", "gauge", "The longest turn of the event loop since start (from the wait's return to the end of its writes): how long a client's input may have waited for the loop, in seconds.")
        sample("topology_loop_turn_max_seconds", [], format(Double(g.maxLoopTurnMs) / 1000))
        family("topology_loop_slow_turns_total", "counter", "Event-loop turns at least --slow-turn-log-ms long; the log's \"slow loop turn\" lines say where their time went.")
        sample("topology_loop_slow_turns_total", [], String(g.slowTurns))
        family("topology_connections", "gauge", "Open client connections, by listener.")
        sample("topology_connections", [("listener", "frames")], String(g.binaryConnections))
        sample("topology_connections", [("listener", "http")], String(g.httpConnections))
        family("topology_grpc_connections", "gauge", "Connections of the frames listener speaking gRPC (HTTP/2), among topology_connections{listener=\"frames\"}.")
        sample("topology_grpc_connections", [], String(g.grpcConnections))
        family("topology_grpc_heartbeat_replies_dropped_total", "counter", "Heartbeat replies not queued on gRPC streams whose client does not read them (its heartbeats still count).")
        sample("topology_grpc_heartbeat_replies_dropped_total", [], String(grpcHeartbeatRepliesDropped))
        family("topology_connections_accepted_total", "counter", "Connections accepted on the frames listener.")
        sample("topology_connections_accepted_total", [], String(connectionsAccepted))
        family("topology_frame_errors_total", "counter", "Frames sent with a non-OK Status, by gRPC status code.")
        for (code, count) in frameErrors.sorted(by: { $0.key < $1.key }) {
            sample("topology_frame_errors_total", [("code", code)], String(count))
        }
        family("topology_limit_rejections_total", "counter", "Requests or connections refused by a configured limit, by flag.")
        for (limit, count) in limitRejections.sorted(by: { $0.key < $1.key }) {
            sample("topology_limit_rejections_total", [("limit", limit)], String(count))
        }
        family("topology_authentication_failures_total", "counter", "Connections (frames) and requests (http) refused for a missing or wrong token, by listener.")
        for (listener, count) in authenticationFailures.sorted(by: { $0.key < $1.key }) {
            sample("topology_authentication_failures_total", [("listener", listener)], String(count))
        }
        family("topology_http_requests_total", "counter", "HTTP requests answered, by status code.")
        for (code, count) in httpRequests.sorted(by: { $0.key < $1.key }) {
            sample("topology_http_requests_total", [("code", String(code))], String(count))
        }
        family("topology_http_evictions_total", "counter", "HTTP connections closed to admit another while every --max-http-connections slot was taken, by what they had sent of a request.")
        for (request, count) in httpEvictions.sorted(by: { $0.key < $1.key }) {
            sample("topology_http_evictions_total", [("request", request)], String(count))
        }
        text.histogram("topology_heartbeat_handling_seconds", "Time the server spent on one heartbeat: decoding, the core, the reply.", heartbeatSeconds)
        family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
        sample("process_resident_memory_bytes", [], String(g.residentBytes))
        return text.output
    }

    private func stateLabel(_ state: ServiceState) -> String {
        String((state.protoName ?? "UNKNOWN").dropFirst("SERVICE_STATE_".count))
    }

    private func format(_ value: Double) -> String { PrometheusText.format(value) }
}
