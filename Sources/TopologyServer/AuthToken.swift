#if canImport(Glibc)
import Glibc
#endif

/// Why `--auth-token-file` cannot be used: one case per problem, each naming the file and the fix.
public enum AuthTokenError: Error, Equatable, CustomStringConvertible {
    /// The file could not be opened or read (missing, unreadable, a directory...).
    case unreadable(path: String, errno: Int32)
    /// Nothing in the file but line breaks.
    case empty(path: String)
    /// Fewer bytes than `AuthToken.minimumBytes`.
    case tooShort(path: String, bytes: Int)
    /// More bytes than `AuthToken.maximumBytes`.
    case tooLong(path: String)
    /// A byte that is not visible ASCII (a space, a control character, non-ASCII), at this offset.
    case invalidCharacter(path: String, offset: Int)

    public var description: String {
        let hint = "put a token of \(AuthToken.minimumBytes) to \(AuthToken.maximumBytes) visible ASCII characters in it, e.g. `openssl rand -hex 32 > FILE`"
        switch self {
        case let .unreadable(path, errno):
            return "--auth-token-file \(path): cannot read it: \(String(cString: strerror(errno)))"
        case let .empty(path):
            return "--auth-token-file \(path) is empty; \(hint)"
        case let .tooShort(path, bytes):
            return "--auth-token-file \(path) holds a token of \(bytes) bytes, too short to be a secret; \(hint)"
        case let .tooLong(path):
            return "--auth-token-file \(path) holds more than \(AuthToken.maximumBytes) bytes; \(hint)"
        case let .invalidCharacter(path, offset):
            return "--auth-token-file \(path): byte \(offset) of the token is a space, a control character or not ASCII (tokens travel in HTTP headers and URLs); \(hint)"
        }
    }
}

/// The shared secret of `--auth-token-file`, and the one way to compare a presented token with it.
///
/// The comparison takes the same time whatever the presented token holds and however much of it is
/// right: both sides are padded to `maximumBytes` and every byte pair is XORed into one accumulator,
/// with no branch on secret data and no early exit. Only a presented token's own length (which the
/// peer knows) changes the work done.
struct AuthToken: Sendable {
    /// Shorter tokens are refused at startup: guessable.
    static let minimumBytes = 16
    static let maximumBytes = 512

    /// The token, zero-padded to `maximumBytes`.
    private let padded: [UInt8]
    private let count: Int

    /// A token from its text (tests); nil unless it is `minimumBytes`...`maximumBytes` of visible ASCII.
    init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard (AuthToken.minimumBytes...AuthToken.maximumBytes).contains(bytes.count),
              bytes.allSatisfy(AuthToken.isVisibleASCII) else { return nil }
        self.init(validated: bytes)
    }

    private init(validated bytes: [UInt8]) {
        padded = bytes + [UInt8](repeating: 0, count: AuthToken.maximumBytes - bytes.count)
        count = bytes.count
    }

    private static func isVisibleASCII(_ byte: UInt8) -> Bool { byte > 0x20 && byte < 0x7F }

    /// Whether `candidate` is the token, in time independent of the token and of how much of the
    /// candidate matches it.
    func matches(_ candidate: String) -> Bool {
        var presented = [UInt8](repeating: 0, count: AuthToken.maximumBytes)
        var presentedCount = 0
        for byte in candidate.utf8 {
            guard presentedCount < AuthToken.maximumBytes else { return false }  // longer than any token
            presented[presentedCount] = byte
            presentedCount += 1
        }
        var difference = UInt64(truncatingIfNeeded: count ^ presentedCount)
        for index in 0..<AuthToken.maximumBytes {
            difference |= UInt64(padded[index] ^ presented[index])
        }
        return difference == 0
    }

    /// Reads the token from `path`: the whole file, trailing line breaks removed.
    static func load(path: String) throws(AuthTokenError) -> AuthToken {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, errno: errno) }
        defer { close(fd) }
        // One byte more than a token and two line-break bytes: enough to tell "too long".
        var buffer = [UInt8](repeating: 0, count: maximumBytes + 3)
        var length = 0
        while length < buffer.count {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + length, $0.count - length) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path: path, errno: errno)
            }
            if n == 0 { break }
            length += n
        }
        while length > 0, buffer[length - 1] == 0x0A || buffer[length - 1] == 0x0D { length -= 1 }
        let bytes = Array(buffer[0..<length])
        guard !bytes.isEmpty else { throw .empty(path: path) }
        guard bytes.count <= maximumBytes else { throw .tooLong(path: path) }
        if let offset = bytes.firstIndex(where: { !isVisibleASCII($0) }) { throw .invalidCharacter(path: path, offset: offset) }
        guard bytes.count >= minimumBytes else { throw .tooShort(path: path, bytes: bytes.count) }
        return AuthToken(validated: bytes)
    }

    /// Whether users other than the file's owner may read it (worth a warning: it holds a secret).
    static func isReadableByOthers(path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return info.st_mode & (S_IRGRP | S_IROTH) != 0
    }
}
