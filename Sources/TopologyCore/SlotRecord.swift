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

extension Array where Element: SlotRecord {
    /// Takes a slot for a new record: the last one freed, or a new one at the end. Returns it with a
    /// fresh record, in use and carrying the slot's generation, for the caller to fill in and store
    /// at the slot.
    mutating func claimSlot(reusing free: inout [Int32]) -> (slot: Int32, record: Element) {
        let slot: Int32
        if let reused = free.popLast() {
            slot = reused
        } else {
            slot = Int32(count)
            append(Element())
        }
        var record = Element()
        record.inUse = true
        record.generation = self[Int(slot)].generation
        return (slot, record)
    }
}
