import XCTest
@testable import TopologyHTTP2

/// Flow control both ways (RFC 9113 §6.9) and the peer's SETTINGS that shape what is sent.
final class HTTP2FlowControlTests: XCTestCase {
    private let ok = [HeaderField(":status", "200"), HeaderField("content-type", "application/grpc")]
    private let trailers = [HeaderField("grpc-status", "0")]

    private func smallWindows() -> HTTP2Limits {
        var limits = HTTP2Limits()
        limits.initialWindowSize = 65_535
        limits.maxFrameSize = 100_000
        return limits
    }

    /// DATA handed on is acknowledged once half a window has been: the client never stalls.
    func testWindowUpdatesAreSentAsDataIsHandedOn() {
        var client = TestClient(limits: smallWindows())
        XCTAssertEqual(client.serverPreface.count, 1, "no connection WINDOW_UPDATE when the window is the default")
        client.send(headersFrame(1, grpcRequest()))
        XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .data([UInt8](repeating: 1, count: 20_000), endStream: false))).count, 1)
        XCTAssertEqual(client.written(), [])
        // 20,000 + 12,512 + 256 padding octets = 32,768: over half of 65,535.
        XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .data([UInt8](repeating: 2, count: 12_512), endStream: false, padding: 256))),
                       [.data(stream: 1, bytes: [UInt8](repeating: 2, count: 12_512), endStream: false)])
        XCTAssertEqual(client.written(), [HTTP2Frame(stream: 0, .windowUpdate(increment: 32_768)), HTTP2Frame(stream: 1, .windowUpdate(increment: 32_768))])
        // A long upload goes on for ever: 100 more rounds, never an error.
        for _ in 0..<100 {
            XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .data([UInt8](repeating: 3, count: 40_000), endStream: false))).count, 1)
        }
        XCTAssertFalse(client.connection.isClosed)
    }

    func testDataOverTheConnectionWindowIsAConnectionError() {
        var client = TestClient(limits: smallWindows())
        client.send(headersFrame(1, grpcRequest()))
        XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .data([UInt8](repeating: 0, count: 65_536), endStream: false))),
                       [.connectionError(code: .flowControlError, message: "65536 bytes of DATA on stream 1 overrun the connection's window (65535 bytes left)")])
    }

    func testDataOverAStreamWindowIsAStreamError() {
        var client = TestClient(limits: smallWindows())
        client.send(headersFrame(1, grpcRequest()), headersFrame(3, grpcRequest()))
        client.send(HTTP2Frame(stream: 1, .data([UInt8](repeating: 0, count: 30_000), endStream: false)),
                    HTTP2Frame(stream: 3, .data([UInt8](repeating: 0, count: 30_000), endStream: false)))
        // The connection window was opened again (60,000 acknowledged); stream 1's has 35,535 left.
        XCTAssertEqual(client.written(), [HTTP2Frame(stream: 0, .windowUpdate(increment: 60_000))])
        XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .data([UInt8](repeating: 0, count: 40_000), endStream: false))),
                       [.streamReset(stream: 1, code: .flowControlError)])
        // The dropped bytes still count for the connection, and are acknowledged.
        XCTAssertEqual(client.written(), [HTTP2Frame(stream: 0, .windowUpdate(increment: 40_000)), reset(1, .flowControlError)])
        XCTAssertFalse(client.connection.isClosed)
    }

    /// A 1 MB response over the default 65,535-byte windows goes out as the client opens them.
    func testLargeBodyIsWrittenAsWindowsOpen() {
        var client = TestClient()
        client.send(headersFrame(1, grpcRequest(), endStream: true))
        let body = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        client.connection.sendHeaders(ok, stream: 1, endStream: false)
        client.connection.sendData(body, stream: 1, endStream: false)
        client.connection.sendTrailers(trailers, stream: 1)
        var received: [UInt8] = []
        var frames = client.written()
        XCTAssertEqual(frames.first, headersFrame(1, ok))
        frames.removeFirst()
        var rounds = 0
        while true {
            var granted = 0
            for frame in frames {
                guard case let .data(bytes, endStream, _) = frame.payload else {
                    XCTAssertEqual(frame, headersFrame(1, trailers, endStream: true), "trailers come last")
                    continue
                }
                XCTAssertLessThanOrEqual(bytes.count, 16_384, "the peer's max frame size")
                XCTAssertFalse(endStream, "trailers end the stream")
                received += bytes
                granted += bytes.count
            }
            let inFlight = received.count - rounds * 50_000
            XCTAssertLessThanOrEqual(inFlight, 65_535, "never past the window")
            if frames.last?.typeCode == HTTP2FrameType.headers.rawValue { break }
            XCTAssertEqual(client.connection.queuedBytes(stream: 1), body.count - received.count)
            XCTAssertFalse(frames.isEmpty, "stalled with \(received.count) bytes sent")
            if frames.isEmpty { break }
            // The client reads 50,000 bytes and opens both windows by that much.
            rounds += 1
            XCTAssertEqual(client.send(HTTP2Frame(stream: 0, .windowUpdate(increment: 50_000)), HTTP2Frame(stream: 1, .windowUpdate(increment: 50_000))), [])
            frames = client.written()
        }
        XCTAssertEqual(received, body)
        XCTAssertEqual(rounds, 19, "65,535 + 19 × 50,000 ≥ 1,000,000")
        XCTAssertEqual(client.connection.openStreamCount, 0)
    }

    func testPeerMaxFrameSizeIsHonouredForDataAndHeaders() {
        var client = TestClient()
        client.send(HTTP2Frame(stream: 0, .settings([HTTP2Setting(HTTP2Setting.maxFrameSize, 20_000), HTTP2Setting(HTTP2Setting.initialWindowSize, 1 << 20)])),
                    HTTP2Frame(stream: 0, .windowUpdate(increment: 1 << 20)), headersFrame(1, grpcRequest(), endStream: true))
        _ = client.written()
        client.connection.sendHeaders([HeaderField(":status", "200"), HeaderField("x-long", String(repeating: "v", count: 45_000))], stream: 1, endStream: false)
        client.connection.sendData([UInt8](repeating: 9, count: 50_000), stream: 1, endStream: true)
        let frames = client.written()
        XCTAssertEqual(frames.map(\.typeCode), [1, 9, 9, 0, 0, 0])
        XCTAssertEqual(frames.map { $0.encoded.count - 9 }, [20_000, 20_000, 5_013, 20_000, 20_000, 10_000])
        XCTAssertEqual(frames.last, HTTP2Frame(stream: 1, .data([UInt8](repeating: 9, count: 10_000), endStream: true)))
    }

    /// §6.9.2: a new SETTINGS_INITIAL_WINDOW_SIZE moves every open stream's window by the difference.
    func testInitialWindowChangeMovesOpenStreamsWindows() {
        var client = TestClient()
        client.send(headersFrame(1, grpcRequest(), endStream: true), HTTP2Frame(stream: 0, .windowUpdate(increment: 1 << 20)))
        client.connection.sendHeaders(ok, stream: 1, endStream: false)
        _ = client.written()
        client.connection.sendData([UInt8](repeating: 1, count: 200_000), stream: 1, endStream: true)
        XCTAssertEqual(client.written().reduce(0) { $0 + $1.encoded.count - 9 }, 65_535)
        // Down by 10,000: the window is -10,000; a WINDOW_UPDATE of 10,000 lets nothing out yet.
        client.send(HTTP2Frame(stream: 0, .settings([HTTP2Setting(HTTP2Setting.initialWindowSize, 55_535)])), HTTP2Frame(stream: 1, .windowUpdate(increment: 10_000)))
        XCTAssertEqual(client.written(), [HTTP2Frame(stream: 0, .settingsAck)])
        // Up to 100,000: 44,465 more.
        client.send(HTTP2Frame(stream: 0, .settings([HTTP2Setting(HTTP2Setting.initialWindowSize, 100_000)])))
        let frames = client.written()
        XCTAssertEqual(frames.first, HTTP2Frame(stream: 0, .settingsAck))
        XCTAssertEqual(frames.dropFirst().reduce(0) { $0 + $1.encoded.count - 9 }, 44_465)
        XCTAssertEqual(client.connection.queuedBytes(stream: 1), 200_000 - 65_535 - 44_465)
    }

    func testWindowUpdateErrors() {
        var client = TestClient()
        client.send(headersFrame(1, grpcRequest()), headersFrame(3, grpcRequest()))
        XCTAssertEqual(client.send(HTTP2Frame(stream: 1, .windowUpdate(increment: 0))), [.streamReset(stream: 1, code: .protocolError)])
        XCTAssertEqual(client.send(HTTP2Frame(stream: 3, .windowUpdate(increment: 0x7fff_ffff))), [.streamReset(stream: 3, code: .flowControlError)])
        XCTAssertEqual(client.written(), [reset(1, .protocolError), reset(3, .flowControlError)])
        XCTAssertEqual(client.send(HTTP2Frame(stream: 0, .windowUpdate(increment: 0x7fff_ffff - 65_535 + 1))),
                       [.connectionError(code: .flowControlError, message: "a WINDOW_UPDATE of 2147418113 takes the connection's window past 2^31-1 (§6.9.1)")])

        client = TestClient()
        client.send(headersFrame(1, grpcRequest()), HTTP2Frame(stream: 1, .windowUpdate(increment: 0x7fff_ffff - 65_535)))
        XCTAssertEqual(client.send(HTTP2Frame(stream: 0, .settings([HTTP2Setting(HTTP2Setting.initialWindowSize, 65_536)]))),
                       [.connectionError(code: .flowControlError, message: "SETTINGS_INITIAL_WINDOW_SIZE takes stream 1's window past 2^31-1 (§6.9.2)")])
    }

    /// DATA leaves the queues only as the socket takes bytes: a client that grants huge windows and
    /// does not read leaves the data counted in `queuedBytes`, where the application sees it.
    func testDataLeavesTheQueueOnlyAsBatchesAreTaken() {
        var limits = HTTP2Limits()
        limits.outboundBatchSize = 20_000
        var client = TestClient(limits: limits)
        client.send(HTTP2Frame(stream: 0, .settings([HTTP2Setting(HTTP2Setting.initialWindowSize, 0x7fff_ffff)])),
                    HTTP2Frame(stream: 0, .windowUpdate(increment: 0x7fff_ffff - 65_535)),
                    headersFrame(1, grpcRequest(), endStream: true), headersFrame(3, grpcRequest(), endStream: true))
        client.connection.sendHeaders(ok, stream: 1, endStream: false)
        client.connection.sendHeaders(ok, stream: 3, endStream: false)
        _ = client.written()
        client.connection.sendData([UInt8](repeating: 1, count: 100_000), stream: 1, endStream: true)
        client.connection.sendData([UInt8](repeating: 3, count: 100_000), stream: 3, endStream: true)
        XCTAssertTrue(client.connection.hasOutbound)
        let frames = client.written()
        // Streams in turn, 16,384 each, then what is left of the batch.
        XCTAssertEqual(frames.map(\.stream), [1, 3])
        XCTAssertEqual(frames.map { $0.encoded.count - 9 }, [16_384, 3_616])
        XCTAssertEqual(client.connection.queuedBytes(stream: 1), 100_000 - 16_384)
        XCTAssertEqual(client.connection.queuedBytes(stream: 3), 100_000 - 3_616)
        var total = 20_000
        while client.connection.hasOutbound { total += client.written().reduce(0) { $0 + $1.encoded.count - 9 } }
        XCTAssertEqual(total, 200_000)
        XCTAssertEqual(client.connection.openStreamCount, 0)
    }

    func testCallsForGoneStreamsDoNothing() {
        var client = TestClient()
        client.connection.sendHeaders(ok, stream: 1, endStream: false)
        client.connection.sendData([1], stream: 9, endStream: true)
        client.connection.sendTrailers(trailers, stream: 5)
        client.connection.resetStream(7, code: .cancel)
        XCTAssertFalse(client.connection.hasOutbound)
        XCTAssertEqual(client.written(), [])
    }
}
