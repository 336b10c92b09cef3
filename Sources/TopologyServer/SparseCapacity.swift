/// Hash tables given back when they have become mostly empty.
///
/// A Swift Dictionary or Set keeps its capacity when entries are removed. The server's tables of
/// connections and watchers grow with a burst of them and stayed at its size once it had gone:
/// after 5,000 watchers, 0.6 MB in `connections`, `watcherCalls`, the retry list and the snapshot
/// jobs (heaptrack, `LoadGen overload`). A table at most a quarter full is rebuilt at its count: it
/// can grow by a third before it reallocates, and by four times before it is rebuilt again, so a
/// count that moves around a size does not rebuild each time. Small tables are left alone.
enum SparseCapacity {
    static let minimumCapacity = 256

    static func isSparse(count: Int, capacity: Int) -> Bool {
        capacity > minimumCapacity && count * 4 <= capacity
    }
}

extension Dictionary {
    /// Rebuilds the table at its count when it is sparse (`SparseCapacity`). Returns whether it did.
    mutating func releaseSparseCapacity() -> Bool {
        guard SparseCapacity.isSparse(count: count, capacity: capacity) else { return false }
        var rebuilt = Dictionary(minimumCapacity: count)
        for (key, value) in self { rebuilt[key] = value }
        self = rebuilt
        return true
    }
}

extension Set {
    /// Rebuilds the set at its count when it is sparse (`SparseCapacity`). Returns whether it did.
    mutating func releaseSparseCapacity() -> Bool {
        guard SparseCapacity.isSparse(count: count, capacity: capacity) else { return false }
        var rebuilt = Set(minimumCapacity: count)
        for member in self { rebuilt.insert(member) }
        self = rebuilt
        return true
    }
}
