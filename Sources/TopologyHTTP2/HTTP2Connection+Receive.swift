/// The peer's frames, one by one (RFC 9113 §6), but field blocks (HTTP2Connection+FieldBlock.swift).
/// A handler throws a connection error, or a stream error the receive loop turns into RST_STREAM.
extension HTTP2Connection {
    mutating func handle(_ frame: HTTP2Frame, now: Int64, _ events: inout [HTTP2Event]) throws(HTTP2Violation) {
        if let pending = fieldBlock {
            // §6.10: a field block's frames are contiguous; nothing else may come in between.
            guard case let .continuation(fragment, endHeaders) = frame.payload, frame.stream == pending.stream else {
                throw .connection(.protocolError, "\(frame.summary) came while the field block of stream \(pending.stream) awaited CONTINUATION (§6.10)")
            }
            try continueFieldBlock(fragment, endHeaders: endHeaders, now: now, &events)
            return
        }
        if phase == .awaitingSettings {
            guard case .settings = frame.payload else {
                throw .connection(.protocolError, "the client's first frame is \(frame.summary), not SETTINGS (§3.4)")
            }
            phase = .running
        }
        switch frame.payload {
        case let .data(bytes, endStream, padding):
            try receiveData(bytes, endStream: endStream, flowControlled: bytes.count + padding, stream: frame.stream, &events)
        case let .headers(headers):
            try startFieldBlock(headers, stream: frame.stream, now: now, &events)
        case let .priority(priority):
            if priority.dependency == frame.stream { throw .stream(frame.stream, .protocolError, "stream \(frame.stream) depends on itself (§5.3.1)") }
        case let .rstStream(errorCode):
            try receiveReset(HTTP2ErrorCode(wire: errorCode), stream: frame.stream, now: now, &events)
        case let .settings(settings):
            try receiveSettings(settings, now: now)
        case .settingsAck, .ping(_, ack: true), .unknown:
            break // this side sends no PINGs and keeps no SETTINGS timer; unknown types are ignored (§4.1, §5.5)
        case let .ping(opaqueData, ack: false):
            guard pingBudget.spend(now: now) else {
                throw .connection(.enhanceYourCalm, "more than \(limits.pings.events) PINGs within \(limits.pings.perMilliseconds) ms while no data was sent")
            }
            try writeReply(HTTP2Frame(stream: 0, .ping(opaqueData: opaqueData, ack: true)))
        case .goAway:
            peerWentAway = true
        case let .windowUpdate(increment):
            try receiveWindowUpdate(Int(increment), stream: frame.stream)
        case .pushPromise:
            throw .connection(.protocolError, "the client sent PUSH_PROMISE; only servers push (§8.4)")
        case .continuation:
            throw .connection(.protocolError, "a CONTINUATION frame on stream \(frame.stream) follows no HEADERS (§6.10)")
        }
    }

    /// §6.1, §6.9: DATA counts against the connection's window whatever its stream's state, and
    /// against its stream's; both are opened again as the data is handed on.
    private mutating func receiveData(_ bytes: [UInt8], endStream: Bool, flowControlled length: Int, stream id: UInt32,
                                      _ events: inout [HTTP2Event]) throws(HTTP2Violation) {
        guard receiveWindow.adjust(by: -length), receiveWindow.size >= 0 else {
            throw .connection(.flowControlError, "\(length) bytes of DATA on stream \(id) overrun the connection's window (\(receiveWindow.size + length) bytes left)")
        }
        acknowledgeConnection(length)
        // After this side's GOAWAY, streams above its last stream are ignored (§6.8).
        if let goAwayLastStream, id > goAwayLastStream { return }
        let state = state(of: id)
        guard state.peerMaySend, var stream = streams[id] else {
            switch state {
            case .idle: throw .connection(.protocolError, "DATA on stream \(id), which the client never opened (§5.1)")
            case .closed(.resetHere): return // in flight when this side reset it (§5.1)
            default: throw .stream(id, .streamClosed, "DATA on stream \(id), which the client already ended (§6.1)")
            }
        }
        guard stream.receiveWindow.adjust(by: -length), stream.receiveWindow.size >= 0 else {
            throw .stream(id, .flowControlError, "\(length) bytes of DATA overrun stream \(id)'s window (§6.9)")
        }
        stream.receivedLength += bytes.count
        if let problem = stream.contentLengthProblem(id, ended: endStream) { throw .stream(id, .protocolError, problem) }
        if !bytes.isEmpty {
            events.append(.data(stream: id, bytes: bytes, endStream: endStream))
        } else if endStream {
            events.append(.endStream(stream: id))
        }
        if endStream {
            stream.state = stream.state.afterReceivingEndStream
        } else {
            stream.unacknowledgedBytes += length
            if stream.unacknowledgedBytes >= limits.initialWindowSize / 2 {
                HTTP2Frame(stream: id, .windowUpdate(increment: UInt32(stream.unacknowledgedBytes))).encode(into: &outbound)
                _ = stream.receiveWindow.adjust(by: stream.unacknowledgedBytes)
                stream.unacknowledgedBytes = 0
            }
        }
        store(stream, id, &events)
    }

