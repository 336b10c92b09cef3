/// A key of a `FlatTable`: 128 bits that identify it (equal keys, equal bits).
public protocol FlatTableKey: Equatable {
    var bits: (high: UInt64, low: UInt64) { get }
}

/// A hash table in one flat array: open addressing, linear probing, at most half full, deletion by
/// backward shift (no tombstones). A lookup hashes with one 128-bit multiply and usually reads one
/// cache line, where `Dictionary` hashes with SipHash and reads three places (occupancy bitmap,
/// keys, values). Used where the server looks something up for every frame: the service table
/// (by service id) and each connection's open calls (by call id).
///
/// Keys chosen by clients (service ids given at registration, call ids) are mixed with a random
/// per-table seed, so a client cannot choose keys that collide without knowing it.
public struct FlatTable<Key: FlatTableKey, Value> {
    @usableFromInline
    struct Entry {
        @usableFromInline var key: Key
        @usableFromInline var value: Value

        @inlinable init(key: Key, value: Value) {
            self.key = key
            self.value = value
        }
    }

    @usableFromInline var entries: [Entry?] = []
    /// entries.count - 1 (the count is a power of two), or -1 while empty.
    @usableFromInline var mask = -1
    @usableFromInline let seed: (UInt64, UInt64)
    @usableFromInline var storedCount = 0

    public var count: Int { storedCount }

    /// An empty table; `seed` is mixed into every key's hash (give it random bits).
    public init(seed: (UInt64, UInt64)) {
        self.seed = seed
    }

    public var isEmpty: Bool { count == 0 }

    @inlinable
    func home(_ key: Key) -> Int {
        let (high, low) = key.bits
        // The folded 128-bit product of the two seeded words: every input bit moves the result.
        let product = (high ^ seed.0).multipliedFullWidth(by: low ^ seed.1)
        return Int(truncatingIfNeeded: product.high ^ product.low) & mask
    }

    /// The slot holding `key`, or nil.
    @inlinable
    func find(_ key: Key) -> Int? {
        guard storedCount > 0 else { return nil }
        var index = home(key)
        while let entry = entries[index] {
            if entry.key == key { return index }
            index = (index + 1) & mask
        }
        return nil
    }

    @inlinable
    public subscript(key: Key) -> Value? {
        get { find(key).map { entries[$0]!.value } }
        set {
            if let newValue { updateValue(newValue, forKey: key) } else { removeValue(forKey: key) }
        }
    }

    /// Sets the value of `key`; returns the value it replaced.
    @inlinable
    @discardableResult
    public mutating func updateValue(_ value: Value, forKey key: Key) -> Value? {
        if let index = find(key) {
            let old = entries[index]!.value
            entries[index]!.value = value
            return old
        }
        if (storedCount + 1) * 2 > entries.count { grow() }
        var index = home(key)
        while entries[index] != nil { index = (index + 1) & mask }
        entries[index] = Entry(key: key, value: value)
        storedCount += 1
        return nil
    }

    /// Removes `key`; returns its value, nil if it was not there.
    @inlinable
    @discardableResult
    public mutating func removeValue(forKey key: Key) -> Value? {
        guard var hole = find(key) else { return nil }
        let value = entries[hole]!.value
        entries[hole] = nil
        storedCount -= 1
        // Backward shift: pull later entries of the probe run into the hole when their home is not
        // between the hole and them, so every key stays reachable from its home without gaps.
        var index = (hole + 1) & mask
        while let entry = entries[index] {
            let home = home(entry.key)
            if (index - home) & mask >= (index - hole) & mask {
                entries[hole] = entry
                entries[index] = nil
                hole = index
            }
            index = (index + 1) & mask
        }
        return value
    }

    public mutating func removeAll() {
        entries = []
        mask = -1
        storedCount = 0
    }

    /// Every key and value, in no particular order.
    public var elements: [(key: Key, value: Value)] {
        entries.compactMap { $0.map { ($0.key, $0.value) } }
    }

    @usableFromInline
    mutating func grow() {
        let old = entries
        let capacity = max(8, entries.count * 2)
        entries = Array(repeating: nil, count: capacity)
        mask = capacity - 1
        for case let entry? in old {
            var index = home(entry.key)
            while entries[index] != nil { index = (index + 1) & mask }
            entries[index] = entry
        }
    }
}

extension UInt64: FlatTableKey {
    public var bits: (high: UInt64, low: UInt64) { (self, 0) }
}
