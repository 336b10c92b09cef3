/// Why a byte stream stopped being readable as length-prefixed frames. After any of these the
/// stream has no trustworthy frame boundary left, so the connection must be closed.
public enum FramingError: Error, Equatable, Sendable {
    /// The length prefix runs over 5 bytes (a 32-bit length never needs more).
    case malformedLengthPrefix
    /// The length prefix announces a frame larger than the configured limit. `length` is the value
    /// of the prefix's bytes up to the one that took it over the limit: a lower bound when later
    /// bytes of the prefix (more significant ones) were still to come.
    case frameTooLarge(length: UInt64, limit: Int)
    /// The frame's bytes are not a valid `Frame` message.
    case invalidFrame(WireDecodingError)
    /// The stream ended part-way through a frame.
    case truncatedFrame(bufferedBytes: Int)
}

extension FramingError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .malformedLengthPrefix:
            return "malformed length prefix: longer than 5 bytes"
        case let .frameTooLarge(length, limit):
            return "frame of \(length) bytes is over the limit of \(limit) bytes"
        case let .invalidFrame(error):
            return "undecodable frame: \(error)"
        case let .truncatedFrame(buffered):
            return "stream ended inside a frame (\(buffered) bytes of it received)"
        }
    }
}
