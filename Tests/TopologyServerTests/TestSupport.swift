import Foundation
import TopologyCore
import TopologyServer
import TopologyWire
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Milliseconds since the Unix epoch (the server's clock is wall-at-start plus monotonic; over a
/// test the two agree to well under a millisecond).
func wallMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// A server on a background thread, on an ephemeral loopback port, with short intervals.
final class RunningServer: @unchecked Sendable {
    let server: Server
    let port: UInt16
    private let done = DispatchSemaphore(value: 0)
    let logLines = LogCapture()

    init(_ configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        var configuration = ServerConfiguration()
        configuration.address = ListenAddress(host: "127.0.0.1", port: 0, family: .ipv4)
        configuration.topology.heartbeatIntervalMs = 100
        configuration.topology.activityFlushMs = 50
        configuration.topology.nodeUpdateThrottleMs = 50
        configuration.topology.progressIntervalMs = 60_000
        configuration.shutdownGraceMs = 300
        configure(&configuration)
        let capture = logLines
        server = Server(configuration: configuration, logger: Logger(level: .debug) { capture.append($0) })
        port = try server.start().port
        let server = self.server
        let done = self.done
        let thread = Thread {
            do { try server.run() } catch { XCTFail("server loop failed: \(error)") }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    func stop() {
        server.stop()
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success, "server did not stop within 5 s")
    }

    func client(file: StaticString = #filePath, line: UInt = #line) throws -> TestClient {
        try TestClient(port: port)
    }
}

final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    func contains(_ text: String) -> Bool { all.contains { $0.contains(text) } }
    /// The lines so far, forgotten here (a long test keeps its memory flat this way).
    func drain() -> [String] { lock.lock(); defer { lines = []; lock.unlock() }; return lines }
}

struct TestTimeout: Error, CustomStringConvertible {
    var description: String
}

/// A blocking TCP socket connected to 127.0.0.1:`port`, with a receive buffer of that size if given
/// (a small one makes a slow reader).
func connectLoopback(port: UInt16, receiveBuffer: Int32? = nil) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestTimeout(description: "socket failed: errno \(errno)") }
    if var size = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, 4) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = port.bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else { close(fd); throw TestTimeout(description: "connect failed: errno \(errno)") }
    return fd
}

/// A blocking loopback client speaking raw frames, every read bounded by a timeout.
final class TestClient: @unchecked Sendable {
    let fd: Int32
    var decoder = FrameDecoder(maximumFrameSize: 256 << 20)
    private var nextCall: UInt64 = 1
    /// Frames read while waiting for another call's.
    var stash: [Frame] = []
    var closedByPeer = false
    /// Reused by every read (allocating 64 KiB per frame read made pipelined tests crawl).
    private var readChunk = [UInt8](repeating: 0, count: 65536)

