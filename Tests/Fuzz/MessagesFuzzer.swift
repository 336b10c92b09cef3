// Fuzz target `messages`: every message decoder of the schema. Whatever decodes must survive a round
// trip: its encoding decodes again, to the same value, and encodes to the same bytes; and its JSON
// is written. A HeartbeatRequest is also read by the gRPC heartbeat fast path
// (`HeartbeatFrame(callId:endOfStream:scanningRequest:)`): what it accepts, the decoder decodes to
// the same request, its service id in lower case.
//
// Input: [message selector] [bytes decoded as that message]

/// The selector indexes the messages sorted by full name, an order Tests/Fuzz/make_corpus.py can
/// reproduce from Schema/topology.proto to give each golden vector its selector.
let messageTypes = MessageRegistry.allTypes.sorted { $0.protoMessageName < $1.protoMessageName }

func requireRoundTrip<M: WireMessage>(_ type: M.Type, _ bytes: UnsafeRawBufferPointer) {
    // Most inputs do not decode: that is an answer, and ends the check.
    guard let decoded = try? M(decoding: bytes) else { return }
    let encoded = decoded.serializedBytes()
    require(encoded.count == decoded.serializedSize, "\(M.self): serializedSize \(decoded.serializedSize), encoding \(encoded.count) bytes")
    let again: M
    do {
        again = try M(serializedBytes: encoded)
    } catch {
        fatalError("\(M.self): the re-encoding of a decoded value does not decode: \(error)")
    }
    // Always written: the server writes values clients sent as JSON (HTTP API, SSE).
    let json = decoded.jsonString()
    // NaN != NaN, so values holding one never compare equal; their JSON does (and the bytes
    // compared below hold the NaN's payload).
    require(again == decoded || again.jsonString() == json,
            "\(M.self): the round trip changed the value\n\(json)\n\(again.jsonString())")
    require(again.serializedBytes() == encoded, "\(M.self): encoding is not stable across a round trip")
}

func requireHeartbeatScanAgrees(_ bytes: UnsafeRawBufferPointer) {
    guard let scanned = HeartbeatFrame(callId: 1, endOfStream: false, scanningRequest: bytes) else { return }
    guard var decoded = try? HeartbeatRequest(decoding: bytes) else {
        fatalError("the heartbeat fast path accepts a HeartbeatRequest the decoder refuses")
    }
    decoded.serviceId = decoded.serviceId.lowercased()
    // By their descriptions, which show every bit of a double (two NaNs from the same bytes are not ==).
    let general = Frame(callId: 1, message: .heartbeatRequest(decoded))
    require(String(reflecting: scanned.frame) == String(reflecting: general),
            "the heartbeat fast path disagrees with the decoder\n\(String(reflecting: scanned.frame))\n\(String(reflecting: general))")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMessages(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let type = messageTypes[Int(data[0]) % messageTypes.count]
    // Decoded in place: the bytes end where libFuzzer's allocation ends, so ASan sees any over-read.
    requireRoundTrip(type, UnsafeRawBufferPointer(start: data + 1, count: size - 1))
    if type == HeartbeatRequest.self { requireHeartbeatScanAgrees(UnsafeRawBufferPointer(start: data + 1, count: size - 1)) }
    return 0
}
