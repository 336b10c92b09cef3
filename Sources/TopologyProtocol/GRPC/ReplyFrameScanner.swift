import TopologyWire

/// Reads the Frames the dispatcher wrote without decoding the messages they carry: each frame's call
/// id, end of stream, status and the bytes of its message, which are exactly what a gRPC (or any
/// other) response carries. The bytes are the dispatcher's own encoding, so what does not scan is a
/// bug here, not input from a client; such a frame is skipped.
enum ReplyFrameScanner {
    struct Reply {
        var callId: UInt64 = 0
        var endOfStream = false
        var status: Status?
        /// The message member's bytes, in the scanned buffer.
        var message: Range<Int>?
    }

    /// Hands each frame's reply to `visit`, in order (no array of them: a read's worth of
    /// heartbeat acks is hundreds).
    static func scan(_ bytes: UnsafeRawBufferPointer, _ visit: (Reply) -> Void) {
        var offset = 0
        while offset < bytes.count {
            guard case .value(let length, let bodyStart) = Varint.read(bytes, at: offset, end: bytes.count, maximumBytes: 5),
                  bodyStart + Int(length) <= bytes.count else { break }
            let end = bodyStart + Int(length)
            if let reply = scanFrame(bytes, from: bodyStart, to: end) { visit(reply) }
            offset = end
        }
    }

    private static func scanFrame(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Reply? {
        var reply = Reply()
        var offset = start
        while offset < end {
            guard case .value(let key, let valueStart) = Varint.read(bytes, at: offset, end: end, maximumBytes: 5) else { return nil }
            let field = Int(key >> 3)
            switch key & 7 {
            case 0:
                guard case .value(let value, let next) = Varint.read(bytes, at: valueStart, end: end, maximumBytes: 10) else { return nil }
                if field == 1 { reply.callId = value }
                if field == 2 { reply.endOfStream = value != 0 }
                offset = next
            case 2:
                guard case .value(let length, let dataStart) = Varint.read(bytes, at: valueStart, end: end, maximumBytes: 5),
                      dataStart + Int(length) <= end else { return nil }
                let range = dataStart..<(dataStart + Int(length))
                if field == 3 {
                    reply.status = try? Status(serializedBytes: UnsafeRawBufferPointer(rebasing: bytes[range]))
                } else if field >= 10 {
                    reply.message = range
                }
                offset = range.upperBound
            default:
                return nil  // the dispatcher writes varints and length-delimited fields only
            }
        }
        return reply
    }
}
