// The HPACK encoder: stateless, so the peer's decoder never holds an entry of ours and no size
// update is ever owed. Each field is its static-table index when the table holds the name and
// value, else a literal without indexing (§6.2.2) naming the static entry when it holds the name,
// else a literal with both strings. No Huffman: the server's headers are few and short
// (`:status`, `content-type`, `grpc-status`, `grpc-message`).

/// Writes header blocks for the peer's decoder.
public enum HPACKEncoder {
    public static func encode(_ fields: [HeaderField], into out: inout [UInt8]) {
        for field in fields {
            let indices = HPACKStaticTable.indicesByName[field.name]
            if let index = indices?.byValue[field.value] {
                HPACKInteger.encode(index, prefixBits: 7, flags: 0x80, into: &out)
                continue
            }
            if let index = indices?.first {
                HPACKInteger.encode(index, prefixBits: 4, flags: 0x00, into: &out)
            } else {
                out.append(0x00)
                appendString(field.name, to: &out)
            }
            appendString(field.value, to: &out)
        }
    }

    /// A string literal (§5.2) without Huffman coding.
    private static func appendString(_ string: String, to out: inout [UInt8]) {
        HPACKInteger.encode(string.utf8.count, prefixBits: 7, flags: 0x00, into: &out)
        out.append(contentsOf: string.utf8)
    }
}
