/// The heartbeat schedule of paced mode: services in the order they fall due, each with its due
/// time. A service that is sent goes to the back with its next due time, and a service that joins
/// (its registration was just answered) goes to the back with its first one; both are never earlier
/// than any due time already queued (every queued due time is at most one interval ahead), so the
/// queue stays sorted with appends alone, at any fleet size.
struct PaceQueue {
    private var services: [Int32] = []
    private var dueTimes: [Int64] = []
    private var head = 0

    var count: Int { services.count - head }
    var frontDue: Int64? { head < dueTimes.count ? dueTimes[head] : nil }

    /// Service k of `order` first due at start + k/n of the interval.
    init(spreading order: [Int32], startNs: Int64, intervalNs: Int64) {
        services = order
        dueTimes = order.indices.map { startNs + Int64($0) * intervalNs / Int64(max(1, order.count)) }
    }

    init() {}

    mutating func append(_ service: Int32, dueNs: Int64) {
        services.append(service)
        // A clock step between two appends must not unsort the queue.
        dueTimes.append(max(dueNs, dueTimes.last ?? dueNs))
    }

    mutating func popFront() -> (service: Int32, dueNs: Int64)? {
        guard head < services.count else { return nil }
        let entry = (services[head], dueTimes[head])
        head += 1
        if head > 65_536 && head * 2 > services.count {
            services.removeFirst(head)
            dueTimes.removeFirst(head)
            head = 0
        }
        return entry
    }
}