    /// The application consumed `length` bytes (or they were dropped): once half the window is
    /// used, it is opened again in one WINDOW_UPDATE, so a long upload never waits on one.
    private mutating func acknowledgeConnection(_ length: Int) {
        unacknowledgedBytes += length
        guard unacknowledgedBytes >= limits.initialWindowSize / 2 else { return }
        HTTP2Frame(stream: 0, .windowUpdate(increment: UInt32(unacknowledgedBytes))).encode(into: &outbound)
        _ = receiveWindow.adjust(by: unacknowledgedBytes)
        unacknowledgedBytes = 0
    }

    /// Puts an active stream back, or forgets it if it just closed.
    mutating func store(_ stream: HTTP2Stream, _ id: UInt32, _ events: inout [HTTP2Event]) {
        if case let .closed(reason) = stream.state {
            close(id, reason, &events)
        } else {
            streams[id] = stream
        }
    }

    private mutating func receiveReset(_ code: HTTP2ErrorCode, stream id: UInt32, now: Int64, _ events: inout [HTTP2Event]) throws(HTTP2Violation) {
        switch state(of: id) {
        case .idle:
            throw .connection(.protocolError, "RST_STREAM on stream \(id), which the client never opened (§6.4)")
        case .closed:
            return // crossed this side's END_STREAM or RST_STREAM
        default:
            close(id, .resetByPeer, telling: code, &events)
            try spendReset(now: now)
        }
    }

    private mutating func receiveSettings(_ settings: [HTTP2Setting], now: Int64) throws(HTTP2Violation) {
        guard settingsBudget.spend(now: now) else {
            throw .connection(.enhanceYourCalm, "more than \(limits.settingsFrames.events) SETTINGS frames within \(limits.settingsFrames.perMilliseconds) ms")
        }
        let windowDelta = try peerSettings.apply(settings)
        for id in streams.keys.sorted() where windowDelta != 0 {
            guard streams[id]!.sendWindow.adjust(by: windowDelta) else {
                throw .connection(.flowControlError, "SETTINGS_INITIAL_WINDOW_SIZE takes stream \(id)'s window past 2^31-1 (§6.9.2)")
            }
        }
        try writeReply(HTTP2Frame(stream: 0, .settingsAck))
    }

    private mutating func receiveWindowUpdate(_ increment: Int, stream id: UInt32) throws(HTTP2Violation) {
        guard id != 0 else {
            guard increment > 0 else { throw .connection(.protocolError, "a WINDOW_UPDATE of 0 for the connection (§6.9)") }
            guard sendWindow.adjust(by: increment) else {
                throw .connection(.flowControlError, "a WINDOW_UPDATE of \(increment) takes the connection's window past 2^31-1 (§6.9.1)")
            }
            return
        }
        switch state(of: id) {
        case .idle:
            throw .connection(.protocolError, "WINDOW_UPDATE on stream \(id), which the client never opened (§5.1)")
        case .closed:
            return // may cross this side's END_STREAM (§5.1)
        default:
            guard increment > 0 else { throw .stream(id, .protocolError, "a WINDOW_UPDATE of 0 for stream \(id) (§6.9)") }
            guard streams[id]!.sendWindow.adjust(by: increment) else {
                throw .stream(id, .flowControlError, "a WINDOW_UPDATE of \(increment) takes stream \(id)'s window past 2^31-1 (§6.9.1)")
            }
        }
    }
}
