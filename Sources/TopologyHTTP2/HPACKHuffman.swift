// Decoding of Huffman-coded string literals (RFC 7541 §5.2). The decoder walks a binary tree built
// once from the code table, one bit at a time: slower than nghttp2's 4-bit state machine, but the
// tree is derived from the appendix's rows at run time, so there is no second, generated table to
// disagree with them. Header blocks are small; the walk is a few instructions per bit.

/// The static Huffman code of HPACK; the table itself is in HPACKHuffmanTable.swift.
enum HPACKHuffman {
    static let eos = 256

    /// The code tree: `tree[2 * node + bit]` is the child of `node` for `bit`. A child with
    /// `leafFlag` set is the leaf of symbol `child & ~leafFlag`; any other is an inner node's number.
    /// The root is node 0, which is nobody's child, so 0 marks an empty slot while it is built.
    private static let leafFlag: UInt16 = 0x8000
    private static let tree: [UInt16] = {
        var tree = [UInt16](repeating: 0, count: 2)
        for (symbol, entry) in codes.enumerated() {
            var node = 0
            for position in stride(from: Int(entry.bits) - 1, through: 0, by: -1) {
                let slot = 2 * node + Int((entry.code >> UInt32(position)) & 1)
                if position == 0 {
                    precondition(tree[slot] == 0, "Huffman table: symbol \(symbol)'s code is another's prefix")
                    tree[slot] = leafFlag | UInt16(symbol)
                } else {
                    if tree[slot] == 0 {
                        tree[slot] = UInt16(tree.count / 2)
                        tree += [0, 0]
                    }
                    precondition(tree[slot] & leafFlag == 0, "Huffman table: symbol \(symbol)'s code extends another's")
                    node = Int(tree[slot])
                }
            }
        }
        return tree
    }()

    /// Decodes a Huffman-coded string. Fails on EOS, on padding longer than 7 bits or not all ones,
    /// and when the result would be longer than `limit` octets (it stops there: a hostile string
    /// decodes to at most 8/5 of its length, but no further than the caller allows).
    static func decode(_ bytes: ArraySlice<UInt8>, limit: Int) throws(HPACKError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(min(limit, bytes.count * 8 / 5))
        var node = 0
        // Bits read since the last symbol, and whether they were all ones: what is left at the end
        // is padding, which must be a prefix of EOS shorter than an octet.
        var pendingBits = 0
        var pendingAllOnes = true
        for octet in bytes {
            for position in stride(from: 7, through: 0, by: -1) {
                let bit = Int(octet >> UInt8(position)) & 1
                let child = tree[2 * node + bit]
                pendingBits += 1
                pendingAllOnes = pendingAllOnes && bit == 1
                guard child & leafFlag != 0 else {
                    node = Int(child)
                    continue
                }
                let symbol = Int(child & ~leafFlag)
                guard symbol != eos else { throw .huffmanEOS }
                guard out.count < limit else { throw .stringTooLong(length: limit + 1, limit: limit) }
                out.append(UInt8(symbol))
                node = 0
                pendingBits = 0
                pendingAllOnes = true
            }
        }
        guard pendingBits <= 7 else { throw .huffmanPaddingTooLong(bits: pendingBits) }
        guard pendingAllOnes else { throw .huffmanPaddingNotOnes }
        return out
    }
}
