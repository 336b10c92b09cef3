// Why a header block could not be decoded. Every case is a COMPRESSION_ERROR in HTTP/2 (RFC 9113
// §4.3): the decoder's dynamic table is then out of step with the peer's encoder, so the connection
// must end.

/// A header block that does not follow RFC 7541, or that breaks a limit this side set.
public enum HPACKError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A prefix integer's continuation octets run past the end of the block.
    case truncatedInteger
    /// A prefix integer is over `HPACKInteger.maxValue`, or has more continuation octets than that needs.
    case integerOverflow
    /// The block ends after a literal field's first octet or its name, where a string should start.
    case truncatedField
    /// A string literal is longer than the octets left in the block.
    case truncatedString(length: Int, available: Int)
    /// A string literal (Huffman-decoded, when it is Huffman-coded) is longer than the header list may be.
    case stringTooLong(length: Int, limit: Int)
    /// An index is 0, or past the end of the static and dynamic tables.
    case indexOutOfRange(index: Int, entries: Int)
    /// A Huffman-coded string holds the EOS symbol, which RFC 7541 §5.2 forbids.
    case huffmanEOS
    /// A Huffman-coded string ends in more than 7 bits that do not make up a symbol.
    case huffmanPaddingTooLong(bits: Int)
    /// A Huffman-coded string ends in padding that is not the most significant bits of EOS (all ones).
    case huffmanPaddingNotOnes
    /// A dynamic table size update asks for more than the SETTINGS_HEADER_TABLE_SIZE this side advertised.
    case tableSizeUpdateTooLarge(requested: Int, limit: Int)
    /// A dynamic table size update follows a header field in the block (RFC 7541 §4.2 wants it first).
    case tableSizeUpdateNotAtStart

    public var description: String {
        switch self {
        case .truncatedInteger:
            return "HPACK: an integer's continuation octets run past the end of the header block (the block is cut short)"
        case .integerOverflow:
            return "HPACK: an integer is larger than \(HPACKInteger.maxValue) or padded with too many continuation octets"
        case .truncatedField:
            return "HPACK: the header block ends in the middle of a literal header field, where its name or value should start"
        case let .truncatedString(length, available):
            return "HPACK: a string literal of \(length) octets, but only \(available) octets are left in the header block"
        case let .stringTooLong(length, limit):
            return "HPACK: a string literal of \(length) octets or more is longer than the header list limit of \(limit) octets; send smaller headers"
        case let .indexOutOfRange(index, entries):
            let valid = entries > 0 ? "valid indices are 1...\(entries)" : "no index is valid"
            return "HPACK: index \(index) is not in the static and dynamic tables (\(valid)); the encoder's table is out of step with this decoder's"
        case .huffmanEOS:
            return "HPACK: a Huffman-coded string contains the EOS symbol, which must never be encoded"
        case let .huffmanPaddingTooLong(bits):
            return "HPACK: a Huffman-coded string ends in \(bits) bits of padding; at most 7 are allowed"
        case .huffmanPaddingNotOnes:
            return "HPACK: a Huffman-coded string's padding is not all ones (the most significant bits of EOS)"
        case let .tableSizeUpdateTooLarge(requested, limit):
            return "HPACK: a dynamic table size update to \(requested) octets is over the advertised SETTINGS_HEADER_TABLE_SIZE of \(limit)"
        case .tableSizeUpdateNotAtStart:
            return "HPACK: a dynamic table size update after a header field; it must come at the start of the header block"
        }
    }
}
