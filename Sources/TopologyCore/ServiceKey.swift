import TopologyWire

/// A service id: 128 bits, shown as a UUID in canonical text form (lowercase 8-4-4-4-12 hex).
/// The key of the service table (a `FlatTable`): two words, not 36 bytes of text.
public struct ServiceKey: Hashable, Sendable, FlatTableKey {
    public var high: UInt64
    public var low: UInt64

    /// A random version-4 UUID.
    static func random<G: RandomNumberGenerator>(using generator: inout G) -> ServiceKey {
        var high = generator.next() as UInt64
        var low = generator.next() as UInt64
        high = (high & ~0x0000_0000_0000_F000) | 0x0000_0000_0000_4000  // version 4
        low = (low & ~0xC000_0000_0000_0000) | 0x8000_0000_0000_0000    // variant 10
        return ServiceKey(high: high, low: low)
    }

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Parses the canonical text form (hex digits in either case); nil for anything else.
    public init?(parsing text: String) {
        guard let (high, low) = UUIDText.parse(text) else { return nil }
        self.init(high: high, low: low)
    }

    public var bits: (high: UInt64, low: UInt64) { (high, low) }

    /// Canonical lowercase text.
    public var text: String { UUIDText.format(high: high, low: low) }
}

/// Where a service is in a `Topology` (its slot), for a caller to keep between the service's
/// heartbeats: see `Topology.heartbeat(serviceKey:hint:...)`. Checked before every use (the slot
/// must hold a live node with the same id), so a stale hint costs a lookup, never a wrong node.
public struct NodeHint: Equatable, Sendable {
    let slot: Int32

    /// No hint: the next heartbeat looks the service up.
    public static let none = NodeHint(slot: -1)
}
