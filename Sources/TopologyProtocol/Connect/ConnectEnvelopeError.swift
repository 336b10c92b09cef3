/// Why a Connect envelope stream cannot be read on. After one, the stream is unusable: the
/// session answers with an error and ends the call.
public enum ConnectEnvelopeError: Error, Equatable, Sendable {
    /// An envelope announces a payload over the limit; nothing of it is buffered.
    case tooLarge(length: UInt32, limit: Int)
    /// A flags byte with bits the protocol does not define (Connect: 0x01 and 0x02; gRPC: 0x01).
    case unknownFlags(UInt8, allowed: UInt8)
}

extension ConnectEnvelopeError: CustomStringConvertible {
    public var description: String {
        switch self {
        case let .tooLarge(length, limit):
            return "message of \(length) bytes is over the limit of \(limit) bytes"
        case let .unknownFlags(flags, allowed):
            return "message flags 0x\(String(flags, radix: 16)) set bits other than the defined 0x\(String(allowed, radix: 16))"
        }
    }
}
