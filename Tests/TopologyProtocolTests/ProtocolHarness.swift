import TopologyCore
@testable import TopologyProtocol
import TopologyWire
import XCTest

/// Log lines a test can read: the dispatcher's `EventLog` writes here.
final class LogRecorder {
    private(set) var lines: [(level: LogLevel, message: String, fields: [String: String])] = []

    var log: EventLog {
        EventLog(level: .debug) { [self] level, message, fields in
            lines.append((level, message, Dictionary(fields.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })))
        }
    }

    func contains(_ message: String) -> Bool { lines.contains { $0.message == message } }
}

/// The RPC dispatcher, the core and one connection's `FrameSession`, with nothing but values in
/// between: frames (`send`) or bytes (`receive`) in, reply frames and actions out, time from a
/// `ManualClock`. The connection's outbound queue is `queue`; `replies()` reads what was added
/// since the last call, as a client that reads would.
struct ProtocolHarness {
    static let epoch = "0123456789abcdef0123456789abcdef"
    let clock = ManualClock()
    let recorder = LogRecorder()
    var topology: Topology
    var dispatcher: RPCDispatcher<ManualClock>
    var session: FrameSession
    /// The connection's calls, as the dispatcher keeps them (in the session).
    var state: CallState {
        get { session.callState }
        set { session.callState = newValue }
    }
    /// The connection's outbound queue; `read` bytes of it were read by the client.
    var queue: [UInt8] = []
    var read = 0
    /// Whether the client reads what `replies()` returns (the bytes then count as written).
    var clientReads = true
    var actions: [FrameAction] = []
    var closing = false

    init(maxCalls: Int = 100, maxOutboundBytes: Int = 1 << 20, offLoopReplyEntries: Int = 1_000, token: String? = nil,
         maxFrameBytes: Int = 4_096) {
        var configuration = TopologyConfiguration()
        configuration.maxServices = 50
        topology = Topology(configuration: configuration, serverEpoch: ProtocolHarness.epoch, now: clock.nowMs())
        dispatcher = RPCDispatcher(
            configuration: RPCConfiguration(
                maxCallsPerConnection: maxCalls, maxOutboundBytes: maxOutboundBytes, offLoopReplyEntries: offLoopReplyEntries,
                tokenMatches: token.map { expected in { $0 == expected } },
                limitFlag: { $0 == "maxServices" ? "--max-services" : nil }),
            clock: clock, serverEpoch: ProtocolHarness.epoch, log: recorder.log)
        session = FrameSession(callState: CallState(peer: "test-peer", tableSeed: (1, 2), requiresAuthentication: token != nil),
                               maxFrameBytes: maxFrameBytes)
    }

    /// Hands `frame` to the dispatcher as the general decoder would.
    mutating func send(_ frame: Frame) {
        answer { harness, sink in
            harness.dispatcher.handle(frame, &harness.session.callState, &sink, topology: &harness.topology, now: harness.clock.nowMs())
        }
    }

    /// Hands `bytes` to the session, `chunk` bytes at a time; returns what it took.
    @discardableResult
    mutating func receive(_ bytes: [UInt8], chunk: Int = .max) -> FrameSession.Progress {
        var total = FrameSession.Progress()
        var start = 0
        while start < bytes.count {
            let end = start + min(chunk, bytes.count - start)
            answer { harness, sink in
                let progress = bytes[start..<end].withUnsafeBytes {
                    harness.session.receive($0, &harness.dispatcher, topology: &harness.topology, &sink)
                }
                total.frames += progress.frames
                total.fastPathHeartbeats += progress.fastPathHeartbeats
            }
            start = end
        }
        return total
    }

    /// Hands a heartbeat frame to the dispatcher as the fast path would; fails the test if the fast
    /// path would not read it.
    mutating func sendFast(_ frame: Frame, file: StaticString = #filePath, line: UInt = #line) {
        let body = frame.serializedBytes()
        guard let heartbeat = body.withUnsafeBytes({ HeartbeatFrame(scanning: $0) }) else {
            return XCTFail("not in the fast path's layout", file: file, line: line)
        }
        answer { harness, sink in
            let startedNs = harness.clock.monotonicNs()
            harness.dispatcher.heartbeat(HeartbeatInput(heartbeat), &harness.session.callState, &sink, topology: &harness.topology,
                                         startedNs: startedNs, now: harness.clock.ms(monotonicNs: startedNs))
        }
    }

    /// Runs `body` with the queue in a sink, as the server does, and keeps the actions.
    mutating func answer(_ body: (inout ProtocolHarness, inout ReplySink) -> Void) {
        var sink = ReplySink(outbound: [], written: clientReads ? read : 0, watchBatchAllowance: 0, closing: closing)
        swap(&sink.outbound, &queue)
        body(&self, &sink)
        swap(&sink.outbound, &queue)
        actions += sink.actions
        closing = sink.closing
    }

    /// The frames queued since the last call.
    mutating func replies(file: StaticString = #filePath, line: UInt = #line) -> [Frame] {
        var decoder = FrameDecoder(maximumFrameSize: 1 << 24)
        decoder.append(queue[read...])
        read = queue.count
        var frames: [Frame] = []
        do {
            while let frame = try decoder.next() { frames.append(frame) }
        } catch {
            XCTFail("queued bytes are not frames: \(error)", file: file, line: line)
        }
        XCTAssertEqual(decoder.bufferedByteCount, 0, "a partial frame was queued", file: file, line: line)
        return frames
    }

    /// The one frame queued since the last call.
    mutating func reply(file: StaticString = #filePath, line: UInt = #line) -> Frame? {
        let frames = replies(file: file, line: line)
        XCTAssertEqual(frames.count, 1, "replies: \(frames)", file: file, line: line)
        return frames.first
    }

    /// Registers a service on a fresh unary call; returns its id.
    mutating func register(_ name: String, call: UInt64 = 1, file: StaticString = #filePath, line: UInt = #line) -> String {
        send(Frame(callId: call, message: .registerServiceRequest(RegisterServiceRequest(serviceName: name, serviceType: .server))))
        guard case .registerServiceResponse(let response)? = reply(file: file, line: line)?.message, let id = response.handle?.serviceId else {
            XCTFail("registration failed", file: file, line: line)
            return ""
        }
        return id
    }

    static func heartbeat(_ call: UInt64, _ id: String, sequence: Int64, endOfStream: Bool = false) -> Frame {
        Frame(callId: call, endOfStream: endOfStream, message: .heartbeatRequest(HeartbeatRequest(serviceId: id, sequence: sequence)))
    }
}

/// Asserts `frame` ends call `call` with `code` and a message containing `fragment`.
func assertStatus(_ frame: Frame?, call: UInt64, _ code: StatusCode, _ fragment: String = "",
                  file: StaticString = #filePath, line: UInt = #line) {
    guard let frame else { return XCTFail("no frame", file: file, line: line) }
    XCTAssertEqual(frame.callId, call, file: file, line: line)
    XCTAssertTrue(frame.endOfStream, "the call did not end", file: file, line: line)
    XCTAssertEqual(frame.status?.statusCode, code, frame.status?.message ?? "no status", file: file, line: line)
    if !fragment.isEmpty {  // ("" is in no string, for `contains`)
        XCTAssertTrue(frame.status?.message.contains(fragment) ?? false, "\(frame.status?.message ?? "") lacks \(fragment)", file: file, line: line)
    }
}
