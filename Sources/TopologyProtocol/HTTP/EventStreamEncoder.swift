import TopologyWire

/// What a watch's stream of updates is written as, over HTTP/1.1.
enum EventStreamFormat: Equatable {
    /// `/api/v1/watch`: Server-Sent Events, each update's proto3 JSON, with an id to resume from
    /// (docs/dashboard.md).
    case topology
    /// `/events`: the seed runtime's Server-Sent Events, `data:` lines only (`SeedEventJSON`).
    case seed
    /// Connect's WatchTopology: each WatchTopologyResponse in an envelope, as proto3 JSON
    /// (`application/connect+json`) or protobuf (`application/connect+proto`).
    case connect(json: Bool)

    /// Server-Sent Events (comments keep an idle stream open), or Connect envelopes (nothing may
    /// come between them).
    var isServerSentEvents: Bool { if case .connect = self { false } else { true } }

    /// The `transport` of the "watch started" log line.
    var logName: String {
        switch self {
        case .topology: "sse"
        case .seed: "sse-seed"
        case .connect: "connect"
        }
    }
}

/// The framing of a watch's updates on an HTTP/1.1 stream: Server-Sent Events or Connect envelopes.
enum EventStreamEncoder {
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
        case .connect(let json):
            // The stream ends with the connection; its last envelope says how the call ended.
            out += "HTTP/1.1 200 OK\r\nContent-Type: application/connect+\(json ? "json" : "proto")\r\nCache-Control: no-store\r\nConnection: close\r\nX-Accel-Buffering: no\r\n\r\n".utf8
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
            case .connect(let json):
                let response = WatchTopologyResponse(update: update)
                out += ConnectEnvelope.encode(flags: 0, payload: json ? response.jsonUTF8() : response.serializedBytes())
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
