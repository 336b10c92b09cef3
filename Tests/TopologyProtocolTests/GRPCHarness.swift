import TopologyCore
@testable import TopologyHTTP2
@testable import TopologyProtocol
import TopologyWire
import XCTest

/// A gRPC client played by hand against one `GRPCSession`, with the dispatcher and core of a
/// `ProtocolHarness`: HTTP/2 frames in (built here, HPACK-encoded), and what the server wrote read
/// back per stream as a response head, messages and trailers. Time is the harness's clock.
struct GRPCHarness {
    /// What the server sent on one stream so far.
    struct Response {
        var head: [String: String] = [:]
        var trailers: [String: String] = [:]
        var messages: [[UInt8]] = []
        var ended = false
        var reset: UInt32?
        /// DATA bytes not yet a whole message.
        var pending: [UInt8] = []

        var grpcStatus: Int? { (trailers["grpc-status"] ?? head["grpc-status"]).flatMap { Int($0) } }
        var grpcMessage: String? { trailers["grpc-message"] ?? head["grpc-message"] }
    }

    var base: ProtocolHarness
    var session: GRPCSession
    var responses: [UInt32: Response] = [:]
    var goAway: (lastStream: UInt32, code: UInt32)?
    private var decoder = HPACKDecoder()
    private var frames = HTTP2FrameDecoder(maxFrameSize: HTTP2Frame.largestMaxFrameSize)

    /// `initialWindow`: the client's SETTINGS_INITIAL_WINDOW_SIZE (how much DATA a stream may be sent
    /// before the client opens its window).
    init(token: String? = nil, initialWindow: UInt32? = nil, maxMessageBytes: Int = 4_096, offLoopReplyEntries: Int = 1_000) {
        base = ProtocolHarness(offLoopReplyEntries: offLoopReplyEntries, token: token)
        session = GRPCSession(callState: base.state, limits: HTTP2Limits(), maxMessageBytes: maxMessageBytes)
        let settings = initialWindow.map { [HTTP2Setting(0x4, $0)] } ?? []
        receive(HTTP2Connection.clientPreface + HTTP2Frame(stream: 0, .settings(settings)).encoded)
    }

    mutating func receive(_ bytes: [UInt8], chunk: Int = .max) {
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + chunk)
            base.answer { h, sink in session.receive(bytes[start..<end], &h.dispatcher, topology: &h.topology, &sink) }
            start = end
        }
        read()
    }

    /// Hands the session what the server's reply encoder made of an `encodeOffLoop` action.
    mutating func takeEncoded(_ reply: SnapshotReply) {
        let encode = session.offLoopMessage(reply)
        base.answer { h, sink in session.takeEncodedMessage(encode(), &sink) }
        read()
    }

    /// A call's request head: POST to the method's path (`path`, or TopologyService's `method`), as
    /// grpc-go writes it.
    static func head(_ method: String, stream: UInt32, extra: [HeaderField] = [], contentType: String = "application/grpc",
                     endStream: Bool = false, path: String? = nil) -> HTTP2Frame {
        var block: [UInt8] = []
        HPACKEncoder.encode([HeaderField(":method", "POST"), HeaderField(":scheme", "http"),
                             HeaderField(":path", path ?? "/runtime.v1.TopologyService/\(method)"), HeaderField(":authority", "127.0.0.1:50053"),
                             HeaderField("content-type", contentType), HeaderField("te", "trailers")] + extra, into: &block)
        return HTTP2Frame(stream: stream, .headers(HTTP2HeadersPayload(fieldBlock: block, endStream: endStream, endHeaders: true)))
    }

    static func message(_ message: some WireMessage, stream: UInt32, endStream: Bool = false, flags: UInt8 = 0) -> HTTP2Frame {
        HTTP2Frame(stream: stream, .data(ConnectEnvelope.encode(flags: flags, payload: message.serializedBytes()), endStream: endStream))
    }

    /// A whole unary call: head, the message with END_STREAM.
    mutating func unary(_ method: String, _ request: some WireMessage, stream: UInt32, chunk: Int = .max) -> Response {
        receive((Self.head(method, stream: stream).encoded + Self.message(request, stream: stream, endStream: true).encoded), chunk: chunk)
        return responses[stream] ?? Response()
    }

    /// Reads what the server wrote since the last call into `responses`.
    mutating func read() {
        frames.append(base.queue[base.read...] + session.takeOutbound())
        base.read = base.queue.count
        while let frame = try! frames.next() {
            switch frame.payload {
            case .headers(let headers):
                let fields = try! decoder.decode(headers.fieldBlock[...], maxHeaderListSize: 1 << 20).fields
                var response = responses[frame.stream] ?? Response()
                let map = Dictionary(fields.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
                if response.head.isEmpty { response.head = map } else { response.trailers = map }
                response.ended = response.ended || headers.endStream
                responses[frame.stream] = response
            case let .data(bytes, endStream, _):
                var response = responses[frame.stream] ?? Response()
                response.pending += bytes
                while response.pending.count >= 5 {
                    let length = Int(response.pending[1...4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
                    guard response.pending.count >= 5 + length else { break }
                    response.messages.append(Array(response.pending[5..<(5 + length)]))
                    response.pending.removeFirst(5 + length)
                }
                response.ended = response.ended || endStream
                responses[frame.stream] = response
            case .rstStream(let code):
                responses[frame.stream, default: Response()].reset = code
            case let .goAway(lastStream, code, _):
                goAway = (lastStream, code)
            default:
                break
            }
        }
    }

    /// Registers a service over gRPC on `stream`; returns its id.
    mutating func register(_ name: String, stream: UInt32) throws -> String {
        let response = unary("RegisterService", RegisterServiceRequest(serviceName: name, serviceType: .server), stream: stream)
        let reply = try RegisterServiceResponse(serializedBytes: try XCTUnwrap(response.messages.first))
        return try XCTUnwrap(reply.handle?.serviceId)
    }
}
