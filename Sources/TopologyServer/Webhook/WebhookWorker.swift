import Foundation

/// One webhook's delivery thread: it owns the POSTs, the loop only queues bodies. A thread per
/// webhook, so a receiver that hangs holds back its own alerts (until `--webhook-timeout-ms`), never
/// another webhook's, and never the loop. The plan (`WebhookPlan`) decides; this class waits, sends
/// and reports back.
final class WebhookWorker: @unchecked Sendable {
    let target: WebhookTarget
    /// The flag's position among the `--webhook-url`s, from 1: the label of its metrics.
    let number: Int
    private let timeoutMs: Int64
    private let clock: ServerClock
    private let logger: Logger
    /// Guards `plan` and `stopping`; signalled when a body is queued or the worker should stop.
    private let condition = NSCondition()
    private var plan: WebhookPlan
    private var stopping = false

    init(target: WebhookTarget, number: Int, policy: WebhookPlan.Policy, timeoutMs: Int64, clock: ServerClock, logger: Logger) {
        self.target = target
        self.number = number
        self.timeoutMs = timeoutMs
        self.clock = clock
        self.logger = logger
        plan = WebhookPlan(policy: policy)
    }

    func start() {
        startBackgroundThread(named: "webhook-\(number)") { [self] in run() }
    }

    /// Queues a body (the loop thread); a full queue drops it, counted.
    func offer(_ body: [UInt8]) {
        condition.lock()
        let queued = plan.enqueue(body)
        condition.signal()
        condition.unlock()
        if !queued {
            logger.warning("webhook alert dropped", ["webhook": target.description, "reason": "queue full",
                                                      "queue_limit": String(plan.policy.queueLimit)])
        }
    }

    /// Ends the thread after the attempt in flight, if any (a hanging one within the timeout).
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    /// The counters and the queue length, for /metrics.
    func state() -> (counters: WebhookPlan.Counters, queued: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (plan.counters, plan.queued)
    }

    private func run() {
        condition.lock()
        while !stopping {
            let now = clock.nowMs()
            if let attempt = plan.take(now: now) {
                condition.unlock()
                let outcome = WebhookSender.post(attempt.body, to: target, timeoutMs: timeoutMs, clock: clock)
                condition.lock()
                let result = plan.finish(outcome, now: clock.nowMs())
                log(outcome, result, attempt: attempt.number)
                continue
            }
            if let due = plan.nextAttemptMs {
                _ = condition.wait(until: Date(timeIntervalSinceNow: Double(max(0, due - now)) / 1000))
            } else {
                condition.wait()
            }
        }
        condition.unlock()
    }

    private func log(_ outcome: WebhookPlan.Outcome, _ result: WebhookPlan.Result, attempt: Int) {
        switch (outcome, result) {
        case (.delivered, _):
            logger.debug("webhook delivered", ["webhook": target.description, "attempt": String(attempt)])
        case (.failed(let reason), .retry(let afterMs)):
            logger.info("webhook attempt failed", ["webhook": target.description, "attempt": String(attempt),
                                                   "error": reason, "retry_in_ms": String(afterMs)])
        case (.failed(let reason), _), (.refused(let reason), _):
            logger.warning("webhook alert given up", ["webhook": target.description, "attempt": String(attempt), "error": reason])
        }
    }
}
