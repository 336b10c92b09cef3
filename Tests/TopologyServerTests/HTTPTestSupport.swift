import Foundation
@testable import TopologyServer
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A response read off the wire by `HTTPTestClient`.
struct TestHTTPResponse {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
    func json() throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
    }
}

/// A blocking loopback HTTP/1.1 client for tests: raw bytes out, responses parsed by Content-Length,
/// every read bounded by a timeout.
final class HTTPTestClient {
    let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var closedByPeer = false
    /// The close was a reset (ECONNRESET), not an orderly end of stream.
    private(set) var resetByPeer = false

    init(port: UInt16, receiveBuffer: Int32? = nil) throws {
        fd = try connectLoopback(port: port, receiveBuffer: receiveBuffer)
    }

    deinit { close(fd) }

    func send(_ text: String) { sendBytes(Array(text.utf8)) }

    func sendBytes(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Reads more bytes into the buffer; false at end of stream. Throws after `timeout`.
    @discardableResult
    func fill(timeout: Double) throws -> Bool {
        if closedByPeer { return false }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) > 0 else { throw TestTimeout(description: "no bytes within \(timeout) s") }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 {
            closedByPeer = true
            resetByPeer = n < 0 && errno == ECONNRESET
            return false
        }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    /// The next response; `head` for a HEAD request (no body whatever Content-Length says).
    func response(head: Bool = false, timeout: Double = 5) throws -> TestHTTPResponse {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let end = headEnd() {
                let headText = String(decoding: buffer[0..<end], as: UTF8.self)
                var lines = headText.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst().split(separator: " ")
                let status = Int(statusLine[1]) ?? -1
                var headers: [String: String] = [:]
                for line in lines where !line.isEmpty {
                    let parts = line.split(separator: ":", maxSplits: 1)
                    headers[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces)
                }
                let length = head ? 0 : Int(headers["content-length"] ?? "0") ?? 0
                while buffer.count < end + 4 + length {
                    guard try fill(timeout: max(0.01, deadline.timeIntervalSinceNow)) else { throw TestTimeout(description: "closed mid-body") }
                }
                let body = Array(buffer[(end + 4)..<(end + 4 + length)])
                buffer.removeFirst(end + 4 + length)
                return TestHTTPResponse(status: status, headers: headers, body: body)
            }
            guard try fill(timeout: max(0.01, deadline.timeIntervalSinceNow)) else { throw TestTimeout(description: "closed before a response") }
        }
    }

    private func headEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 { return i }
        return nil
    }

    /// True when the server closes within `timeout` (bytes still arriving are dropped).
    func closesWithin(_ timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            do { if !(try fill(timeout: max(0.01, deadline.timeIntervalSinceNow))) { return true } } catch { return false }
        }
        return closedByPeer
    }

    /// Reads an SSE stream up to and including the next event (comments skipped unless asked for).
    func event(timeout: Double = 5, comments: Bool = false) throws -> (id: String?, data: String, comment: String?) {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let range = findBlankLine() {
                let block = String(decoding: buffer[0..<range], as: UTF8.self)
                buffer.removeFirst(range + 2)
                var id: String?
                var data: [String] = []
                var comment: String?
                for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                    if line.hasPrefix("id: ") { id = String(line.dropFirst(4)) }
                    else if line.hasPrefix("data: ") { data.append(String(line.dropFirst(6))) }
                    else if line.hasPrefix(":") { comment = String(line.dropFirst(1)).trimmingCharacters(in: .whitespaces) }
                }
                if data.isEmpty && !(comments && comment != nil) { continue }
                return (id, data.joined(separator: "\n"), comment)
            }
            guard try fill(timeout: max(0.01, deadline.timeIntervalSinceNow)) else { throw TestTimeout(description: "stream closed") }
        }
    }

    /// Skips the response head of an event stream.
    func eventStreamHead(timeout: Double = 5) throws -> TestHTTPResponse {
        let deadline = Date().addingTimeInterval(timeout)
        while headEnd() == nil {
            guard try fill(timeout: max(0.01, deadline.timeIntervalSinceNow)) else { throw TestTimeout(description: "closed") }
        }
        let end = headEnd()!
        let lines = String(decoding: buffer[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        buffer.removeFirst(end + 4)
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            headers[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        return TestHTTPResponse(status: Int(lines[0].split(separator: " ")[1]) ?? -1, headers: headers, body: [])
    }

    private func findBlankLine() -> Int? {
        guard buffer.count >= 2 else { return nil }
        for i in 0...(buffer.count - 2) where buffer[i] == 10 && buffer[i + 1] == 10 { return i }
        return nil
    }
}

extension RunningServer {
    var httpPort: UInt16 { server.boundHTTPAddress!.port }

    func http(timeout: Double = 5) throws -> HTTPTestClient { try HTTPTestClient(port: httpPort) }

    /// One GET on a fresh connection.
    func get(_ target: String, headers: String = "") throws -> TestHTTPResponse {
        let client = try http()
        client.send("GET \(target) HTTP/1.1\r\nHost: t\r\n\(headers)\r\n")
        return try client.response()
    }
}

/// A server with the HTTP listener on an ephemeral port.
func httpServer(_ configure: (inout ServerConfiguration) -> Void = { _ in }) throws -> RunningServer {
    try RunningServer { c in
        c.httpAddress = ListenAddress(host: "127.0.0.1", port: 0, family: .ipv4)
        configure(&c)
    }
}
