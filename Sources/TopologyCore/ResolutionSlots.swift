/// The node slots `Topology.resolutionIndex` lists under one key (a name, interface::role, interface
/// or address). Nearly every key names one node, so one slot is held inline, in the word an array
/// would take: an array per key was two heap blocks per service (about 100 bytes), heaptrack at
/// 30,000 services. Order carries no meaning (resolution ranks candidates itself).
enum ResolutionSlots: Equatable {
    case one(Int32)
    case many([Int32])

    /// Calls `body` with every slot.
    func forEach(_ body: (Int32) -> Void) {
        switch self {
        case .one(let slot): body(slot)
        case .many(let slots): slots.forEach(body)
        }
    }

    /// Adds `slot`, in place (a name shared by thousands of replicas is not copied per replica).
    mutating func insert(_ slot: Int32) {
        switch self {
        case .one(let first):
            self = .many([first, slot])
        case .many(var slots):
            self = .one(slot)  // drops this value's reference, so `slots` is unique and grows in place
            slots.append(slot)
            self = .many(slots)
        }
    }

    /// Removes `slot`; false when no slot is left (the caller drops the key).
    mutating func remove(_ slot: Int32) -> Bool {
        switch self {
        case .one(let only):
            return only != slot
        case .many(var slots):
            self = .one(slot)
            if let position = slots.firstIndex(of: slot) { slots.remove(at: position) }
            self = slots.count == 1 ? .one(slots[0]) : .many(slots)
            return !slots.isEmpty
        }
    }
}