    init(port: UInt16, receiveBuffer: Int32? = nil) throws {
        fd = try connectLoopback(port: port, receiveBuffer: receiveBuffer)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, 4)
    }

    deinit { close(fd) }

    func newCallID() -> UInt64 {
        defer { nextCall += 1 }
        return nextCall
    }

    func sendRaw(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    func send(_ frame: Frame) {
        var bytes: [UInt8] = []
        frame.encodeLengthPrefixed(appendingTo: &bytes)
        sendRaw(bytes)
    }

    /// The next frame, or nil if the peer closed; throws after `timeout` seconds.
    func readFrame(timeout: Double = 5) throws -> Frame? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let frame = try decoder.next() { return frame }
            if closedByPeer { return nil }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw TestTimeout(description: "no frame within \(timeout) s") }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(max(1, remaining * 1000)))
            if ready <= 0 { continue }
            let n = readChunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { closedByPeer = true; continue }
            readChunk.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }

    /// The next frame on `callID` (others are stashed).
    func readFrame(call callID: UInt64, timeout: Double = 5) throws -> Frame {
        if let index = stash.firstIndex(where: { $0.callId == callID }) { return stash.remove(at: index) }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            guard let frame = try readFrame(timeout: max(0.001, deadline.timeIntervalSinceNow)) else {
                throw TestTimeout(description: "connection closed while waiting for call \(callID)")
            }
            if frame.callId == callID { return frame }
            stash.append(frame)
        }
    }

    /// Waits for the server to close the connection; returns the bytes it sent, not read as frames
    /// (an HTTP answer).
    func readBytesUntilClosed(timeout: Double = 5) throws -> [UInt8] {
        let deadline = Date().addingTimeInterval(timeout)
        var bytes: [UInt8] = []
        while true {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw TestTimeout(description: "not closed within \(timeout) s") }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, Int32(max(1, remaining * 1000))) <= 0 { continue }
            let n = readChunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return bytes }
            bytes += readChunk[0..<n]
        }
    }

    /// Waits for the server to close the connection; returns the frames it sent before.
    func readUntilClosed(timeout: Double = 5) throws -> [Frame] {
        var frames = stash
        stash = []
        while let frame = try readFrame(timeout: timeout) { frames.append(frame) }
        return frames
    }

    /// Sends `frames` (each answered by exactly one frame) `batch` at a time, reading a batch's
    /// replies before sending the next: many calls in flight, no buffer growing without bound on
    /// either side. The replies come back in arrival order.
    func pipelined(_ frames: [Frame], batch: Int = 1_000, timeout: Double = 10) throws -> [Frame] {
        var replies: [Frame] = []
        replies.reserveCapacity(frames.count)
        var start = 0
        while start < frames.count {
            let end = min(frames.count, start + batch)
            var bytes: [UInt8] = []
            for frame in frames[start..<end] { frame.encodeLengthPrefixed(appendingTo: &bytes) }
            sendRaw(bytes)
            for _ in start..<end {
                guard let reply = try readFrame(timeout: timeout) else {
                    throw TestTimeout(description: "connection closed after \(replies.count) of \(frames.count) replies")
                }
                replies.append(reply)
            }
            start = end
        }
        return replies
    }

    /// One RegisterService frame per name (under the given ids, if any), on fresh call ids.
    func registrations(_ names: [String], version: String? = nil, metadata: ServiceMetadata? = nil, ids: [String]? = nil) -> [Frame] {
        names.indices.map { index in
            var request = RegisterServiceRequest()
            request.serviceName = names[index]
            request.serviceType = .server
            request.version = version
            request.metadata = metadata
            request.serviceId = ids?[index]
            return Frame(callId: newCallID(), message: .registerServiceRequest(request))
        }
    }

    // Calls.

    func unary(_ message: Frame.Message) throws -> Frame {
        let id = newCallID()
        send(Frame(callId: id, message: message))
        return try readFrame(call: id)
    }

    func register(_ name: String, id: String? = nil, metadata: ServiceMetadata? = nil) throws -> ServiceHandle {
        var request = RegisterServiceRequest()
        request.serviceName = name
        request.serviceType = .server
        request.language = .swift
        request.serviceId = id
        request.metadata = metadata
        let reply = try unary(.registerServiceRequest(request))
        guard case .registerServiceResponse(let response)? = reply.message, let handle = response.handle else {
            throw TestTimeout(description: "register failed: \(String(describing: reply.status))")
        }
        return handle
    }

    func heartbeat(call: UInt64, serviceID: String, sequence: Int64) throws -> Frame {
        send(Frame(callId: call, message: .heartbeatRequest(HeartbeatRequest(serviceId: serviceID, sequence: sequence))))
        return try readFrame(call: call)
    }

    func topology(_ query: TopologyQuery = TopologyQuery()) throws -> TopologySnapshot {
        let reply = try unary(.getTopologyRequest(GetTopologyRequest(query: query)))
        guard case .getTopologyResponse(let response)? = reply.message, let snapshot = response.snapshot else {
            throw TestTimeout(description: "GetTopology failed: \(String(describing: reply.status))")
        }
        return snapshot
    }

    func startWatch(_ query: TopologyQuery = TopologyQuery()) -> UInt64 {
        let id = newCallID()
        var request = WatchTopologyRequest()
        request.query = query
        send(Frame(callId: id, message: .watchTopologyRequest(request)))
        return id
    }

    /// The next watch update on `call`.
    func update(on call: UInt64, timeout: Double = 5) throws -> TopologyUpdate {
        let frame = try readFrame(call: call, timeout: timeout)
        guard case .watchTopologyResponse(let response)? = frame.message, let update = response.update else {
            throw TestTimeout(description: "not a watch update: \(frame.jsonString())")
        }
        return update
    }
}

/// Metadata with every field `bytesPerField` long (about 7 KB a node by default): makes snapshots
/// big with few services.
func bulkyMetadata(bytesPerField: Int = 1_000) -> ServiceMetadata {
    let value = String(repeating: "m", count: bytesPerField)
    return ServiceMetadata(region: value, environment: value, team: value, versionHash: value, serviceInterface: value,
                           serviceRole: value, programName: value)
}

/// Waits until `condition` holds, polling, at most `timeout` seconds.
func eventually(timeout: Double = 5, _ what: String, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        usleep(5_000)
    }
    throw TestTimeout(description: "timed out waiting for \(what)")
}
