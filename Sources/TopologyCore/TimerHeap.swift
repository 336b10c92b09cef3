/// One scheduled check. `ref` names a node, edge or watcher slot, `generation` the occupant of that
/// slot when the entry was pushed: an entry whose slot has moved on is skipped when it surfaces
/// (lazy deletion), so nothing is ever searched for or removed from the middle of the timers.
struct TimerEntry: Sendable {
    var time: Int64
    var ref: UInt32
    var generation: UInt32
}

/// A binary min-heap of timer entries, ordered by time. Push and pop are O(log n); looking at the
/// earliest entry is O(1). `TimerWheel` keeps here the entries beyond its span.
struct TimerHeap: Sendable {
    private(set) var entries: [TimerEntry] = []

    var count: Int { entries.count }
    var first: TimerEntry? { entries.first }

    mutating func push(_ entry: TimerEntry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if entries[parent].time <= entry.time { break }
            entries[child] = entries[parent]
            child = parent
        }
        entries[child] = entry
    }

    mutating func popFirst() -> TimerEntry? {
        guard let top = entries.first else { return nil }
        let last = entries.removeLast()
        if entries.isEmpty { return top }
        var parent = 0
        let count = entries.count
        while true {
            let left = 2 * parent + 1
            if left >= count { break }
            let right = left + 1
            let child = right < count && entries[right].time < entries[left].time ? right : left
            if entries[child].time >= last.time { break }
            entries[parent] = entries[child]
            parent = child
        }
        entries[parent] = last
        return top
    }
}
