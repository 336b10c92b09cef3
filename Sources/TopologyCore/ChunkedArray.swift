/// An array kept in chunks of 1,024 elements, each a copy-on-write array of its own: the core's node
/// and edge slots. A copy of the whole (what a snapshot is built from on another thread,
/// `SnapshotSource`) costs one retain per chunk, and a write after such a copy copies only the chunk
/// it lands in. With one plain array, the first heartbeat after a copy would copy every record: at
/// 1,000,000 nodes, 304 MB and a retain per string, on the loop.
struct ChunkedArray<Element> {
    private static var shift: Int { 10 }
    private static var chunkSize: Int { 1 << shift }
    private static var mask: Int { chunkSize - 1 }

    private var chunks: [[Element]] = []
    private(set) var count = 0

    var indices: Range<Int> { 0..<count }

    /// Reads and writes in place (no copy of the element, whose records hold strings and arrays).
    subscript(index: Int) -> Element {
        @inline(__always) _read {
            precondition(index >= 0 && index < count, "ChunkedArray index out of range")
            yield chunks[index &>> Self.shift][index & Self.mask]
        }
        @inline(__always) _modify {
            precondition(index >= 0 && index < count, "ChunkedArray index out of range")
            yield &chunks[index &>> Self.shift][index & Self.mask]
        }
    }

    mutating func append(_ element: Element) {
        if count & Self.mask == 0 {
            var chunk: [Element] = []
            chunk.reserveCapacity(Self.chunkSize)
            chunks.append(chunk)
        }
        chunks[chunks.count - 1].append(element)
        count += 1
    }
}
