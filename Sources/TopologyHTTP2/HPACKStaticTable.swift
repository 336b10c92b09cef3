// The static table of RFC 7541 Appendix A: index 1...61, before the dynamic table's entries.

enum HPACKStaticTable {
    /// Entry `i` of the appendix is `entries[i - 1]`.
    static let entries: [HeaderField] = [
        HeaderField(":authority", ""),                    // 1
        HeaderField(":method", "GET"),
        HeaderField(":method", "POST"),
        HeaderField(":path", "/"),
        HeaderField(":path", "/index.html"),              // 5
        HeaderField(":scheme", "http"),
        HeaderField(":scheme", "https"),
        HeaderField(":status", "200"),
        HeaderField(":status", "204"),
        HeaderField(":status", "206"),                    // 10
        HeaderField(":status", "304"),
        HeaderField(":status", "400"),
        HeaderField(":status", "404"),
        HeaderField(":status", "500"),
        HeaderField("accept-charset", ""),                // 15
        HeaderField("accept-encoding", "gzip, deflate"),
        HeaderField("accept-language", ""),
        HeaderField("accept-ranges", ""),
        HeaderField("accept", ""),
        HeaderField("access-control-allow-origin", ""),   // 20
        HeaderField("age", ""),
        HeaderField("allow", ""),
        HeaderField("authorization", ""),
        HeaderField("cache-control", ""),
        HeaderField("content-disposition", ""),           // 25
        HeaderField("content-encoding", ""),
        HeaderField("content-language", ""),
        HeaderField("content-length", ""),
        HeaderField("content-location", ""),
        HeaderField("content-range", ""),                 // 30
        HeaderField("content-type", ""),
        HeaderField("cookie", ""),
        HeaderField("date", ""),
        HeaderField("etag", ""),
        HeaderField("expect", ""),                        // 35
        HeaderField("expires", ""),
        HeaderField("from", ""),
        HeaderField("host", ""),
        HeaderField("if-match", ""),
        HeaderField("if-modified-since", ""),             // 40
        HeaderField("if-none-match", ""),
        HeaderField("if-range", ""),
        HeaderField("if-unmodified-since", ""),
        HeaderField("last-modified", ""),
        HeaderField("link", ""),                          // 45
        HeaderField("location", ""),
        HeaderField("max-forwards", ""),
        HeaderField("proxy-authenticate", ""),
        HeaderField("proxy-authorization", ""),
        HeaderField("range", ""),                         // 50
        HeaderField("referer", ""),
        HeaderField("refresh", ""),
        HeaderField("retry-after", ""),
        HeaderField("server", ""),
        HeaderField("set-cookie", ""),                    // 55
        HeaderField("strict-transport-security", ""),
        HeaderField("transfer-encoding", ""),
        HeaderField("user-agent", ""),
        HeaderField("vary", ""),
        HeaderField("via", ""),                           // 60
        HeaderField("www-authenticate", ""),
    ]

    /// Where the encoder finds a name in the table: its first index, and the index of each value
    /// stored with it.
    struct NameIndices: Sendable {
        var first: Int
        var byValue: [String: Int]
    }

    static let indicesByName: [String: NameIndices] = {
        var indices: [String: NameIndices] = [:]
        for (offset, entry) in entries.enumerated() {
            indices[entry.name, default: NameIndices(first: offset + 1, byValue: [:])].byValue[entry.value] = offset + 1
        }
        return indices
    }()
}
