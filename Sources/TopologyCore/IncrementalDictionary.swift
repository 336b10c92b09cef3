/// A `Dictionary` that never rehashes all of itself in one call. A `Dictionary` that is full
/// rehashes every key into storage twice the size on the next insert: the resolution index (two
/// string keys per service) took 250 ms to do so at 393,000 services and 660 ms at 786,000, a
/// loop turn during which no heartbeat was read.
///
/// Here a full table (of `incrementalFrom` entries or more) becomes `previous`, frozen, and writes
/// go to a new `current` of twice the capacity; every write then moves `stepPerWrite` entries
/// from `previous` to `current` (skipping keys written or removed since), and `migrate(_:)` moves
/// more when the owner has time. `current` is large enough that it never grows while `previous`
/// is moved, which ends before `current` fills. A key's value is `current`'s if it is there,
/// else `previous`'s unless the key was removed since the move began (`removedFromPrevious`).
///
/// Freeing `previous` at the end is itself a pass over all of its buckets (63 ms for 1,570,000
/// keys): it is kept for the owner to take (`takeRetired`) and free on another thread. Its keys
/// and values are shared with `current`, so that frees only its storage.
struct IncrementalDictionary<Key: Hashable, Value> {
    /// Smaller tables grow as a `Dictionary` does: rehashing them takes under a millisecond.
    static var incrementalFrom: Int { 1 << 14 }
    /// Entries moved per write: more than the writes a move takes can add (see `startMove`).
    static var stepPerWrite: Int { 8 }

    private var current: [Key: Value] = [:]
    private var previous: [Key: Value] = [:]
    /// The next entry of `previous` to move; `previous.endIndex` when no move is under way.
    private var cursor: Dictionary<Key, Value>.Index
    private var removedFromPrevious: Set<Key> = []
    /// `previous` once moved, until taken (a move that ends while one is left frees that one).
    private var retired: [Key: Value]?
    private(set) var count = 0

    init() {
        cursor = previous.endIndex
    }

    /// A move from a full table is under way.
    var isMoving: Bool { cursor != previous.endIndex }

    subscript(key: Key) -> Value? {
        get {
            if let value = current[key] { return value }
            guard isMoving, removedFromPrevious.isEmpty || !removedFromPrevious.contains(key) else { return nil }
            return previous[key]
        }
        _modify {
            var existed = current.index(forKey: key) != nil
            if !existed, isMoving, removedFromPrevious.isEmpty || !removedFromPrevious.contains(key), let value = previous[key] {
                current[key] = value  // modified here from now on (`previous` keeps its copy until the move ends)
                existed = true
            }
            if !existed, !isMoving, current.count >= current.capacity, current.count >= Self.incrementalFrom {
                startMove()
            }
            defer {
                let exists = current.index(forKey: key) != nil
                if exists && !existed {
                    count += 1
                } else if existed && !exists {
                    count -= 1
                    if isMoving, previous.index(forKey: key) != nil { removedFromPrevious.insert(key) }
                }
                if isMoving { migrate(Self.stepPerWrite) }
            }
            yield &current[key]
        }
    }

    /// Moves up to `limit` entries of a move under way; ends it when none is left.
    mutating func migrate(_ limit: Int) {
        var moved = 0
        while moved < limit, cursor != previous.endIndex {
            let (key, value) = previous[cursor]
            if current.index(forKey: key) == nil, removedFromPrevious.isEmpty || !removedFromPrevious.contains(key) {
                current[key] = value
            }
            previous.formIndex(after: &cursor)
            moved += 1
        }
        if cursor == previous.endIndex, !previous.isEmpty {
            retired = previous
            previous = [:]
            cursor = previous.endIndex
            removedFromPrevious = []
        }
    }

    /// The table a finished move left, for the caller to free where it costs nothing.
    mutating func takeRetired() -> [Key: Value]? {
        defer { retired = nil }
        return retired
    }

    /// `current` is full: it becomes `previous`, and the new `current` holds twice as many. A move
    /// of n entries takes n / `stepPerWrite` writes, which add at most that many keys: `current`
    /// holds n + n / 8 by the end, well under its capacity of 2n.
    private mutating func startMove() {
        previous = current
        current = Dictionary(minimumCapacity: previous.count * 2)
        cursor = previous.startIndex
    }
}
