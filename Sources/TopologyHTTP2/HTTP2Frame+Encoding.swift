/// Writing frames. The server writes DATA, HEADERS, CONTINUATION, RST_STREAM, SETTINGS, PING,
/// GOAWAY and WINDOW_UPDATE; the other types are written too so tests can play the client with the
/// same code, and so every decoded frame can be checked to encode back to its bytes.
extension HTTP2Frame {
    /// Appends the frame, header and payload. The payload must fit the 24-bit length; the caller
    /// keeps it within the peer's SETTINGS_MAX_FRAME_SIZE.
    func encode(into out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: [0, 0, 0, 0, 0, 0, 0, 0, 0])
        let flags = writePayload(into: &out)
        let length = out.count - start - HTTP2Frame.headerSize
        precondition(length <= HTTP2Frame.largestMaxFrameSize, "a frame payload of \(length) bytes does not fit the length field")
        out[start] = UInt8(truncatingIfNeeded: length >> 16)
        out[start + 1] = UInt8(truncatingIfNeeded: length >> 8)
        out[start + 2] = UInt8(truncatingIfNeeded: length)
        out[start + 3] = typeCode
        out[start + 4] = flags
        out.replaceSubrange(start + 5..<start + 9, with: bigEndian(stream & 0x7fff_ffff))
    }

    /// The encoded frame alone.
    var encoded: [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    /// Writes the payload after the header; returns the flags octet.
    private func writePayload(into out: inout [UInt8]) -> UInt8 {
        switch payload {
        case let .data(bytes, endStream, padding):
            let flags = (endStream ? HTTP2Flags.endStream : 0) | (padding > 0 ? HTTP2Flags.padded : 0)
            writePadded(bytes, padding: padding, into: &out)
            return flags
        case let .headers(headers):
            var flags = (headers.endStream ? HTTP2Flags.endStream : 0) | (headers.endHeaders ? HTTP2Flags.endHeaders : 0)
            var fields: [UInt8] = []
            if let priority = headers.priority {
                flags |= HTTP2Flags.priority
                priority.encode(into: &fields)
            }
            fields += headers.fieldBlock
            if headers.padding > 0 { flags |= HTTP2Flags.padded }
            writePadded(fields, padding: headers.padding, into: &out)
            return flags
        case let .priority(priority):
            priority.encode(into: &out)
            return 0
        case let .rstStream(errorCode):
            out += bigEndian(errorCode)
            return 0
        case let .settings(settings):
            for setting in settings {
                out += [UInt8(setting.id >> 8), UInt8(truncatingIfNeeded: setting.id)]
                out += bigEndian(setting.value)
            }
            return 0
        case .settingsAck:
            return HTTP2Flags.ack
        case let .pushPromise(promisedStream, fieldBlock, endHeaders, padding):
            writePadded(bigEndian(promisedStream & 0x7fff_ffff) + fieldBlock, padding: padding, into: &out)
            let flags = (endHeaders ? HTTP2Flags.endHeaders : 0) | (padding > 0 ? HTTP2Flags.padded : 0)
            return flags
        case let .ping(opaqueData, ack):
            out += bigEndian(UInt32(truncatingIfNeeded: opaqueData >> 32)) + bigEndian(UInt32(truncatingIfNeeded: opaqueData))
            return ack ? HTTP2Flags.ack : 0
        case let .goAway(lastStream, errorCode, debugData):
            out += bigEndian(lastStream & 0x7fff_ffff) + bigEndian(errorCode) + debugData
            return 0
        case let .windowUpdate(increment):
            out += bigEndian(increment & 0x7fff_ffff)
            return 0
        case let .continuation(fieldBlock, endHeaders):
            out += fieldBlock
            return endHeaders ? HTTP2Flags.endHeaders : 0
        case let .unknown(_, flags, payload):
            out += payload
            return flags
        }
    }

    /// `padding` 0: the bytes alone; else the Pad Length octet (padding - 1), the bytes, and that
    /// many zero octets (§6.1: padding octets are zero).
    private func writePadded(_ bytes: [UInt8], padding: Int, into out: inout [UInt8]) {
        guard padding > 0 else {
            out += bytes
            return
        }
        precondition(padding <= 256, "padding is one length octet and at most 255 octets")
        out.append(UInt8(padding - 1))
        out += bytes
        out += repeatElement(0, count: padding - 1)
    }
}

extension HTTP2Priority {
    func encode(into out: inout [UInt8]) {
        out += bigEndian((dependency & 0x7fff_ffff) | (exclusive ? 0x8000_0000 : 0))
        out.append(weight)
    }
}

/// The four octets of a 32-bit field, network order.
func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
}
