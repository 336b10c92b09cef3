#if canImport(Glibc)
import Glibc
#endif

/// A system call that failed: the operation and its errno. Thrown by `syscall`, the one wrapper every
/// system call of the server goes through.
public struct SystemError: Error, Equatable, CustomStringConvertible {
    /// What was being done, e.g. `accept4` or `bind 127.0.0.1:50053`.
    public var operation: String
    public var errno: Int32

    public init(_ operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String { "\(operation) failed: \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// The result of a non-blocking operation: done, or it would have blocked.
enum IOResult<Value> {
    case processed(Value)
    case wouldBlock
}

/// Every system call of the server goes through here, as in SwiftNIO: EINTR is retried, EAGAIN
/// (EWOULDBLOCK) becomes `.wouldBlock`, any other failure throws a `SystemError` carrying errno and
/// the operation. `body` returns the call's result, negative on failure with errno set.
@inline(__always)
func syscall<T: FixedWidthInteger>(_ operation: @autoclosure () -> String, _ body: () -> T) throws -> IOResult<T> {
    while true {
        let result = body()
        if result >= 0 { return .processed(result) }
        let error = errno
        switch error {
        case EINTR: continue
        case EAGAIN, EWOULDBLOCK: return .wouldBlock
        default: throw SystemError(operation(), errno: error)
        }
    }
}

/// `syscall` for calls that cannot block (bind, listen, epoll_ctl...): would-block is an error too.
@inline(__always)
@discardableResult
func syscallBlocking<T: FixedWidthInteger>(_ operation: @autoclosure () -> String, _ body: () -> T) throws -> T {
    switch try syscall(operation(), body) {
    case .processed(let value): return value
    case .wouldBlock: throw SystemError(operation(), errno: EAGAIN)
    }
}
