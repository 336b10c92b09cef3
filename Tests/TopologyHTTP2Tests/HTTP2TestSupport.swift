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

/// Plays the client against one `HTTP2Connection`: builds frames, feeds their bytes, and reads
/// back what the server wrote as frames.
struct TestClient {
    var connection: HTTP2Connection
    /// The time passed to `receive`; tests move it by hand.
    var now: Int64 = 0
    /// Everything the server wrote before the client sent anything (its SETTINGS, WINDOW_UPDATE).
    let serverPreface: [HTTP2Frame]

    init(limits: HTTP2Limits = HTTP2Limits(), handshake: Bool = true) {
        connection = HTTP2Connection(limits: limits)
        serverPreface = TestClient.frames(connection.takeOutbound())
        if handshake {
            let events = receive(HTTP2Connection.clientPreface + HTTP2Frame(stream: 0, .settings([])).encoded)
            precondition(events.isEmpty && written() == [HTTP2Frame(stream: 0, .settingsAck)], "the handshake failed")
        }
    }

    @discardableResult
    mutating func receive(_ bytes: [UInt8]) -> [HTTP2Event] {
        connection.receive(bytes[...], now: now)
    }

    @discardableResult
    mutating func send(_ frames: HTTP2Frame...) -> [HTTP2Event] {
        receive(frames.flatMap(\.encoded))
    }

    /// The frames the server wrote since the last call.
    mutating func written() -> [HTTP2Frame] {
        TestClient.frames(connection.takeOutbound())
    }

    static func frames(_ bytes: [UInt8]) -> [HTTP2Frame] {
        var decoder = HTTP2FrameDecoder(maxFrameSize: HTTP2Frame.largestMaxFrameSize)
        decoder.append(bytes[...])
        var frames: [HTTP2Frame] = []
        while let frame = try! decoder.next() { frames.append(frame) }
        precondition(decoder.bufferedByteCount == 0, "the server wrote a cut frame")
        return frames
    }
}

/// A gRPC request head as grpc-go sends it (grpc/grpc doc/PROTOCOL-HTTP2.md, Request-Headers).
func grpcRequest(path: String = "/runtime.v1.TopologyService/GetTopology") -> [HeaderField] {
    [HeaderField(":method", "POST"), HeaderField(":scheme", "http"), HeaderField(":path", path),
     HeaderField(":authority", "127.0.0.1:50053"), HeaderField("content-type", "application/grpc"),
     HeaderField("user-agent", "grpc-go/1.64.0"), HeaderField("te", "trailers"), HeaderField("grpc-timeout", "4999904u")]
}

/// A field block for `fields`, from the production encoder (the decoder is tested on real clients'
/// blocks by the HPACK tests).
func block(_ fields: [HeaderField]) -> [UInt8] {
    var out: [UInt8] = []
    HPACKEncoder.encode(fields, into: &out)
    return out
}

func headersFrame(_ stream: UInt32, _ fields: [HeaderField], endStream: Bool = false) -> HTTP2Frame {
    HTTP2Frame(stream: stream, .headers(HTTP2HeadersPayload(fieldBlock: block(fields), endStream: endStream, endHeaders: true)))
}

func goAway(_ lastStream: UInt32, _ code: HTTP2ErrorCode, _ message: String) -> HTTP2Frame {
    HTTP2Frame(stream: 0, .goAway(lastStream: lastStream, errorCode: code.rawValue, debugData: Array(message.utf8)))
}

func reset(_ stream: UInt32, _ code: HTTP2ErrorCode) -> HTTP2Frame {
    HTTP2Frame(stream: stream, .rstStream(errorCode: code.rawValue))
}
