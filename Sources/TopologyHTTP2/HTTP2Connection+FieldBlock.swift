/// HEADERS and CONTINUATION: a field block gathered whole (bounded), decoded by the connection's one
/// HPACK decoder in frame order, then taken as a request head or as trailers (RFC 9113 §4.3, §6.2,
/// §6.10, §8.1).
extension HTTP2Connection {
    mutating func startFieldBlock(_ headers: HTTP2HeadersPayload, stream: UInt32, now: Int64, _ events: inout [HTTP2Event]) throws(HTTP2Violation) {
        fieldBlock = PendingFieldBlock(stream: stream, bytes: [], endStream: headers.endStream,
                                       dependsOnItself: headers.priority?.dependency == stream)
        try continueFieldBlock(headers.fieldBlock, endHeaders: headers.endHeaders, counted: false, now: now, &events)
    }

    /// Adds a fragment; `counted`: it came in a CONTINUATION frame, which the flood bound counts.
    mutating func continueFieldBlock(_ fragment: [UInt8], endHeaders: Bool, counted: Bool = true, now: Int64,
                                     _ events: inout [HTTP2Event]) throws(HTTP2Violation) {
        guard var block = fieldBlock else { return }
        if counted { block.continuations += 1 }
        // CONTINUATION flood: the block is held until END_HEADERS, so its bytes and frames are
        // bounded. Not COMPRESSION_ERROR (nothing was decoded) nor PROTOCOL_ERROR (no rule was
        // broken): a limit of this side's, which ENHANCE_YOUR_CALM is for (§7).
        guard block.continuations <= limits.maxContinuationFrames else {
            throw .connection(.enhanceYourCalm, "the field block of stream \(block.stream) runs past \(limits.maxContinuationFrames) CONTINUATION frames")
        }
        guard block.bytes.count + fragment.count <= limits.maxFieldBlockSize else {
            throw .connection(.enhanceYourCalm, "the field block of stream \(block.stream) runs past \(limits.maxFieldBlockSize) bytes")
        }
        block.bytes += fragment
        guard endHeaders else {
            fieldBlock = block
            return
        }
        fieldBlock = nil
        let list: HeaderList
        do {
            list = try hpack.decode(block.bytes[...], maxHeaderListSize: limits.maxHeaderListSize)
        } catch {
            throw .connection(.compressionError, "the field block of stream \(block.stream) does not decode: \(error)")
        }
        try receiveFieldSection(list, block, now: now, &events)
    }

    private mutating func receiveFieldSection(_ list: HeaderList, _ block: PendingFieldBlock, now: Int64,
                                              _ events: inout [HTTP2Event]) throws(HTTP2Violation) {
        let id = block.stream
        switch state(of: id) {
        case .idle:
            try openStream(list, block, now: now, &events)
        case .open, .halfClosedLocal:
            var stream = streams[id]!
            guard block.endStream else { throw .stream(id, .protocolError, "a second HEADERS on stream \(id) without END_STREAM: trailers end the stream (§8.1)") }
            guard !list.exceededMaxSize else { throw .stream(id, .enhanceYourCalm, "the trailers of stream \(id) exceed SETTINGS_MAX_HEADER_LIST_SIZE (\(limits.maxHeaderListSize))") }
            if let problem = HTTP2FieldRules.trailersProblem(list.fields) ?? stream.contentLengthProblem(id, ended: true) {
                throw .stream(id, .protocolError, problem)
            }
            events.append(.endStream(stream: id))
            stream.state = stream.state.afterReceivingEndStream
            store(stream, id, &events)
        case .halfClosedRemote, .closed(.resetByPeer):
            throw .stream(id, .streamClosed, "HEADERS on stream \(id) after the client ended it (§5.1)")
        case .closed(.resetHere):
            return // in flight when this side reset it; decoded above, so HPACK stays in step
        case .closed(.finished):
            throw .connection(.streamClosed, "HEADERS on stream \(id), which is closed (§5.1)")
        case .closed(.unknown):
            throw .connection(.protocolError, "HEADERS on stream \(id), not above the last stream the client opened (\(lastPeerStream)): stream ids must increase (§5.1.1)")
        }
    }

    /// A new stream (§5.1.1): opened, refused, or answered 431; the application hears only of the
    /// first.
    private mutating func openStream(_ list: HeaderList, _ block: PendingFieldBlock, now: Int64, _ events: inout [HTTP2Event]) throws(HTTP2Violation) {
        let id = block.stream
        guard id % 2 == 1 else { throw .connection(.protocolError, "HEADERS on stream \(id): streams a client opens have odd ids (§5.1.1)") }
        lastPeerStream = id
        // After this side's GOAWAY, newer streams are not served (§6.8); the block was decoded.
        if let goAwayLastStream, id > goAwayLastStream { return }
        if block.dependsOnItself { throw .stream(id, .protocolError, "stream \(id) depends on itself (§5.3.1)") }
        guard streams.count < limits.maxConcurrentStreams else {
            throw .stream(id, .refusedStream, "stream \(id) would be over SETTINGS_MAX_CONCURRENT_STREAMS (\(limits.maxConcurrentStreams), §5.1.2)")
        }
        if list.exceededMaxSize {
            try answerHeadTooLarge(id, requestEnded: block.endStream, now: now)
            return
        }
        if let problem = HTTP2FieldRules.requestProblem(list.fields) { throw .stream(id, .protocolError, problem) }
        let stream = HTTP2Stream(state: block.endStream ? .halfClosedRemote : .open, sendWindow: peerSettings.initialWindowSize,
                                 receiveWindow: limits.initialWindowSize, contentLength: HTTP2FieldRules.contentLength(list.fields))
        if let problem = stream.contentLengthProblem(id, ended: block.endStream) { throw .stream(id, .protocolError, problem) }
        streams[id] = stream
        events.append(.request(stream: id, headers: list.fields, endStream: block.endStream))
    }

    /// A request head over SETTINGS_MAX_HEADER_LIST_SIZE: `:status 431` (RFC 6585 §5) ends the
    /// stream; if the request has not ended, RST_STREAM NO_ERROR asks the client to stop sending it
    /// (§8.1). A refusal for the client's fault, so it spends the reset budget.
    private mutating func answerHeadTooLarge(_ id: UInt32, requestEnded: Bool, now: Int64) throws(HTTP2Violation) {
        let block = encodeFieldBlock([HeaderField(":status", "431")])
        try writeReply(HTTP2Frame(stream: id, .headers(HTTP2HeadersPayload(fieldBlock: block, endStream: true, endHeaders: true))))
        if requestEnded {
            closedStreams.record(id, .finished)
        } else {
            try writeReply(HTTP2Frame(stream: id, .rstStream(errorCode: HTTP2ErrorCode.noError.rawValue)))
            closedStreams.record(id, .resetHere)
        }
        try spendReset(now: now)
    }

    /// A field block for the peer's decoder, led by the dynamic table size update it is owed.
    mutating func encodeFieldBlock(_ fields: [HeaderField]) -> [UInt8] {
        var block: [UInt8] = []
        if peerSettings.owesTableSizeUpdate {
            block.append(0x20)  // RFC 7541 §6.3: a size update (001 prefix) to 0
            peerSettings.owesTableSizeUpdate = false
            peerSettings.encoderTableSize = 0
        }
        HPACKEncoder.encode(fields, into: &block)
        return block
    }
}
