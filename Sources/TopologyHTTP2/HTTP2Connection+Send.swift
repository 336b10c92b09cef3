/// The application's side: responses, resets, shutdown, and the bytes to write. HEADERS and
/// RST_STREAM are written at once; DATA waits in its stream's queue and leaves it in
/// `takeOutbound()`, as the peer's windows and frame size allow (RFC 9113 §6.9), streams in turn.
/// Calls for a stream that is gone (reset, or never opened) do nothing: the application heard or
/// will hear `.streamReset`.
extension HTTP2Connection {
    /// The response head, or a whole trailers-only response with `endStream`.
    public mutating func sendHeaders(_ fields: [HeaderField], stream id: UInt32, endStream: Bool) {
        guard var stream = streams[id], !stream.outputEnded else { return }
        precondition(!stream.headersSent, "stream \(id) has its response headers already: trailers go through sendTrailers")
        writeFieldBlock(fields, stream: id, endStream: endStream)
        stream.headersSent = true
        if endStream { endOutput(&stream, id) }
        var events: [HTTP2Event] = []
        store(stream, id, &events)
    }

    /// Queues DATA; `endStream` ends the stream after it (unless trailers follow: `sendTrailers`).
    public mutating func sendData(_ bytes: [UInt8], stream id: UInt32, endStream: Bool) {
        guard streams[id]?.outputEnded == false else { return }
        precondition(streams[id]!.headersSent, "DATA on stream \(id) before its response headers")
        // In place: a copy of the stream taken out of the dictionary would share its queue, and
        // appending would copy the whole queue each time (quadratic in what waits for the window).
        streams[id]!.enqueue(bytes)
        streams[id]!.endAfterQueue = endStream
        if !sendOrder.contains(id) { sendOrder.append(id) }
    }

    /// Trailers after the stream's queued DATA; they end the stream.
    public mutating func sendTrailers(_ fields: [HeaderField], stream id: UInt32) {
        guard var stream = streams[id], !stream.outputEnded else { return }
        precondition(stream.headersSent, "trailers on stream \(id) before its response headers: a trailers-only response is sendHeaders with endStream")
        stream.trailers = fields
        schedule(stream, id)
    }

    /// RST_STREAM: the stream ends now, its queued DATA dropped (a cancelled watch, a call torn down).
    public mutating func resetStream(_ id: UInt32, code: HTTP2ErrorCode) {
        guard streams[id] != nil, phase != .closed else { return }
        HTTP2Frame(stream: id, .rstStream(errorCode: code.rawValue)).encode(into: &outbound)
        var events: [HTTP2Event] = []
        close(id, .resetHere, &events)
    }

    /// GOAWAY (§6.8) naming the last stream the client opened. NO_ERROR is a graceful shutdown:
    /// open streams run to their end, newer ones are not served, and `isClosed` turns true when
    /// none is left. Any other code ends the connection now.
    public mutating func goAway(code: HTTP2ErrorCode, message: String) {
        guard phase != .closed else { return }
        writeGoAway(code, message)
    }

    /// Something to write: frames already written, or DATA, trailers or END_STREAM the windows let out.
    public var hasOutbound: Bool {
        !outbound.isEmpty || sendOrder.contains { id in
            guard let stream = streams[id] else { return false }
            return stream.queuedBytes == 0 || (stream.sendWindow.size > 0 && sendWindow.size > 0)
        }
    }

    /// The bytes to write: the frames written so far, then DATA from the streams' queues, up to
    /// `limits.outboundBatchSize` of it. Call it when the socket can take bytes.
    public mutating func takeOutbound() -> [UInt8] {
        writeQueuedData()
        queuedControlFrames = 0
        defer { outbound = [] }
        return outbound
    }

    private mutating func schedule(_ stream: HTTP2Stream, _ id: UInt32) {
        streams[id] = stream
        if !sendOrder.contains(id) { sendOrder.append(id) }
    }

    /// HEADERS, then CONTINUATIONs if the block is over the peer's max frame size (§4.3).
    private mutating func writeFieldBlock(_ fields: [HeaderField], stream id: UInt32, endStream: Bool) {
        let block = encodeFieldBlock(fields)
        let frameSize = peerSettings.maxFrameSize
        let first = Array(block.prefix(frameSize))
        HTTP2Frame(stream: id, .headers(HTTP2HeadersPayload(fieldBlock: first, endStream: endStream, endHeaders: block.count <= frameSize))).encode(into: &outbound)
        var offset = first.count
        while offset < block.count {
            let end = min(block.count, offset + frameSize)
            HTTP2Frame(stream: id, .continuation(fieldBlock: Array(block[offset..<end]), endHeaders: end == block.count)).encode(into: &outbound)
            offset = end
        }
        // As grpc-go's server resets its ping strikes: pings while responses flow are bandwidth probes.
        pingBudget.refill()
    }

    /// One frame per stream per round, so streams share the connection's window and the batch.
    private mutating func writeQueuedData() {
        var budget = limits.outboundBatchSize
        var progress = true
        while progress && budget > 0 && !sendOrder.isEmpty {
            progress = false
            var stillPending: [UInt32] = []
            for id in sendOrder {
                // Taken out, not copied: a copy would share the stream's queue, and dequeuing
                // from it would copy all that waits.
                guard var stream = streams.removeValue(forKey: id) else { continue }
                progress = writeNextFrame(&stream, id, budget: &budget) || progress
                if stream.hasPendingOutput { stillPending.append(id) }
                var events: [HTTP2Event] = []
                store(stream, id, &events)
            }
            sendOrder = stillPending
        }
    }

    /// Writes the stream's next DATA frame (as large as the windows, the peer's frame size and the
    /// batch allow), or its trailers or final empty DATA once the queue is empty. False when the
    /// windows let nothing out.
    private mutating func writeNextFrame(_ stream: inout HTTP2Stream, _ id: UInt32, budget: inout Int) -> Bool {
        if stream.queuedBytes > 0 {
            let count = min(stream.queuedBytes, peerSettings.maxFrameSize, stream.sendWindow.size, sendWindow.size, budget)
            guard count > 0 else { return false }
            let last = count == stream.queuedBytes && stream.endAfterQueue && stream.trailers == nil
            HTTP2Frame(stream: id, .data(stream.dequeue(count), endStream: last)).encode(into: &outbound)
            _ = stream.sendWindow.adjust(by: -count)
            _ = sendWindow.adjust(by: -count)
            budget -= count
            pingBudget.refill()
            if last { endOutput(&stream, id) }
        } else if let trailers = stream.trailers {
            writeFieldBlock(trailers, stream: id, endStream: true)
            endOutput(&stream, id)
        } else if stream.endAfterQueue {
            HTTP2Frame(stream: id, .data([], endStream: true)).encode(into: &outbound)
            endOutput(&stream, id)
        }
        return true
    }

    /// END_STREAM is written. A response complete before its request (a client stream answered
    /// early, an error) is followed by RST_STREAM NO_ERROR: the client may stop sending (§8.1),
    /// as grpc-go's server does; what it had in flight is ignored, and the stream is done.
    private mutating func endOutput(_ stream: inout HTTP2Stream, _ id: UInt32) {
        stream.endAfterQueue = false
        stream.trailers = nil
        guard stream.state == .open else {
            stream.state = stream.state.afterSendingEndStream
            return
        }
        HTTP2Frame(stream: id, .rstStream(errorCode: HTTP2ErrorCode.noError.rawValue)).encode(into: &outbound)
        stream.state = .closed(.resetHere)
    }
}
