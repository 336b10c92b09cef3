/// Splits the bytes after the connection preface into frames, whatever the reads look like: a
/// frame over many reads, many frames in one read, or one byte at a time.
///
/// The length is checked against the SETTINGS_MAX_FRAME_SIZE this side advertised as soon as the
/// 9-byte header is in, before the payload is waited for, so a peer announcing a huge frame costs
/// nothing beyond the bytes it sent. Not enough bytes yet: `next()` returns nil. A connection error
/// thrown leaves the decoder unusable; a stream error (only a PRIORITY frame of the wrong size,
/// §6.3) has consumed its frame, and decoding goes on.
struct HTTP2FrameDecoder {
    /// The largest payload accepted, in bytes.
    let maxFrameSize: Int
    private var buffer: [UInt8] = []
    /// Bytes of `buffer` before this index were consumed by earlier frames.
    private var readIndex = 0

    init(maxFrameSize: Int) {
        precondition((HTTP2Frame.defaultMaxFrameSize...HTTP2Frame.largestMaxFrameSize).contains(maxFrameSize),
                     "SETTINGS_MAX_FRAME_SIZE must be between 2^14 and 2^24-1 (RFC 9113 §6.5.2)")
        self.maxFrameSize = maxFrameSize
    }

    /// Bytes received but not yet returned as frames.
    var bufferedByteCount: Int { buffer.count - readIndex }

    mutating func append(_ bytes: ArraySlice<UInt8>) {
        // Drop consumed bytes once they are the larger part of the buffer: memory stays
        // proportional to what is pending, and copying stays amortized O(1) per byte.
        if readIndex > 0 && readIndex >= buffer.count - readIndex {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
        buffer += bytes
    }

    /// The next complete frame, or nil until more bytes arrive.
    mutating func next() throws(HTTP2Violation) -> HTTP2Frame? {
        guard bufferedByteCount >= HTTP2Frame.headerSize else { return nil }
        let header = readIndex
        let length = Int(buffer[header]) << 16 | Int(buffer[header + 1]) << 8 | Int(buffer[header + 2])
        let type = buffer[header + 3]
        guard length <= maxFrameSize else {
            throw .connection(.frameSizeError, "a frame of type \(type) has \(length) payload bytes, over the SETTINGS_MAX_FRAME_SIZE of \(maxFrameSize)")
        }
        let payloadStart = header + HTTP2Frame.headerSize
        guard buffer.count - payloadStart >= length else { return nil }
        let flags = buffer[header + 4]
        let stream = readUInt32(at: header + 5) & 0x7fff_ffff
        let payload = buffer[payloadStart..<payloadStart + length]
        readIndex = payloadStart + length
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024)
            readIndex = 0
        }
        return try HTTP2Frame(type: type, flags: flags, stream: stream, payload: payload)
    }

    private func readUInt32(at index: Int) -> UInt32 {
        UInt32(buffer[index]) << 24 | UInt32(buffer[index + 1]) << 16 | UInt32(buffer[index + 2]) << 8 | UInt32(buffer[index + 3])
    }
}

