import TopologyCore
import TopologyProtocol

/// What the loop does with the event log besides serving it: after each loop turn the events the
/// core recorded since the last turn are turned into alerts and queued for the webhooks that want
/// them (`--webhook-url`), and deaths are counted for the per-service series
/// (`--service-series-limit`). Sending is the webhook threads' (`WebhookWorker`); the loop only
/// copies bytes into a queue.
extension Server {
    /// Starts the webhook threads and the per-service series, from the events after this point.
    func startAlerting() {
        let policy = WebhookPlan.Policy(queueLimit: configuration.webhookQueueLimit)
        webhooks = configuration.webhooks.enumerated().map { index, target in
            WebhookWorker(target: target, number: index + 1, policy: policy, timeoutMs: configuration.webhookTimeoutMs,
                          clock: clock, logger: logger)
        }
        webhooks.forEach { $0.start() }
        eventCursor = topology.eventLog.lastSequence
        if configuration.serviceSeriesLimit > 0 { serviceSeries = ServiceSeries(limit: configuration.serviceSeriesLimit) }
    }

    /// Takes the events recorded since the last call: their alerts are queued for the webhooks, and
    /// deaths counted for the per-service series.
    func readNewEvents() {
        let log = topology.eventLog
        guard !webhooks.isEmpty || serviceSeries != nil, log.lastSequence > eventCursor else { return }
        for event in log.events(afterSequence: eventCursor) {
            serviceSeries?.note(event)
            guard let alert = WebhookAlert(event) else { continue }
            let body = alert.body(serverEpoch: serverEpoch)
            for webhook in webhooks where webhook.target.kinds.contains(alert.kind) { webhook.offer(body) }
        }
        eventCursor = log.lastSequence
    }

    /// The webhook counters for /metrics, one series per `--webhook-url` (labelled by its position:
    /// its path may hold a secret).
    func renderWebhookMetrics() -> String {
        guard !webhooks.isEmpty else { return "" }
        var text = PrometheusText()
        let states = webhooks.map { ($0.number, $0.state()) }
        text.family("topology_webhook_deliveries_total", "counter", "Alerts a webhook receiver accepted (2xx), by --webhook-url position from 1.")
        for (number, state) in states { text.sample("topology_webhook_deliveries_total", [("webhook", String(number))], String(state.counters.delivered)) }
        text.family("topology_webhook_failures_total", "counter", "Webhook attempts that failed (no connection, timeout, 5xx, 429) or were refused (other statuses).")
        for (number, state) in states { text.sample("topology_webhook_failures_total", [("webhook", String(number))], String(state.counters.failedAttempts)) }
        text.family("topology_webhook_dropped_total", "counter", "Alerts not delivered, by reason: queue_full (--webhook-queue-limit) or gave_up (retries spent, or refused).")
        for (number, state) in states {
            text.sample("topology_webhook_dropped_total", [("webhook", String(number)), ("reason", "queue_full")], String(state.counters.dropped))
            text.sample("topology_webhook_dropped_total", [("webhook", String(number)), ("reason", "gave_up")], String(state.counters.gaveUp))
        }
        text.family("topology_webhook_queue", "gauge", "Alerts waiting for a webhook (the one being sent included).")
        for (number, state) in states { text.sample("topology_webhook_queue", [("webhook", String(number))], String(state.queued)) }
        return text.output
    }
}
