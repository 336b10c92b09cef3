import TopologyCore

/// A connection's open calls by call id: a `FlatTable`, plus one bit per small call id that is an
/// open Heartbeat call. The heartbeat fast path checks the bit: a few cache lines per connection,
/// which stay cached, where the table is kilobytes that a busy server has evicted by the time the
/// call's next heartbeat comes (a miss per heartbeat otherwise). It also keeps, per small call id,
/// where the core last found the call's service (`NodeHint`), which spares the core's service
/// table the same miss.
public struct CallTable {
    /// An open streaming call (unary calls are answered at once and never open).
    public enum Call {
        case heartbeat
        case activity(accepted: Int64)
        case watch(WatcherID)

        public var name: String {
            switch self {
            case .heartbeat: "Heartbeat"
            case .activity: "ReportActivity"
            case .watch: "WatchTopology"
            }
        }
    }

    /// Call ids below this get a bit (at most 1 KiB of bits per connection).
    public static let bitLimit: UInt64 = 8_192
    /// Call ids below this get a hint (at most 4 KiB per connection).
    public static let hintLimit: UInt64 = 1_024

    private var table: FlatTable<UInt64, Call>
    private var heartbeatBits: [UInt64] = []
    private var hints: [NodeHint] = []

    public init(seed: (UInt64, UInt64)) {
        table = FlatTable(seed: seed)
    }

    public var count: Int { table.count }

    /// Every open call, in no particular order.
    public var elements: [(key: UInt64, value: Call)] { table.elements }

    public subscript(id: UInt64) -> Call? {
        get { table[id] }
        set {
            table[id] = newValue
            if case .heartbeat? = newValue { setBit(id, true) } else { setBit(id, false) }
        }
    }

    /// Whether `id` is an open Heartbeat call (false also for ids past `bitLimit`: ask the table).
    public func isOpenHeartbeat(_ id: UInt64) -> Bool {
        guard id < CallTable.bitLimit else { return false }
        let word = Int(id >> 6)
        return word < heartbeatBits.count && heartbeatBits[word] & (1 << (id & 63)) != 0
    }

    /// Where the core last found the service of heartbeat call `id` (`.none` if not known).
    public func hint(_ id: UInt64) -> NodeHint {
        id < UInt64(hints.count) ? hints[Int(id)] : .none
    }

    public mutating func setHint(_ id: UInt64, _ hint: NodeHint) {
        guard id < CallTable.hintLimit else { return }
        if id >= UInt64(hints.count) {
            guard hint != .none else { return }
            hints += repeatElement(.none, count: Int(id) + 1 - hints.count)
        }
        hints[Int(id)] = hint
    }

    @discardableResult
    public mutating func removeValue(forKey id: UInt64) -> Call? {
        setBit(id, false)
        return table.removeValue(forKey: id)
    }

    public mutating func removeAll() {
        table.removeAll()
        heartbeatBits = []
        hints = []
    }

    private mutating func setBit(_ id: UInt64, _ on: Bool) {
        if !on { setHint(id, .none) }
        guard id < CallTable.bitLimit else { return }
        let word = Int(id >> 6)
        if word >= heartbeatBits.count {
            guard on else { return }
            heartbeatBits += repeatElement(0, count: word + 1 - heartbeatBits.count)
        }
        if on { heartbeatBits[word] |= 1 << (id & 63) } else { heartbeatBits[word] &= ~(1 << (id & 63)) }
    }
}
