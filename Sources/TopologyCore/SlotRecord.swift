/// A record of one of the core's slot arrays (nodes, edges, watchers). A freed slot goes on a free
/// list and is reused; its generation moves on when it is freed, so a handle or timer that names
/// the slot's former occupant is told apart from the new one.
protocol SlotRecord {
    init()
    var inUse: Bool { get set }
    var generation: UInt32 { get set }
}

extension NodeRecord: SlotRecord {}
extension EdgeRecord: SlotRecord {}
extension WatcherRecord: SlotRecord {}

/// Where slot records are kept: a plain array (watchers) or a `ChunkedArray` (nodes, edges).
protocol SlotArray {
    associatedtype Element: SlotRecord
    var count: Int { get }
    subscript(index: Int) -> Element { get }
    mutating func append(_ element: Element)
}

extension Array: SlotArray where Element: SlotRecord {}
extension ChunkedArray: SlotArray where Element: SlotRecord {}

extension SlotArray {
    /// Takes a slot for a new record: the last one freed, or a new one at the end (its generation
    /// `freshGeneration`, see `releaseFreeTail`). Returns it with a fresh record, in use and carrying
    /// the slot's generation, for the caller to fill in and store at the slot.
    mutating func claimSlot(reusing free: inout [Int32], freshGeneration: UInt32 = 0) -> (slot: Int32, record: Element) {
        let slot: Int32
        if let reused = free.popLast() {
            slot = reused
        } else {
            slot = Int32(count)
            var record = Element()
            record.generation = freshGeneration
            append(record)
        }
        var record = Element()
        record.inUse = true
        record.generation = self[Int(slot)].generation
        return (slot, record)
    }
}

extension Array where Element: SlotRecord {
    /// Gives back the storage of the free slots at the end once they are at least three quarters of
    /// the capacity (and it is over `minimumCapacity`): the array is rebuilt at the slots up to the
    /// last in use, and the free list loses the slots cut. A slot made again later starts at
    /// `freshGeneration`, raised here past every generation cut, so that a handle or timer naming a
    /// cut slot's former occupant still finds no match. Returns whether it released anything.
    ///
    /// The quarter leaves room to grow again (appends double the rebuilt capacity) before the next
    /// release, so a count that moves around a size does not rebuild each time. The caller checks the
    /// live count first: the scan from the end then runs only when the release is likely.
    mutating func releaseFreeTail(free: inout [Int32], freshGeneration: inout UInt32, minimumCapacity: Int) -> Bool {
        var end = count
        while end > 0 && !self[end - 1].inUse { end -= 1 }
        guard capacity > minimumCapacity, end * 4 <= capacity else { return false }
        for slot in end..<count { freshGeneration = Swift.max(freshGeneration, self[slot].generation) }
        var kept: [Element] = []  // a new buffer: `Array(self[..<end])` may share this one
        kept.reserveCapacity(end)
        kept.append(contentsOf: self[..<end])
        self = kept
        free = free.filter { Int($0) < end }
        return true
    }
}