extension HTTP2Frame {
    /// Parses a payload and applies the rules of §6 that need nothing but the frame itself:
    /// fixed sizes (FRAME_SIZE_ERROR), frames that must or must not be on stream 0, padding.
    init(type: UInt8, flags: UInt8, stream: UInt32, payload: ArraySlice<UInt8>) throws(HTTP2Violation) {
        self.stream = stream
        guard let known = HTTP2FrameType(rawValue: type) else {
            self.payload = .unknown(type: type, flags: flags, payload: Array(payload))
            return
        }
        try Self.checkStream(known, stream)
        var reader = PayloadReader(bytes: payload, type: known)
        switch known {
        case .data:
            let padding = try reader.stripPadding(flags)
            self.payload = .data(Array(reader.bytes), endStream: flags & HTTP2Flags.endStream != 0, padding: padding)
        case .headers:
            let hasPriority = flags & HTTP2Flags.priority != 0
            let padding = try reader.stripPadding(flags, fixedFields: hasPriority ? 5 : 0)
            let priority = hasPriority ? reader.priority() : nil
            self.payload = .headers(HTTP2HeadersPayload(
                fieldBlock: Array(reader.bytes), endStream: flags & HTTP2Flags.endStream != 0,
                endHeaders: flags & HTTP2Flags.endHeaders != 0, priority: priority, padding: padding))
        case .priority:
            guard payload.count == 5 else {
                throw .stream(stream, .frameSizeError, "a PRIORITY frame has \(payload.count) payload bytes, not 5")
            }
            self.payload = .priority(reader.priority())
        case .rstStream:
            try reader.requireLength(4)
            self.payload = .rstStream(errorCode: reader.uint32(at: 0))
        case .settings where flags & HTTP2Flags.ack != 0:
            try reader.requireLength(0, "a SETTINGS frame with ACK must be empty")
            self.payload = .settingsAck
        case .settings:
            guard payload.count % 6 == 0 else {
                throw .connection(.frameSizeError, "a SETTINGS frame has \(payload.count) payload bytes, not a multiple of 6")
            }
            self.payload = .settings(stride(from: 0, to: payload.count, by: 6).map { offset in
                HTTP2Setting(UInt16(reader.bytes[reader.bytes.startIndex + offset]) << 8 | UInt16(reader.bytes[reader.bytes.startIndex + offset + 1]),
                             reader.uint32(at: offset + 2))
            })
        case .pushPromise:
            let padding = try reader.stripPadding(flags, fixedFields: 4)
            self.payload = .pushPromise(promisedStream: reader.uint32(at: 0) & 0x7fff_ffff, fieldBlock: Array(reader.bytes.dropFirst(4)),
                                        endHeaders: flags & HTTP2Flags.endHeaders != 0, padding: padding)
        case .ping:
            try reader.requireLength(8)
            self.payload = .ping(opaqueData: UInt64(reader.uint32(at: 0)) << 32 | UInt64(reader.uint32(at: 4)), ack: flags & HTTP2Flags.ack != 0)
        case .goAway:
            guard payload.count >= 8 else {
                throw .connection(.frameSizeError, "a GOAWAY frame has \(payload.count) payload bytes, fewer than 8")
            }
            self.payload = .goAway(lastStream: reader.uint32(at: 0) & 0x7fff_ffff, errorCode: reader.uint32(at: 4),
                                   debugData: Array(payload.dropFirst(8)))
        case .windowUpdate:
            try reader.requireLength(4)
            self.payload = .windowUpdate(increment: reader.uint32(at: 0) & 0x7fff_ffff)
        case .continuation:
            self.payload = .continuation(fieldBlock: Array(payload), endHeaders: flags & HTTP2Flags.endHeaders != 0)
        }
    }

    /// §6: which frames belong to a stream and which to the connection (PROTOCOL_ERROR otherwise).
    private static func checkStream(_ type: HTTP2FrameType, _ stream: UInt32) throws(HTTP2Violation) {
        switch type {
        case .settings, .ping, .goAway:
            if stream != 0 { throw .connection(.protocolError, "a \(type) frame on stream \(stream): it belongs to the connection, stream 0") }
        case .data, .headers, .priority, .rstStream, .pushPromise, .continuation:
            if stream == 0 { throw .connection(.protocolError, "a \(type) frame on stream 0: it must name a stream") }
        case .windowUpdate:
            break // both
        }
    }
}

/// Reads the fields of one payload; `bytes` shrinks as padding and priority fields are taken off.
private struct PayloadReader {
    var bytes: ArraySlice<UInt8>
    let type: HTTP2FrameType

    /// The 32-bit field `offset` bytes into what is left.
    func uint32(at offset: Int) -> UInt32 {
        let i = bytes.startIndex + offset
        return UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
    }

    func requireLength(_ length: Int, _ message: String? = nil) throws(HTTP2Violation) {
        guard bytes.count == length else {
            throw .connection(.frameSizeError, message ?? "a \(type) frame has \(bytes.count) payload bytes, not \(length)")
        }
    }

    /// With the PADDED flag: takes off the Pad Length octet and the padding; returns both counted
    /// (0 without the flag). `fixedFields`: the bytes after the Pad Length octet that padding cannot
    /// take (priority fields, a promised stream id). §6.1, §6.2: padding longer than what is left for
    /// the payload proper is PROTOCOL_ERROR; a frame too short for its fixed fields, FRAME_SIZE_ERROR.
    mutating func stripPadding(_ flags: UInt8, fixedFields: Int = 0) throws(HTTP2Violation) -> Int {
        let padded = flags & HTTP2Flags.padded != 0
        guard bytes.count >= (padded ? 1 : 0) + fixedFields else {
            throw .connection(.frameSizeError, "a \(type) frame has \(bytes.count) payload bytes, too few for its fixed fields")
        }
        guard padded else { return 0 }
        let padLength = Int(bytes[bytes.startIndex])
        bytes = bytes.dropFirst()
        guard padLength <= bytes.count - fixedFields else {
            throw .connection(.protocolError, "a \(type) frame's padding (\(padLength) bytes) is longer than the \(bytes.count - fixedFields) bytes left for it")
        }
        bytes = bytes.dropLast(padLength)
        return padLength + 1
    }

    /// Takes off the 5 priority bytes; the caller checked they are there.
    mutating func priority() -> HTTP2Priority {
        let word = uint32(at: 0)
        let priority = HTTP2Priority(exclusive: word & 0x8000_0000 != 0, dependency: word & 0x7fff_ffff, weight: bytes[bytes.startIndex + 4])
        bytes = bytes.dropFirst(5)
        return priority
    }
}
