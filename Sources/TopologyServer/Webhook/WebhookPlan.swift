/// What one webhook sends next and when: a FIFO of request bodies, bounded, sent one at a time in
/// order (the head is retried before anything behind it is sent, so a receiver sees alerts in the
/// order they happened), retried with doubling backoff. Pure: no I/O, no clock; every input carries
/// `now`. The delivery thread holds it under a lock, performs the attempts and reports the outcomes.
struct WebhookPlan {
    struct Policy: Equatable {
        /// Bodies waiting at most; one more is dropped (and counted).
        var queueLimit: Int
        /// Attempts per body before it is given up (and counted).
        var maxAttempts = 6
        /// The wait after the first failure; it doubles after each further one, up to `maxBackoffMs`.
        var initialBackoffMs: Int64 = 250
        var maxBackoffMs: Int64 = 30_000
    }

    /// One attempt to make now.
    struct Attempt: Equatable {
        var body: [UInt8]
        /// 1 for the first.
        var number: Int
    }

    /// How an attempt ended.
    enum Outcome: Equatable {
        /// A 2xx answer.
        case delivered
        /// Worth another try: no connection, a timeout, a 5xx or 429.
        case failed(String)
        /// Not worth another: another status (a 4xx: the receiver refuses this request as it is).
        case refused(String)
    }

    /// What `finish` did with the body, for the log.
    enum Result: Equatable {
        case delivered
        case retry(afterMs: Int64)
        case gaveUp
    }

    struct Counters: Equatable {
        var delivered: UInt64 = 0
        /// Attempts that failed or were refused.
        var failedAttempts: UInt64 = 0
        /// Bodies dropped because the queue was full.
        var dropped: UInt64 = 0
        /// Bodies given up after `maxAttempts`, or refused.
        var gaveUp: UInt64 = 0
    }

    let policy: Policy
    private var queue: [[UInt8]] = []
    private var head = 0
    /// Failed attempts of the head so far.
    private var failures = 0
    private var inFlight = false
    /// The head waits for its retry until then.
    private var retryAtMs: Int64 = .min
    private(set) var counters = Counters()

    init(policy: Policy) {
        self.policy = policy
    }

    /// Bodies waiting or in flight.
    var queued: Int { queue.count - head }

    /// Queues a body; false (counted as dropped) when `queueLimit` are waiting.
    mutating func enqueue(_ body: [UInt8]) -> Bool {
        guard queued < policy.queueLimit else {
            counters.dropped += 1
            return false
        }
        queue.append(body)
        return true
    }

    /// The attempt to make at `now`, if one is due and none is in flight.
    mutating func take(now: Int64) -> Attempt? {
        guard !inFlight, queued > 0, now >= retryAtMs else { return nil }
        inFlight = true
        return Attempt(body: queue[head], number: failures + 1)
    }

    /// When `take` will next have an attempt: nil while one is in flight or nothing waits.
    var nextAttemptMs: Int64? {
        guard !inFlight, queued > 0 else { return nil }
        return retryAtMs
    }

    /// The outcome of the attempt `take` gave.
    mutating func finish(_ outcome: Outcome, now: Int64) -> Result {
        precondition(inFlight, "finish without an attempt in flight")
        inFlight = false
        switch outcome {
        case .delivered:
            counters.delivered += 1
            popHead()
            return .delivered
        case .refused:
            counters.failedAttempts += 1
            counters.gaveUp += 1
            popHead()
            return .gaveUp
        case .failed:
            counters.failedAttempts += 1
            failures += 1
            guard failures < policy.maxAttempts else {
                counters.gaveUp += 1
                popHead()
                return .gaveUp
            }
            let delay = min(policy.maxBackoffMs, policy.initialBackoffMs << min(failures - 1, 40))
            retryAtMs = now + delay
            return .retry(afterMs: delay)
        }
    }

    private mutating func popHead() {
        failures = 0
        retryAtMs = .min
        head += 1
        // Compact once the sent prefix is as long as what waits: amortized O(1) per body.
        if head > 64 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
    }
}
