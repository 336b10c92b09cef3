import TopologyWire

/// Server-Sent Events framing of topology updates.
enum SSEEncoder {
    /// One event per update, each its proto3 JSON.
    static func append(_ updates: ArraySlice<TopologyUpdate>, epoch: String, to out: inout [UInt8]) {
        for update in updates {
            appendEvent(revision: update.revision, json: update.jsonUTF8(), epoch: epoch, to: &out)
        }
    }

    /// One event: `id: <epoch>.<revision>`, then the JSON text as `data:` lines (one per line of
    /// JSON, so a newline can never end the event early).
    static func appendEvent(revision: UInt64, json: [UInt8], epoch: String, to out: inout [UInt8]) {
        out.append(contentsOf: "id: \(epoch).\(revision)\n".utf8)
        for line in json.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            out.append(contentsOf: "data: ".utf8)
            out.append(contentsOf: line)
            out.append(UInt8(ascii: "\n"))
        }
        out.append(UInt8(ascii: "\n"))
    }

    static func appendComment(_ comment: String, to out: inout [UInt8]) {
        out.append(contentsOf: ": \(comment)\n\n".utf8)
    }
}
