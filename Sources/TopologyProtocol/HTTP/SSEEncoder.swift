import TopologyWire

/// What an event stream carries.
enum EventStreamFormat: Equatable {
    /// `/api/v1/watch`: each update's proto3 JSON, with an id to resume from (docs/dashboard.md).
    case topology
    /// `/events`: the seed runtime's events, `data:` lines only (`SeedEventJSON`).
    case seed
}

/// Server-Sent Events framing of topology updates.
enum SSEEncoder {
    /// The response head and the first lines of a stream.
    static func appendHead(_ format: EventStreamFormat, epoch: String, to out: inout [UInt8]) {
        switch format {
        case .topology:
            out += HTTPResponse.eventStreamHead()
            // The reconnection delay for EventSource, and the epoch a client may compare ids with.
            out += "retry: 1000\n: topology watch, server_epoch \(epoch)\n\n".utf8
        case .seed:
            // The seed's dashboard is served from another origin: its proxy allows any.
            out += HTTPResponse.eventStreamHead(extraHeaders: "Access-Control-Allow-Origin: *\r\n")
            out += "retry: 1000\n\n".utf8
        }
    }

    /// One event per update (for the seed's format, none for what it has no event for).
    static func append(_ updates: ArraySlice<TopologyUpdate>, format: EventStreamFormat, epoch: String, to out: inout [UInt8]) {
        for update in updates {
            switch format {
            case .topology:
                appendEvent(revision: update.revision, json: update.jsonUTF8(), epoch: epoch, to: &out)
            case .seed:
                guard let json = SeedEventJSON.encode(update) else { continue }
                out += "data: ".utf8
                out += json
                out += "\n\n".utf8
            }
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
