/// Why a Connect envelope stream cannot be read on. After one, the stream is unusable: the
/// session answers with an error and ends the call.
public enum ConnectEnvelopeError: Error, Equatable, Sendable {
    /// An envelope announces a payload over the limit; nothing of it is buffered.
    case tooLarge(length: UInt32, limit: Int)
    /// A flags byte with bits the protocol does not define (only 0x01 and 0x02 are).
    case unknownFlags(UInt8)
}

extension ConnectEnvelopeError: CustomStringConvertible {
    public var description: String {
        switch self {
        case let .tooLarge(length, limit):
            return "Connect envelope of \(length) bytes is over the limit of \(limit) bytes"
        case let .unknownFlags(flags):
            return "Connect envelope flags \(flags) set bits other than 0x01 (compressed) and 0x02 (end of stream)"
        }
    }
}
