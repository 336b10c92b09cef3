// Fuzz target `otlp`: the OTLP trace request decoder, protobuf and JSON. Whatever the bytes, it
// answers with a request or an `OTLPDecodingError`, nothing else; and limits only ever refuse: a
// request that decodes within tight limits decodes to the same value within loose ones.
//
// Input: [control: even = protobuf, odd = OTLP JSON] [body]

/// Small limits, so the fuzzer meets them; and the generous ones they are compared with.
let tight = OTLPDecodingLimits(maximumBytes: 1 << 16, maximumDepth: 12, maximumElements: 64)
let loose = OTLPDecodingLimits(maximumBytes: 1 << 20, maximumDepth: 64, maximumElements: 1 << 20)

func decode(_ body: [UInt8], json: Bool, _ limits: OTLPDecodingLimits) -> Result<OTLPTraceRequest, OTLPDecodingError> {
    do {
        return .success(json ? try OTLPTraceRequest(json: body, limits: limits)
                             : try OTLPTraceRequest(protobuf: body, limits: limits))
    } catch let error as OTLPDecodingError {
        // The message is what the exporter's operator reads: it must be there.
        require(!"\(error)".isEmpty, "an error without a description")
        return .failure(error)
    } catch {
        fatalError("the OTLP decoder threw \(error), not an OTLPDecodingError")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOTLP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let input = FuzzInput(data, size) else { return 0 }
    let json = input.control & 1 == 1
    guard case let .success(request) = decode(input.payload, json: json, tight) else { return 0 }
    for span in request.resourceSpans.flatMap(\.scopeSpans).flatMap(\.spans) {
        require([0, 16].contains(span.traceID.count) && [0, 8].contains(span.spanID.count)
                    && [0, 8].contains(span.parentSpanID.count), "an id of the wrong length was accepted")
    }
    require(request.spanCount <= tight.maximumElements, "more spans than the element limit")
    guard case let .success(again) = decode(input.payload, json: json, loose) else {
        fatalError("decoded within tight limits, refused within loose ones")
    }
    // NaN attribute values compare unequal to themselves: compare what they describe.
    require(again == request || "\(again)" == "\(request)", "the limits changed the decoded value")
    return 0
}
