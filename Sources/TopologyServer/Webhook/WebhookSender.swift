#if canImport(Glibc)
import Glibc
#endif

/// One POST to a webhook, blocking, on the delivery thread, within a deadline for all of it: name
/// lookup aside (getaddrinfo has no timeout), connecting, writing and reading the status line each
/// wait in poll() for what is left of the deadline. `Connection: close`: one request per connection.
enum WebhookSender {
    /// The largest response head read; the status line is all that is looked at.
    static let maxResponseBytes = 8 * 1024

    static func post(_ body: [UInt8], to target: WebhookTarget, timeoutMs: Int64, clock: ServerClock) -> WebhookPlan.Outcome {
        let deadlineNs = clock.monotonicNs() + timeoutMs * 1_000_000
        func remainingMs() -> Int32 { Int32(clamping: max(0, (deadlineNs - clock.monotonicNs()) / 1_000_000)) }

        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(target.host, String(target.port), &hints, &list)
        guard status == 0, let first = list else {
            return .failed("cannot resolve \(target.host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failed("socket: \(String(cString: strerror(errno)))") }
        defer { Sockets.close(fd) }

        if connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else { return .failed("connect: \(String(cString: strerror(errno)))") }
            guard wait(fd, for: Int16(POLLOUT), ms: remainingMs()) else { return .failed("connect: timed out") }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { return .failed("connect: \(String(cString: strerror(error)))") }
        }

        let hostHeader = target.host.contains(":") ? "[\(target.host)]:\(target.port)" : "\(target.host):\(target.port)"
        let request = Array("POST \(target.path) HTTP/1.1\r\nHost: \(hostHeader)\r\nUser-Agent: topology-server\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body
        var written = 0
        while written < request.count {
            let result = request.withUnsafeBytes { bytes in
                Result { try Sockets.write(fd, UnsafeRawBufferPointer(rebasing: bytes[written...])) }
            }
            switch result {
            case .success(.processed(let n)): written += n
            case .success(.wouldBlock):
                guard wait(fd, for: Int16(POLLOUT), ms: remainingMs()) else { return .failed("sending: timed out") }
            case .failure(let error): return .failed("sending: \(error)")
            }
        }

        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while !response.contains(UInt8(ascii: "\n")) && response.count < maxResponseBytes {
            let result = buffer.withUnsafeMutableBytes { raw in Result { try Sockets.read(fd, into: raw) } }
            switch result {
            case .success(.processed(0)): return statusOutcome(response) ?? .failed("the receiver closed without a response")
            case .success(.processed(let n)): response += buffer[..<n]
            case .success(.wouldBlock):
                guard wait(fd, for: Int16(POLLIN), ms: remainingMs()) else { return .failed("waiting for the response: timed out") }
            case .failure(let error): return .failed("reading the response: \(error)")
            }
        }
        return statusOutcome(response) ?? .failed("not an HTTP response")
    }

    /// The outcome a status line says: 2xx delivered, 5xx and 429 worth a retry, others refused.
    static func statusOutcome(_ head: [UInt8]) -> WebhookPlan.Outcome? {
        let line = String(decoding: head.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        let parts = line.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]), (100 ... 599).contains(code),
              head.contains(UInt8(ascii: "\n"))
        else { return nil }
        switch code {
        case 200 ..< 300: return .delivered
        case 429, 500 ..< 600: return .failed("HTTP \(code)")
        default: return .refused("HTTP \(code)")
        }
    }

    /// poll() for `events` up to `ms`; false on a timeout (or a poll error).
    private static func wait(_ fd: Int32, for events: Int16, ms: Int32) -> Bool {
        guard ms > 0 else { return false }
        var entry = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let n = poll(&entry, 1, ms)
            if n < 0 && errno == EINTR { continue }
            return n > 0
        }
    }
}
