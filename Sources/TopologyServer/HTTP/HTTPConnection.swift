import TopologyCore

/// One HTTP client connection: its request parser, its outbound queue, its deadline, and, once it
/// asked for `/api/v1/watch`, its SSE stream.
final class HTTPConnection: OutboundQueue {
    /// The watch behind an SSE stream.
    struct EventStream {
        let watcher: WatcherID
        var nextCommentMs: Int64
    }

    let id: UInt64
    let fd: Int32
    let peer: String
    var parser: HTTPRequestParser
    var outbound: [UInt8] = []
    var writeIndex = 0
    var waitingForWritable = false
    var scheduledForFlush = false
    /// No more reading; close once `outbound` is written (or at `closeDeadlineMs`).
    var closing = false
    var closeDeadlineMs: Int64 = .max
    /// The peer ended its side (EOF) while a response was still queued: no more reading; closed
    /// once the queue is written.
    var peerClosed = false
    /// The current request head must be complete, and the response read, by then (not for SSE).
    var deadlineMs: Int64
    var stream: EventStream?
    /// The SSE watcher has updates left in the core, held back while `outbound` was at its bound.
    var watcherBlocked = false
    /// A response, or SSE events, too large for the loop are being encoded by `ReplyEncoder`:
    /// nothing is read, answered or timed out until they are queued (so responses keep the order
    /// of requests, and events the order of revisions).
    var awaitingEncodedReply = false
    /// Whether the connection stays open after that response.
    var encodedReplyKeepsAlive = true

    /// Waiting for a request head (none begun, or one begun and not complete) with nothing to write,
    /// no stream and no reply being encoded: all an idle or slow client holds, so the connection may
    /// be closed to admit another when every slot is taken (`makeRoomForHTTPConnection`).
    var isWaitingForRequest: Bool {
        !closing && stream == nil && !awaitingEncodedReply && pendingBytes == 0
    }

    init(id: UInt64, fd: Int32, peer: String, limits: HTTPLimits, deadlineMs: Int64) {
        self.id = id
        self.fd = fd
        self.peer = peer
        self.parser = HTTPRequestParser(limits: limits)
        self.deadlineMs = deadlineMs
    }
}

/// Server-Sent Events framing of topology updates.
enum SSEEncoder {
    /// One event: `id: <epoch>.<revision>`, then the update's proto3
    /// JSON as `data:` lines (one per line of JSON, so a newline can never end the event early).
    static func append(_ update: TopologyUpdateJSON, epoch: String, to out: inout [UInt8]) {
        out.append(contentsOf: "id: \(epoch).\(update.revision)\n".utf8)
        for line in update.json.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
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

/// An update ready for SSE: its revision and JSON text (UTF-8).
struct TopologyUpdateJSON {
    var revision: UInt64
    var json: [UInt8]
}
