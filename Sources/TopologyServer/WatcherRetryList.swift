import TopologyCore

/// Watchers to offer updates again at the next delivery round, each once, in the order they were
/// first added: a watcher whose connection drained on several writes before the round, left over
/// from a round cut short, and also ready in the core is offered once. A plain list took every one
/// of those: under 5,000 watchers it grew to 2.4 million entries (19 MB, kept once the watchers had
/// gone, and a round's worth of work per duplicate).
struct WatcherRetryList {
    private var order: [WatcherID] = []
    private var members: Set<WatcherID> = []
    /// The most listed at once since `releaseSparseCapacity` last looked.
    private var mostListed = 0

    var isEmpty: Bool { order.isEmpty }
    var count: Int { order.count }

    mutating func append(_ watcher: WatcherID) {
        if members.insert(watcher).inserted {
            order.append(watcher)
            mostListed = max(mostListed, order.count)
        }
    }

    mutating func append(contentsOf watchers: some Sequence<WatcherID>) {
        for watcher in watchers { append(watcher) }
    }

    /// The watchers listed, in order; the list starts over. Its storage is kept (it holds at most
    /// one entry per watcher) until `releaseSparseCapacity` finds it too large.
    mutating func take() -> [WatcherID] {
        defer {
            order.removeAll(keepingCapacity: true)
            members.removeAll(keepingCapacity: true)
        }
        return order
    }

    /// Gives the storage back when the most listed at once since the last call would have fitted in
    /// a quarter of it (`SparseCapacity`): the list is emptied at every round, so its count at the
    /// time of the call says nothing of what the rounds need. For a periodic caller.
    mutating func releaseSparseCapacity() -> Bool {
        defer { mostListed = order.count }
        guard SparseCapacity.isSparse(count: mostListed, capacity: members.capacity) else { return false }
        var kept: [WatcherID] = []  // a new buffer: `Array(order)` shares this one
        kept.reserveCapacity(order.count)
        kept.append(contentsOf: order)
        order = kept
        var rebuilt = Set<WatcherID>(minimumCapacity: order.count)
        for watcher in order { rebuilt.insert(watcher) }
        members = rebuilt
        return true
    }
}
