/// The bounded log of `ServiceEvent`s: a ring of at most `limit` events, the oldest evicted first
/// (and counted). Events arrive in revision order, so a read from a revision is a binary search.
public struct ServiceEventLog: Sendable {
    public let limit: Int
    /// The ring; once full, `head` is the index of the oldest event.
    private var ring: [ServiceEvent] = []
    private var head = 0
    /// Events dropped to make room, since start.
    public private(set) var evicted: UInt64 = 0
    /// The revision of the newest evicted event (0 before any): a reader from an older revision has
    /// missed events.
    public private(set) var evictedThroughRevision: UInt64 = 0
    /// The sequence number of the newest event (0 before the first).
    public private(set) var lastSequence: UInt64 = 0

    public init(limit: Int) {
        self.limit = max(0, limit)
    }

    public var count: Int { ring.count }

    /// Appends an event, numbering it; evicts the oldest if the log is full.
    mutating func append(revision: UInt64, timeMs: Int64, kind: ServiceEvent.Kind, serviceId: String, serviceName: String) {
        lastSequence += 1
        let event = ServiceEvent(
            sequence: lastSequence, revision: revision, timeMs: timeMs, kind: kind, serviceId: serviceId, serviceName: serviceName)
        guard limit > 0 else {
            evict(event)
            return
        }
        if ring.count < limit {
            ring.append(event)
            return
        }
        evict(ring[head])
        ring[head] = event
        head = (head + 1) % ring.count
    }

    private mutating func evict(_ event: ServiceEvent) {
        evicted += 1
        evictedThroughRevision = event.revision
    }

    /// The `position`th retained event, oldest first.
    private func event(at position: Int) -> ServiceEvent {
        ring[(head + position) % ring.count]
    }

    /// The first position whose event passes `isAfter` (events are ordered, so those that pass are
    /// a suffix).
    private func firstPosition(where isAfter: (ServiceEvent) -> Bool) -> Int {
        var low = 0
        var high = ring.count
        while low < high {
            let middle = (low + high) / 2
            if isAfter(event(at: middle)) { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// The retained events of revisions after `revision`, oldest first: at most `limit` of them,
    /// cut after a whole revision (the events of one revision are read together, so a client that
    /// reads on from the last revision it saw misses none), but always at least the first revision.
    public func page(afterRevision revision: UInt64, limit: Int) -> ServiceEventPage {
        let start = firstPosition { $0.revision > revision }
        var end = start
        while end < ring.count {
            let next = event(at: end).revision
            var through = end
            while through < ring.count && event(at: through).revision == next { through += 1 }
            if through - start > limit && end > start { break }
            end = through
        }
        return ServiceEventPage(
            events: (start ..< end).map(event(at:)),
            more: end < ring.count,
            missed: revision < evictedThroughRevision)
    }

    /// The retained events numbered after `sequence`, oldest first (the server's webhook cursor).
    public func events(afterSequence sequence: UInt64) -> [ServiceEvent] {
        guard sequence < lastSequence else { return [] }
        let start = firstPosition { $0.sequence > sequence }
        return (start ..< ring.count).map(event(at:))
    }
}

/// A read of the event log.
public struct ServiceEventPage: Equatable, Sendable {
    public var events: [ServiceEvent]
    /// More events follow the last of `events`: read again after its revision.
    public var more: Bool
    /// Events after the revision asked for were evicted before this read: the page is not all that
    /// happened since then.
    public var missed: Bool
}
