/// A token bucket of spans: `rate` per second, holding at most one second's worth. Time is given,
/// in milliseconds (the dispatcher's clock), so tests drive it.
struct SpanRateBudget {
    private var tokens = 0.0
    private var updatedMs: Int64?

    /// Takes `spans` (at most one second's worth: a request larger than that alone waits for a full
    /// bucket, rather than never passing) if the bucket has them; otherwise takes nothing and
    /// returns the whole seconds to wait before it would (at least 1), for `Retry-After`.
    mutating func take(_ spans: Int, rate: Int, nowMs: Int64) -> Int? {
        guard rate > 0 else { return nil }
        let capacity = Double(rate)
        if let updatedMs {
            tokens = min(capacity, tokens + Double(max(0, nowMs - updatedMs)) * capacity / 1_000)
        } else {
            tokens = capacity
        }
        updatedMs = nowMs
        let cost = min(Double(spans), capacity)
        guard tokens >= cost else {
            return max(1, Int(((cost - tokens) / capacity).rounded(.up)))
        }
        tokens -= cost
        return nil
    }
}
