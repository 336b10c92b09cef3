#if canImport(Glibc)
import Glibc
#endif
import CTopologyShims

/// A socket address, IPv4 or IPv6, as the kernel takes it.
struct SocketAddress {
    var storage = sockaddr_storage()
    var length: socklen_t

    init?(host: String, port: UInt16, family: ListenAddress.Family) {
        switch family {
        case .ipv4:
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { return nil }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutableBytes(of: &storage) { raw in raw.storeBytes(of: addr, as: sockaddr_in.self) }
        case .ipv6:
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, host, &addr.sin6_addr) == 1 else { return nil }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeMutableBytes(of: &storage) { raw in raw.storeBytes(of: addr, as: sockaddr_in6.self) }
        }
    }

    init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    /// `127.0.0.1:41234` or `[::1]:41234`.
    var description: String {
        var copy = storage
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(storage.ss_family) {
        case AF_INET:
            let addr = withUnsafeBytes(of: &copy) { $0.load(as: sockaddr_in.self) }
            var a = addr.sin_addr
            inet_ntop(AF_INET, &a, &text, socklen_t(text.count))
            return "\(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)):\(UInt16(bigEndian: addr.sin_port))"
        case AF_INET6:
            let addr = withUnsafeBytes(of: &copy) { $0.load(as: sockaddr_in6.self) }
            var a = addr.sin6_addr
            inet_ntop(AF_INET6, &a, &text, socklen_t(text.count))
            return "[\(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))]:\(UInt16(bigEndian: addr.sin6_port))"
        default:
            return "unknown"
        }
    }

    var port: UInt16 {
        var copy = storage
        switch Int32(storage.ss_family) {
        case AF_INET: return UInt16(bigEndian: withUnsafeBytes(of: &copy) { $0.load(as: sockaddr_in.self) }.sin_port)
        case AF_INET6: return UInt16(bigEndian: withUnsafeBytes(of: &copy) { $0.load(as: sockaddr_in6.self) }.sin6_port)
        default: return 0
        }
    }
}

/// Thin, typed wrappers over the socket calls, each through `syscall`.
enum Sockets {
    /// A non-blocking listening socket bound to `address`, with SO_REUSEADDR so that a restarted
    /// server gets its port back at once. Returns the descriptor and the address actually bound.
    static func listen(on address: ListenAddress, backlog: Int32 = 4096) throws -> (fd: Int32, bound: SocketAddress) {
        guard var target = SocketAddress(host: address.host, port: address.port, family: address.family) else {
            throw SystemError("parse address \(address)", errno: EINVAL)
        }
        let family = address.family == .ipv4 ? AF_INET : AF_INET6
        let fd = try syscallBlocking("socket") {
            socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        do {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt SO_REUSEADDR")
            if address.family == .ipv6 { try setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1, "setsockopt IPV6_V6ONLY") }
            let length = target.length
            try syscallBlocking("bind \(address)") {
                withUnsafePointer(to: &target.storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
                }
            }
            try syscallBlocking("listen \(address)") { Glibc.listen(fd, backlog) }
            var bound = sockaddr_storage()
            var boundLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            try syscallBlocking("getsockname") {
                withUnsafeMutablePointer(to: &bound) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &boundLength) }
                }
            }
            return (fd, SocketAddress(storage: bound, length: boundLength))
        } catch {
            close(fd)
            throw error
        }
    }

    /// Accepts one connection (non-blocking, close-on-exec), or `.wouldBlock` when none is waiting.
    static func accept(_ listener: Int32) throws -> IOResult<(fd: Int32, peer: SocketAddress)> {
        var peer = sockaddr_storage()
        var length = UInt32(MemoryLayout<sockaddr_storage>.size)
        let result = try syscall("accept4") { topology_accept(listener, &peer, &length) }
        switch result {
        case .wouldBlock: return .wouldBlock
        case .processed(let fd): return .processed((fd, SocketAddress(storage: peer, length: length)))
        }
    }

    /// Options of every accepted connection: TCP_NODELAY (replies are already coalesced into one
    /// write per wake-up, so Nagle would only delay them) and, unless `keepaliveMs` is 0, TCP
    /// keepalive: idle `keepaliveMs` before the first probe, 3 probes a third of it apart (whole
    /// seconds, at least 1). Failures are ignored: the connection works without them.
    static func configureAccepted(_ fd: Int32, keepaliveMs: Int64) {
        try? setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1, "setsockopt TCP_NODELAY")
        guard keepaliveMs > 0 else { return }
        let idle = Int32(clamping: max(1, (keepaliveMs + 999) / 1000))
        try? setOption(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "setsockopt SO_KEEPALIVE")
        try? setOption(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE, idle, "setsockopt TCP_KEEPIDLE")
        try? setOption(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL, max(1, idle / 3), "setsockopt TCP_KEEPINTVL")
        try? setOption(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT, 3, "setsockopt TCP_KEEPCNT")
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32, _ operation: String) throws {
        var v = value
        try syscallBlocking(operation) { setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) }
    }

    /// Reads into `buffer`: the count (0 at end of stream) or `.wouldBlock`.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws -> IOResult<Int> {
        try syscall("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Writes from `buffer` (MSG_NOSIGNAL: a closed peer is an EPIPE error, never a SIGPIPE).
    static func write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws -> IOResult<Int> {
        try syscall("send") { send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL)) }
    }

    static func close(_ fd: Int32) {
        // close is not retried on EINTR (Linux releases the descriptor anyway); errors are moot.
        _ = try? syscall("close") { Glibc.close(fd) }
    }
}

/// The epoll instance of the loop.
struct Epoll {
    let fd: Int32

    init() throws {
        fd = try syscallBlocking("epoll_create1") { topology_epoll_create() }
    }

    func add(_ target: Int32, events: UInt32, data: UInt64) throws {
        try syscallBlocking("epoll_ctl add") { topology_epoll_ctl(fd, 1, target, events, data) }
    }

    func modify(_ target: Int32, events: UInt32, data: UInt64) throws {
        try syscallBlocking("epoll_ctl modify") { topology_epoll_ctl(fd, 3, target, events, data) }
    }

    func remove(_ target: Int32) {
        _ = try? syscall("epoll_ctl delete") { topology_epoll_ctl(fd, 2, target, 0, 0) }
    }

    /// Waits up to `timeoutMs` (-1: forever) and fills the arrays; returns the count.
    func wait(data: inout [UInt64], events: inout [UInt32], timeoutMs: Int32) throws -> Int {
        let capacity = Int32(min(data.count, events.count))
        let eventSize = Int(topology_epoll_event_size())
        let result = try withUnsafeTemporaryAllocation(byteCount: Int(capacity) * eventSize, alignment: 8) { scratch in
            try data.withUnsafeMutableBufferPointer { d in
                try events.withUnsafeMutableBufferPointer { e in
                    try syscall("epoll_wait") { topology_epoll_wait(fd, scratch.baseAddress, d.baseAddress, e.baseAddress, capacity, timeoutMs) }
                }
            }
        }
        switch result {
        case .processed(let n): return Int(n)
        case .wouldBlock: return 0
        }
    }
}

/// Raises the soft limit on open files to the hard limit, so `--max-connections` can be reached.
func raiseOpenFileLimit() -> Int {
    var limit = rlimit()
    guard (try? syscallBlocking("getrlimit") { getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) }) != nil else { return -1 }
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max
        _ = try? syscallBlocking("setrlimit") { setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) }
    }
    return Int(clamping: limit.rlim_cur)
}
