// The load generator's system interface: the monotonic clock, /proc readings of the process under
// test, and non-blocking TCP sockets on loopback. Every failure here ends the run (exit 1) with the
// operation and errno: a benchmark that cannot open its sockets has nothing to report.
import CTopologyShims
#if canImport(Glibc)
import Glibc
#endif

/// Nanoseconds of CLOCK_MONOTONIC.
@inline(__always)
func monotonicNs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

func fatal(_ message: String) -> Never {
    var line = "LoadGen: error: \(message)\n"
    line.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    exit(1)
}

func log(_ message: String) {
    var line = "LoadGen: \(message)\n"
    line.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
}

/// CPU time and memory of one process, read from /proc.
struct ProcessSample {
    /// utime + stime from /proc/PID/stat, in clock ticks (USER_HZ).
    var ticks: Int64
    /// sum_exec_runtime from /proc/PID/schedstat, in ns (the same CPU time at ns resolution).
    var runtimeNs: Int64
    var wallNs: Int64

    static let ticksPerSecond = Int64(sysconf(Int32(_SC_CLK_TCK)))

    /// The CPU time between two samples in µs, from the tick counters (the figure the reports use).
    func cpuMicroseconds(since earlier: ProcessSample) -> Double {
        Double(ticks - earlier.ticks) * 1_000_000 / Double(ProcessSample.ticksPerSecond)
    }

    /// Percent of one core between two samples.
    func corePercent(since earlier: ProcessSample) -> Double {
        let wall = Double(wallNs - earlier.wallNs)
        return wall > 0 ? cpuMicroseconds(since: earlier) * 1_000 / wall * 100 : 0
    }
}

enum Proc {
    static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 8192)
        var total = 0
        while total < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + total, $0.count - total) }
            if n <= 0 { break }
            total += n
        }
        return String(decoding: bytes[0..<total], as: UTF8.self)
    }

    /// `pid` 0 reads this process.
    static func sample(_ pid: Int32) -> ProcessSample {
        let base = pid == 0 ? "/proc/self" : "/proc/\(pid)"
        guard let stat = readFile("\(base)/stat"), let close = stat.lastIndex(of: ")") else {
            fatal("cannot read \(base)/stat: is the process still running?")
        }
        // Fields after "(comm)": state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        let utime = Int64(fields[11]) ?? 0
        let stime = Int64(fields[12]) ?? 0
        let runtime = readFile("\(base)/schedstat").flatMap { Int64($0.split(separator: " ").first ?? "") } ?? 0
        return ProcessSample(ticks: utime + stime, runtimeNs: runtime, wallNs: monotonicNs())
    }

    /// VmRSS in KiB.
    static func residentKiB(_ pid: Int32) -> Int {
        let base = pid == 0 ? "/proc/self" : "/proc/\(pid)"
        guard let status = readFile("\(base)/status") else { fatal("cannot read \(base)/status") }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
        }
        return 0
    }
}

enum Net {
    /// "127.0.0.1:PORT" to a sockaddr_in.
    static func address(_ text: String) -> sockaddr_in {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            fatal("bad address \(text): expected HOST:PORT")
        }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        guard inet_pton(AF_INET, String(text[..<colon]), &sin.sin_addr) == 1 else { fatal("bad IPv4 host in \(text)") }
        return sin
    }

    /// A non-blocking TCP socket with TCP_NODELAY, connected to `address`. With
    /// `waitForConnection` the connect blocks until the handshake is done (loopback completes it in
    /// the kernel, whatever the server is doing, unless its accept queue is full: then it waits for
    /// the SYN's retry, a second or more). Without it, it returns while the handshake may be under
    /// way, and what is sent meanwhile waits for EPOLLOUT: a fleet opening 10,000 connections at
    /// once overflows the accept queue, and a generator blocked in connect read no replies and sent
    /// no heartbeats meanwhile (a service left 11 s between two, past the STALE threshold).
    /// `receiveBufferBytes`: a small receive buffer (set before connecting, so the window it
    /// advertises is small too), for a peer that does not read.
    static func connect(_ address: sockaddr_in, receiveBufferBytes: Int32? = nil, waitForConnection: Bool = true) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
                            | (waitForConnection ? 0 : Int32(SOCK_NONBLOCK.rawValue)), 0)
        guard fd >= 0 else { fatal("socket: errno \(errno) (raise ulimit -n?)") }
        if var bytes = receiveBufferBytes {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, socklen_t(MemoryLayout<Int32>.size))
        }
        var sin = address
        let rc = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 || (!waitForConnection && errno == EINPROGRESS) else { fatal("connect: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        return fd
    }

    /// Closes with a reset (SO_LINGER 0): no TIME_WAIT, so back-to-back runs of 10,000 connections
    /// do not run out of ephemeral ports.
    static func abortiveClose(_ fd: Int32) {
        var lingering = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lingering, socklen_t(MemoryLayout<linger>.size))
        close(fd)
    }

    /// The soft file-descriptor limit raised to the hard one; returns the new soft limit.
    static func raiseFileLimit() -> Int {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return Int(clamping: limit.rlim_cur)
    }
}

/// epoll, level-triggered, with each descriptor's data set to a connection index.
struct Poller {
    let fd: Int32
    var readyData = [UInt64](repeating: 0, count: 256)
    var readyEvents = [UInt32](repeating: 0, count: 256)
    private var scratch = [UInt8](repeating: 0, count: 256 * Int(topology_epoll_event_size()))

    init() {
        fd = topology_epoll_create()
        guard fd >= 0 else { fatal("epoll_create: errno \(errno)") }
    }

    func add(_ socket: Int32, token: Int, writable: Bool = false) {
        let events = UInt32(TOPOLOGY_EPOLLIN | TOPOLOGY_EPOLLRDHUP) | (writable ? UInt32(TOPOLOGY_EPOLLOUT) : 0)
        guard topology_epoll_ctl(fd, 1, socket, events, UInt64(token)) == 0 else { fatal("epoll_ctl add: errno \(errno)") }
    }

    func modify(_ socket: Int32, token: Int, writable: Bool) {
        let events = UInt32(TOPOLOGY_EPOLLIN | TOPOLOGY_EPOLLRDHUP) | (writable ? UInt32(TOPOLOGY_EPOLLOUT) : 0)
        _ = topology_epoll_ctl(fd, 3, socket, events, UInt64(token))
    }

    /// Ready count (0 on timeout or EINTR).
    mutating func wait(timeoutMs: Int32) -> Int {
        let n = scratch.withUnsafeMutableBytes { scratch in
            readyData.withUnsafeMutableBufferPointer { data in
                readyEvents.withUnsafeMutableBufferPointer { events in
                    topology_epoll_wait(fd, scratch.baseAddress, data.baseAddress, events.baseAddress, 256, timeoutMs)
                }
            }
        }
        if n < 0 {
            if errno == EINTR { return 0 }
            fatal("epoll_wait: errno \(errno)")
        }
        return Int(n)
    }
}
