import TopologyCore
import TopologyProtocol

/// The graph's history (`--history-minutes`): sampled on the loop, which owns the topology, when
/// its deadline comes (`nextWakeupMs`); served by the HTTP sessions through `HTTPEnvironment`.
extension Server {
    /// Takes a sample if one is due, and times it: a sample is a pass over the whole graph on the
    /// loop, which `TopologyHistory.Limits.maxServices` bounds.
    func sampleHistory(now: Int64) {
        guard let due = history.nextDeadline(revision: topology.currentRevision), due <= now else { return }
        let start = clock.monotonicNs()
        let sampled = history.advance(to: now, topology: topology)
        let elapsed = clock.monotonicNs() - start
        turnProfile.add(.history, ns: elapsed)
        if sampled { lastHistorySampleNs = elapsed }
    }

    func renderHistoryMetrics() -> String {
        guard history.limits.enabled else { return "" }
        var text = PrometheusText()
        text.family("topology_history_samples", "gauge", "Snapshots of the graph held for GET /api/v1/topology?at= (--history-minutes).")
        text.sample("topology_history_samples", [], String(history.samples.count))
        text.family("topology_history_bytes", "gauge", "Estimated bytes the history's samples hold (at most --history-max-bytes).")
        text.sample("topology_history_bytes", [], String(history.bytes))
        text.family("topology_history_paused", "gauge", "1 while no sample is taken: more than \(history.limits.maxServices) services, or one sample over --history-max-bytes.")
        text.sample("topology_history_paused", [], history.paused == nil ? "0" : "1")
        text.family("topology_history_skipped_total", "counter", "Samples not taken because the graph was too large (see topology_history_paused).")
        text.sample("topology_history_skipped_total", [], String(history.skippedCaptures))
        text.family("topology_history_last_sample_seconds", "gauge", "How long the last sample held the event loop.")
        text.sample("topology_history_last_sample_seconds", [], PrometheusText.format(Double(lastHistorySampleNs) / 1e9))
        return text.output
    }
}
