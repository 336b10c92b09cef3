import TopologyHTTP2
import TopologyWire

/// The header fields of gRPC over HTTP/2 that this server reads and writes (grpc/grpc
/// doc/PROTOCOL-HTTP2.md).
enum GRPCHeaders {
    /// The response head of a call that answers with messages.
    static let responseHead = [HeaderField(":status", "200"), HeaderField("content-type", "application/grpc"),
                               HeaderField("grpc-accept-encoding", "identity")]

    /// The trailers that end a call: `grpc-status`, and `grpc-message` when there is one.
    static func trailers(_ status: Status) -> [HeaderField] {
        var fields = [HeaderField("grpc-status", String(status.code))]
        if !status.message.isEmpty { fields.append(HeaderField("grpc-message", percentEncoded(status.message))) }
        return fields
    }

    /// A trailers-only response: the head and the status in one HEADERS frame, for a call refused
    /// before any message.
    static func trailersOnly(_ status: Status) -> [HeaderField] {
        responseHead + trailers(status)
    }

    /// `grpc-message` is percent-encoded: every byte outside printable ASCII, and `%` itself.
    static func percentEncoded(_ message: String) -> String {
        var out = ""
        for byte in message.utf8 {
            if byte >= 0x20 && byte <= 0x7E && byte != UInt8(ascii: "%") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]], as: UTF8.self)
            }
        }
        return out
    }

    /// `grpc-timeout`: at most 8 digits and a unit (H, M, S, m, u, n), as milliseconds, rounded up
    /// (a deadline is never made shorter than asked). nil when malformed.
    static func timeoutMs(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 2, bytes.count <= 9, let unit = bytes.last,
              bytes.dropLast().allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = Int64(String(decoding: bytes.dropLast(), as: UTF8.self))
        else { return nil }
        switch unit {
        case UInt8(ascii: "H"): return value * 3_600_000
        case UInt8(ascii: "M"): return value * 60_000
        case UInt8(ascii: "S"): return value * 1_000
        case UInt8(ascii: "m"): return value
        case UInt8(ascii: "u"): return (value + 999) / 1_000
        case UInt8(ascii: "n"): return (value + 999_999) / 1_000_000
        default: return nil
        }
    }
}
