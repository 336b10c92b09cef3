// The decoder's dynamic table (RFC 7541 §2.3.2, §4): the fields the peer's encoder chose to index,
// newest first in the index space, evicted oldest first when an insertion or a size update leaves
// them more than the maximum size.
//
//   index space:  1 ... 61 | 62 = newest ... 61 + count = oldest
//                  static  |             dynamic
//   storage:      entries[0] = oldest ... entries[count - 1] = newest

/// The dynamic table of one HPACK decoder.
struct HPACKDynamicTable: Sendable {
    struct Entry: Equatable, Sendable {
        var field: HeaderField
        /// The name's and the value's length in octets as received. Sizes are counted from these,
        /// not from the Strings: invalid UTF-8 became U+FFFD (3 octets), and the peer's encoder
        /// counts what it sent.
        var nameOctets: Int
        var valueOctets: Int

        /// RFC 7541 §4.1.
        var size: Int { nameOctets + valueOctets + headerFieldOverhead }
    }

    /// Oldest first, so an insertion appends. Eviction shifts the array; with 32 octets of overhead
    /// an entry, a table of 4,096 octets holds at most 128 entries, so that is cheap.
    private(set) var entries: [Entry] = []
    /// The sum of the entries' sizes, never over `maxSize`.
    private(set) var size = 0
    /// The maximum size in force: the last size update's, or the decoder's limit before any.
    private(set) var maxSize: Int

    init(maxSize: Int) {
        self.maxSize = maxSize
    }

    var count: Int { entries.count }

    /// The entry at dynamic index `index` (1 = newest), or nil past the oldest.
    func entry(at index: Int) -> Entry? {
        guard index >= 1, index <= entries.count else { return nil }
        return entries[entries.count - index]
    }

    /// Adds an entry. One larger than the maximum size empties the table and is not added (§4.4):
    /// not an error.
    mutating func insert(_ entry: Entry) {
        guard entry.size <= maxSize else {
            entries.removeAll()
            size = 0
            return
        }
        evict(toFit: maxSize - entry.size)
        entries.append(entry)
        size += entry.size
    }

    /// Applies a dynamic table size update (§6.3), evicting what no longer fits. The caller checked
    /// `newMaxSize` against the advertised limit.
    mutating func resize(to newMaxSize: Int) {
        maxSize = newMaxSize
        evict(toFit: newMaxSize)
    }

    private mutating func evict(toFit target: Int) {
        var evicted = 0
        while size > target {
            size -= entries[evicted].size
            evicted += 1
        }
        entries.removeFirst(evicted)
    }
}
