import CTopologyShims
import TopologyCore
import TopologyProtocol
import TopologyWire

/// The log lines of core events, the startup line, and the statistics other threads read.
extension Server {
    // MARK: - Logs and stats

    /// One line per core event; past `eventLinesPerWakeup` in one wake-up (a mass expiry of
    /// thousands of services), one summary line per kind instead, so logging never holds the loop.
    static let eventLinesPerWakeup = 100

    func logEvents(_ events: [TopologyEvent]) {
        guard !events.isEmpty else { return }
        var counts: [String: Int] = [:]
        for event in events {
            switch event {
            case let .serviceDead(_, _, lateMs):
                metrics.deaths += 1
                metrics.deathLatenessSeconds.observe(Double(lateMs) / 1_000)
            case .watcherResynced: metrics.watcherResyncs += 1
            default: break
            }
        }
        for (index, event) in events.enumerated() {
            let (message, level, fields) = Server.describe(event)
            if index < Server.eventLinesPerWakeup {
                logger.log(level, message, fields)
            } else {
                counts[message, default: 0] += 1
            }
        }
        for (message, count) in counts.sorted(by: { $0.key < $1.key }) {
            logger.info(message, ["count": String(count), "note": "more events of this kind in one wake-up, lines suppressed"])
        }
    }

    static func describe(_ event: TopologyEvent) -> (String, LogLevel, KeyValuePairs<String, String>) {
        switch event {
        case let .serviceStale(id, name): return ("service stale", .info, ["service_id": id, "name": name])
        case let .serviceRecovered(id, name): return ("service recovered", .info, ["service_id": id, "name": name])
        case let .serviceDead(id, name, lateMs): return ("service dead", .info, ["service_id": id, "name": name, "late_ms": String(lateMs)])
        case let .stallDetected(jumpMs): return ("stall detected", .warning, ["jump_ms": String(jumpMs)])
        case let .watcherResynced(watcher): return ("watcher resynced", .info, ["watcher": watcher.description])
        case let .unresolvedEdgeExpired(sourceId, target):
            return ("unresolved edge expired", .info, ["source_id": sourceId, "target": target])
        }
    }

    func logStartup(_ address: ListenAddress) {
        let c = configuration
        let t = c.topology
        logger.info("listening", [
            "address": address.description,
            "http_address": boundHTTPAddress?.description ?? "",
            "auth_token_file": c.authTokenFile ?? "",
            "server_epoch": serverEpoch,
            "version": topologyServerVersion,
            "heartbeat_interval_ms": String(t.heartbeatIntervalMs),
            "timeout_multiplier": String(t.timeoutMultiplier),
            "idle_timeout_ms": String(t.idleTimeoutMs),
            "activity_flush_ms": String(t.activityFlushMs),
            "node_update_throttle_ms": String(t.nodeUpdateThrottleMs),
            "rps_window_ms": String(t.rpsWindowMs),
            "unresolved_edge_timeout_ms": String(t.unresolvedEdgeTimeoutMs),
            "progress_interval_ms": String(t.progressIntervalMs),
            "max_frame_bytes": String(c.maxFrameBytes),
            "max_connections": String(c.maxConnections),
            "max_services": String(t.maxServices),
            "max_edges_per_service": String(t.maxEdgesPerService),
            "watch_buffer_limit": String(t.watchBufferLimit),
            "max_calls_per_connection": String(c.maxCallsPerConnection),
            "max_watchers": String(t.maxWatchers),
            "max_watchers_per_connection": String(c.maxWatchersPerConnection),
            "max_outbound_bytes": String(c.maxOutboundBytes),
            "max_total_outbound_bytes": String(c.maxTotalOutboundBytes),
            "first_frame_timeout_ms": String(c.firstFrameTimeoutMs),
            "frame_timeout_ms": String(c.frameTimeoutMs),
            "tcp_keepalive_ms": String(c.tcpKeepaliveMs),
            "max_service_name_bytes": String(t.maxServiceNameBytes),
            "max_string_bytes": String(t.maxStringBytes),
            "otlp_max_body_bytes": String(c.httpLimits.maxOTLPBodyBytes),
            "otlp_max_spans_per_second": String(c.otlpMaxSpansPerSecond),
            "max_observed_services": String(t.maxObservedServices),
            "http_request_timeout_ms": String(c.httpRequestTimeoutMs),
            "max_http_connections": String(c.maxHTTPConnections),
            "sse_comment_interval_ms": String(c.sseCommentIntervalMs),
            "log_level": c.logLevel.name,
            "slow_turn_log_ms": String(c.slowTurnLogMs),
            "event_limit": String(t.eventLimit),
            "edge_failing_error_percent": String(t.edgeFailingErrorPercent),
            "webhook_url": c.webhooks.map(\.description).joined(separator: ","),
            "webhook_timeout_ms": String(c.webhookTimeoutMs),
            "webhook_queue_limit": String(c.webhookQueueLimit),
            "service_series_limit": String(c.serviceSeriesLimit),
            "history_minutes": String(c.historyMinutes),
            "history_interval_ms": String(c.historyIntervalMs),
            "history_max_bytes": String(c.historyMaxBytes),
        ])
    }

    func publishStats() {
        localStats.outboundBytes = outboundBytesTotal
        localStats.connections = connections.count
        localStats.services = topology.serviceCount
        localStats.watchers = topology.watcherCount
        statsLock.lock()
        sharedStats = localStats
        statsLock.unlock()
    }
}
