import TopologyWire

extension Topology {
    /// The net effect of `updates` on a watcher, one update per node or edge, in order of each
    /// one's last update (so revisions still increase). Every update carries the full node or edge,
    /// so the latest one wins; what existed before the first and after the last decides the type:
    /// existed before and after -> UPDATED, only after -> ADDED, only before -> REMOVED, neither ->
    /// nothing. PROGRESS updates are dropped (the revisions that remain say as much).
    static func coalesce(_ updates: ArraySlice<QueuedUpdate>) -> [QueuedUpdate] {
        struct Summary {
            var existedBefore: Bool
            var lastIndex: Int
            var count: Int
            var wasCoalesced: Bool
        }
        // Entities are hashed once per history entry (`UpdateEntity`), at its first coalescing: a
        // buffer that overflows is coalesced for every watcher that holds it.
        var indexByEntity: [UpdateEntity: Int] = [:]
        indexByEntity.reserveCapacity(updates.count)
        var summaries: [Summary] = []
        var order: [Int] = []          // summary of each node/edge update, in queue order
        var positions: [Int] = []      // its offset in `updates`
        order.reserveCapacity(updates.count)
        positions.reserveCapacity(updates.count)
        for (offset, update) in updates.enumerated() {
            guard let entity = update.entry?.entity else { continue }
            order.append(0)
            positions.append(offset)
            if let index = indexByEntity[entity] {
                summaries[index].lastIndex = order.count - 1
                summaries[index].count += 1
                summaries[index].wasCoalesced = summaries[index].wasCoalesced || update.coalesced
                order[order.count - 1] = index
            } else {
                let existed = !(update.type == .nodeAdded || update.type == .edgeAdded)
                indexByEntity[entity] = summaries.count
                order[order.count - 1] = summaries.count
                summaries.append(Summary(existedBefore: existed, lastIndex: order.count - 1, count: 1, wasCoalesced: update.coalesced))
            }
        }
        let base = updates.startIndex
        var result: [QueuedUpdate] = []
        result.reserveCapacity(summaries.count)
        for (offset, index) in order.enumerated() {
            let summary = summaries[index]
            guard summary.lastIndex == offset else { continue }
            var update = updates[base + positions[offset]]
            let existsAfter = !(update.type == .nodeRemoved || update.type == .edgeRemoved)
            let isEdge = update.entry?.update.edge != nil
            switch (summary.existedBefore, existsAfter) {
            case (false, false): continue
            case (true, true): update.type = isEdge ? .edgeUpdated : .nodeUpdated
            case (false, true): update.type = isEdge ? .edgeAdded : .nodeAdded
            case (true, false): update.type = isEdge ? .edgeRemoved : .nodeRemoved
            }
            update.coalesced = summary.count > 1 || summary.wasCoalesced
            result.append(update)
        }
        return result
    }
}
