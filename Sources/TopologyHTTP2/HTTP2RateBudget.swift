/// A token bucket in integers, driven by the time the caller passes in. Each event costs
/// `perMilliseconds` units; the bucket holds `events × perMilliseconds` units and refills by
/// `events` units per millisecond, so exactly `events` fit in any window of `perMilliseconds`
/// after a full bucket, with no rounding.
struct HTTP2RateBudget {
    let limit: HTTP2RateLimit
    /// Units spent and not yet refilled.
    private var spent: Int64 = 0
    private var lastTime: Int64?

    init(_ limit: HTTP2RateLimit) {
        self.limit = limit
    }

    /// Spends one event at `now`; false when the budget is exhausted (the event is not counted).
    /// Time going backwards refills nothing.
    mutating func spend(now: Int64) -> Bool {
        if let lastTime, now > lastTime {
            let refill = (now - lastTime).multipliedReportingOverflow(by: Int64(limit.events))
            spent = refill.overflow ? 0 : max(0, spent - refill.partialValue)
        }
        lastTime = max(lastTime ?? now, now)
        let capacity = Int64(limit.events) * limit.perMilliseconds
        guard spent + limit.perMilliseconds <= capacity else { return false }
        spent += limit.perMilliseconds
        return true
    }

    /// Full again (the ping budget, when this side sends data).
    mutating func refill() {
        spent = 0
    }
}
