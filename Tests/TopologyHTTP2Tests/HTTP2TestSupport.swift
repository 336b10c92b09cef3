@testable import TopologyHTTP2

/// Hex of bytes, for assertions on exact wire images.
func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}

/// A deterministic xorshift generator: the random chunkings of a test are the same on every run.
struct Xorshift: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed | 1 }

    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}

/// Ways a socket could deliver `stream`: all at once, one byte per read, and random cuts (seeded).
func chunkings(of stream: [UInt8], seeds: ClosedRange<UInt64> = 1...8) -> [[ArraySlice<UInt8>]] {
    var ways = [[stream[...]], stream.indices.map { stream[$0...$0] }]
    for seed in seeds {
        var generator = Xorshift(seed: seed)
        var chunks: [ArraySlice<UInt8>] = []
        var start = 0
        while start < stream.count {
            let end = min(stream.count, start + Int.random(in: 1...64, using: &generator))
            chunks.append(stream[start..<end])
            start = end
        }
        ways.append(chunks)
    }
    return ways
}
