// Fuzz target `http2`: HTTP2Connection (Sources/TopologyHTTP2/*.swift) fed a client's byte stream.
// It must never crash, and:
// - the events and the bytes written do not depend on how the stream was split: fed three ways
//   (FuzzInput.readPatterns) with no application in between, the answers are the same;
// - played again one byte per read with an application that answers every request (headers, a
//   64-byte message, trailers; every third stream reset instead) and takes the output after every
//   read, the output is whole frames, DATA never over the batch size in one take, and the other
//   frames stay within a small multiple of the input: replies are bounded, not amplified.
//
// Input: [split control byte] [client stream: the preface and frames, or anything]

/// Limits small enough that the fuzzer meets each of them often.
let fuzzLimits: HTTP2Limits = {
    var limits = HTTP2Limits()
    limits.initialWindowSize = 65_535
    limits.maxConcurrentStreams = 4
    limits.maxHeaderListSize = 256
    limits.maxFieldBlockSize = 1_024
    limits.maxContinuationFrames = 4
    limits.resets = HTTP2RateLimit(events: 8, perMilliseconds: 1_000)
    limits.pings = HTTP2RateLimit(events: 8, perMilliseconds: 1_000)
    limits.settingsFrames = HTTP2RateLimit(events: 4, perMilliseconds: 1_000)
    limits.maxQueuedControlFrames = 32
    limits.outboundBatchSize = 4_096
    limits.closedStreamMemory = 8
    return limits
}()

struct ConnectionAnswer: Equatable {
    var events: [HTTP2Event]
    var written: [UInt8]
}

func answer(_ reads: [ArraySlice<UInt8>]) -> ConnectionAnswer {
    var connection = HTTP2Connection(limits: fuzzLimits)
    var events: [HTTP2Event] = []
    for read in reads { events += connection.receive(read, now: 0) }
    return ConnectionAnswer(events: events, written: connection.takeOutbound())
}

/// The frames in `bytes`, which must be whole frames and nothing else.
func frames(_ bytes: [UInt8]) -> [HTTP2Frame] {
    var decoder = HTTP2FrameDecoder(maxFrameSize: HTTP2Frame.largestMaxFrameSize)
    decoder.append(bytes[...])
    var frames: [HTTP2Frame] = []
    do throws(HTTP2Violation) {
        while let frame = try decoder.next() { frames.append(frame) }
    } catch {
        require(false, "the connection wrote a frame its own decoder rejects: \(error)")
    }
    require(decoder.bufferedByteCount == 0, "the connection wrote a cut frame")
    return frames
}

func playWithApplication(_ payload: [UInt8]) {
    var connection = HTTP2Connection(limits: fuzzLimits)
    var controlBytes = 0
    for (offset, byte) in payload.enumerated() {
        for event in connection.receive([byte][...], now: Int64(offset)) {
            guard case let .request(stream, _, _) = event else { continue }
            if stream % 3 == 0 {
                connection.resetStream(stream, code: .cancel)
                continue
            }
            connection.sendHeaders([HeaderField(":status", "200"), HeaderField("content-type", "application/grpc")], stream: stream, endStream: false)
            connection.sendData([UInt8](repeating: UInt8(truncatingIfNeeded: stream), count: 64), stream: stream, endStream: false)
            connection.sendTrailers([HeaderField("grpc-status", "0")], stream: stream)
        }
        var dataBytes = 0
        for frame in frames(connection.takeOutbound()) {
            if case let .data(bytes, _, _) = frame.payload {
                dataBytes += bytes.count
            } else {
                controlBytes += frame.encoded.count
            }
        }
        require(dataBytes <= fuzzLimits.outboundBatchSize, "one take wrote \(dataBytes) bytes of DATA, over the batch size")
    }
    // Each input frame of 9 bytes or more is answered with a few frames at most (a response's
    // HEADERS and trailers, a 431 and RST_STREAM, WINDOW_UPDATEs, one GOAWAY).
    require(controlBytes <= 1_024 + 8 * payload.count, "\(controlBytes) bytes of frames other than DATA answered \(payload.count) bytes")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP2Connection(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let input = FuzzInput(data, size) else { return 0 }
    let answers = input.readPatterns.map(answer)
    requireSameAnswer(answers, "HTTP2Connection's events and output")
    _ = frames(answers[0].written)
    playWithApplication(input.payload)
    return 0
}
