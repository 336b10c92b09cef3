import XCTest
@testable import TopologyWire

/// The server's heartbeat fast path against the general codec: `HeartbeatFrame(scanning:)` must give
/// exactly the frame `Frame(decoding:)` gives (its service id in lower case), or nil; `UUIDText.parse` must agree with a plain
/// per-character parser on every byte at every position; the pre-encoded replies must be the bytes
/// the general encoder writes.
final class HeartbeatFastPathTests: XCTestCase {
    // MARK: - UUIDText

    /// The obvious parser, the reference for the word-at-a-time one.
    private func referenceParse(_ bytes: [UInt8]) -> (UInt64, UInt64)? {
        guard bytes.count == 36 else { return nil }
        var words: [UInt64] = [0, 0]
        var digits = 0
        for (position, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(position) {
                guard byte == UInt8(ascii: "-") else { return nil }
                continue
            }
            let value: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            words[digits / 16] = words[digits / 16] << 4 | UInt64(value)
            digits += 1
        }
        return (words[0], words[1])
    }

    private func parse(_ bytes: [UInt8]) -> (UInt64, UInt64)? {
        bytes.withUnsafeBytes { UUIDText.parse($0).map { ($0.high, $0.low) } }
    }

    func testUUIDTextRoundTripsAndAgreesWithTheReferenceOnEveryByteAtEveryPosition() {
        var rng = SplitMix64(seed: 1)
        for _ in 0..<6 {
            let high = rng.next() as UInt64, low = rng.next() as UInt64
            let text = UUIDText.format(high: high, low: low)
            XCTAssertEqual(text, text.lowercased())
            let valid = Array(text.utf8)
            XCTAssertTrue(parse(valid).map { $0 == (high, low) } ?? false, text)
            XCTAssertTrue(parse(Array(text.uppercased().utf8)).map { $0 == (high, low) } ?? false)
            for position in 0..<36 {
                for byte in UInt8.min...UInt8.max {
                    var mutated = valid
                    mutated[position] = byte
                    let got = parse(mutated)
                    let expected = referenceParse(mutated)
                    if got?.0 != expected?.0 || got?.1 != expected?.1 {
                        return XCTFail("byte \(byte) at \(position) of \(text): \(String(describing: got)) vs \(String(describing: expected))")
                    }
                }
            }
        }
        XCTAssertEqual(UUIDText.format(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210), "01234567-89ab-cdef-fedc-ba9876543210")
        for wrongLength in ["", String(repeating: "0", count: 35), "00000000-0000-0000-0000-0000000000000"] {
            XCTAssertNil(UUIDText.parse(wrongLength))
        }
    }

    // MARK: - HeartbeatFrame

    private func randomHeartbeat(_ rng: inout SplitMix64) -> Frame {
        func pick<T>(_ values: [T]) -> T { values[Int(rng.next() % UInt64(values.count))] }
        let callId: UInt64 = pick([1, 2, 127, 128, 300, 1 << 35, .max, rng.next() | 1])
        let sequence: Int64 = pick([0, 1, 127, 128, -1, .min, .max, Int64(bitPattern: rng.next())])
        let metrics: ServiceMetrics? = pick([
            nil, ServiceMetrics(), ServiceMetrics(cpuPercent: 1.5, memoryBytes: 64 << 20),
            ServiceMetrics(cpuPercent: -0.0, memoryBytes: 0), ServiceMetrics(cpuPercent: 0, memoryBytes: .max),
            ServiceMetrics(cpuPercent: .infinity, memoryBytes: 1),
        ])
        let health: ApplicationHealth? = pick([
            nil, ApplicationHealth(), ApplicationHealth(state: .healthy), ApplicationHealth(state: .degraded, message: "probe-7"),
            ApplicationHealth(state: HealthState(rawValue: 99), message: "", errorCount: -3),
            ApplicationHealth(state: .unhealthy, message: "disk full: ünïcode ✓", errorCount: 12),
        ])
        let request = HeartbeatRequest(
            serviceId: UUIDText.format(high: rng.next(), low: rng.next()), sequence: sequence, metrics: metrics, health: health)
        return Frame(callId: callId, endOfStream: rng.next() % 4 == 0, message: .heartbeatRequest(request))
    }

    /// Scans `body`: nil, or exactly what the general decoder gives (which must then succeed), its
    /// service id in lower case (the case of a UUID means nothing; both paths take it as lower case).
    @discardableResult
    private func assertAgrees(_ body: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> Bool {
        let scanned = body.withUnsafeBytes { HeartbeatFrame(scanning: $0) }
        var decoded = try? Frame(serializedBytes: body)
        if case .heartbeatRequest(var request)? = decoded?.message {
            request.serviceId = request.serviceId.lowercased()
            decoded?.message = .heartbeatRequest(request)
        }
        if let scanned {
            // Compared by their full descriptions, which show every bit of a double (== would call
            // two NaNs from the same bytes different).
            XCTAssertEqual(String(reflecting: scanned.frame), decoded.map { String(reflecting: $0) },
                           "fast path disagrees on \(hex(body))", file: file, line: line)
        }
        return scanned != nil
    }

    func testEveryHeartbeatClientsWriteTakesTheFastPathAndGivesTheSameFrame() {
        var rng = SplitMix64(seed: 2)
        for _ in 0..<2_000 {
            let frame = randomHeartbeat(&rng)
            let body = frame.serializedBytes()
            let scanned = body.withUnsafeBytes { HeartbeatFrame(scanning: $0) }
            XCTAssertEqual(scanned?.frame, frame, hex(body))
            if case .heartbeatRequest(let request)? = frame.message, let scanned {
                XCTAssertEqual(scanned.serviceId, request.serviceId)
            }
        }
    }

    func testMutatedHeartbeatsEitherFallBackOrDecodeAsTheGeneralDecoderDoes() {
        var rng = SplitMix64(seed: 3)
        var taken = 0
        var mutations = 0
        for _ in 0..<60 {
            let body = randomHeartbeat(&rng).serializedBytes()
            // Every single-byte change at every position, every truncation, a byte inserted anywhere.
            for position in body.indices {
                for byte in [0x00, 0x01, 0x02, 0x08, 0x0A, 0x10, 0x12, 0x1A, 0x22, 0x62, 0x7F, 0x80, 0xFF, UInt8(truncatingIfNeeded: rng.next())] {
                    var mutated = body
                    mutated[position] = byte
                    if assertAgrees(mutated) { taken += 1 }
                    mutations += 1
                }
                assertAgrees(Array(body[..<position]))
                var inserted = body
                inserted.insert(UInt8(truncatingIfNeeded: rng.next()), at: position)
                assertAgrees(inserted)
                mutations += 2
            }
        }
        // Some mutations keep the layout (a changed digit of the id, of the sequence...).
        XCTAssertGreaterThan(taken, 0)
        XCTAssertLessThan(taken, mutations)
    }

    func testWhatTheFastPathLeavesToTheGeneralDecoder() {
        let id = "0123abcd-0000-4000-8000-00000000beef"
        let usual = Frame(callId: 4, message: .heartbeatRequest(HeartbeatRequest(serviceId: id, sequence: 9))).serializedBytes()
        XCTAssertTrue(assertAgrees(usual))
        // A padded varint is a value like any other (10 bytes at most, as the general decoder reads it).
        XCTAssertTrue(assertAgrees(bytes("08 84 00 62 2B 0A 24") + Array(id.utf8) + bytes("10 89 80 80 00")))
        // An id in upper or mixed case: the same id, read in lower case.
        for text in [id.uppercased(), "0123ABcd-0000-4000-8000-00000000BeEf"] {
            let body = Frame(callId: 4, message: .heartbeatRequest(HeartbeatRequest(serviceId: text, sequence: 9))).serializedBytes()
            XCTAssertTrue(assertAgrees(body), text)
            XCTAssertEqual(body.withUnsafeBytes { HeartbeatFrame(scanning: $0) }?.serviceId, id)
        }
        let fallBack: [(String, [UInt8])] = [
            ("id not a UUID", Frame(callId: 4, message: .heartbeatRequest(HeartbeatRequest(serviceId: "svc-1"))).serializedBytes()),
            ("empty id", Frame(callId: 4, message: .heartbeatRequest(HeartbeatRequest(sequence: 1))).serializedBytes()),
            ("call 0", Frame(callId: 0, message: .heartbeatRequest(HeartbeatRequest(serviceId: id))).serializedBytes()),
            ("status set", Frame(callId: 4, status: Status(code: .ok, message: ""), message: .heartbeatRequest(HeartbeatRequest(serviceId: id))).serializedBytes()),
            ("another RPC", Frame(callId: 4, message: .unregisterServiceRequest(UnregisterServiceRequest(serviceId: id))).serializedBytes()),
            ("unknown field at the end", usual + [0xA8, 0x1F, 0x01]),         // field 500, varint 1
            ("unknown field in the request", bytes("08 04 62 2A 0A 24") + Array(id.utf8) + bytes("10 09 38 01")),
            ("sequence before id", bytes("08 04 62 28 10 09 0A 24") + Array(id.utf8)),
            ("request twice (merged)", usual + Array(usual.dropFirst(2))),
            ("call id twice", bytes("08 01") + usual),
        ]
        for (what, body) in fallBack {
            XCTAssertFalse(assertAgrees(body), what)
        }
    }

    /// A HeartbeatRequest alone (a gRPC message): nil, or exactly what `HeartbeatRequest(serializedBytes:)`
    /// gives, its service id in lower case.
    @discardableResult
    private func assertRequestAgrees(_ body: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> Bool {
        let scanned = body.withUnsafeBytes { HeartbeatFrame(callId: 3, endOfStream: false, scanningRequest: $0) }
        let decoded = (try? HeartbeatRequest(serializedBytes: body)).map { request in
            var lowered = request
            lowered.serviceId = request.serviceId.lowercased()
            return lowered
        }
        if let scanned {
            XCTAssertEqual(String(reflecting: scanned.frame),
                           decoded.map { String(reflecting: Frame(callId: 3, message: .heartbeatRequest($0))) },
                           "fast path disagrees on \(hex(body))", file: file, line: line)
        }
        return scanned != nil
    }

    func testBareRequestsTakeTheFastPathOrFallBackAsTheGeneralDecoderDecides() {
        var rng = SplitMix64(seed: 6)
        var taken = 0
        var mutations = 0
        for k in 0..<300 {
            guard case .heartbeatRequest(let request)? = randomHeartbeat(&rng).message else { return XCTFail("not a heartbeat") }
            let body = request.serializedBytes()
            XCTAssertTrue(assertRequestAgrees(body), hex(body))
            guard k < 40 else { continue }
            for position in body.indices {
                for byte in [0x00, 0x08, 0x0A, 0x10, 0x1A, 0x22, 0x7F, 0x80, 0xFF, UInt8(truncatingIfNeeded: rng.next())] {
                    var mutated = body
                    mutated[position] = byte
                    if assertRequestAgrees(mutated) { taken += 1 }
                    mutations += 1
                }
                assertRequestAgrees(Array(body[..<position]))
            }
        }
        XCTAssertGreaterThan(taken, 0)
        XCTAssertLessThan(taken, mutations)
        // No 128-byte bound on a bare request: a long health message still takes the fast path.
        let long = HeartbeatRequest(serviceId: UUIDText.format(high: 7, low: 8), sequence: 1,
                                    health: ApplicationHealth(state: .degraded, message: String(repeating: "m", count: 100)))
        XCTAssertTrue(assertRequestAgrees(long.serializedBytes()))
        XCTAssertFalse(assertRequestAgrees(HeartbeatRequest(serviceId: "svc-1", sequence: 1).serializedBytes()), "not a UUID")
        XCTAssertFalse(assertRequestAgrees([]), "no service id")
    }

    func testGoldenFrameVectorsAgree() throws {
        let vectors = try GoldenVectorTests.loadVectors().filter { $0.message == Frame.protoMessageName }
        XCTAssertGreaterThan(vectors.count, 10)
        var taken = 0
        for vector in vectors where assertAgrees(vector.input) { taken += 1 }
        XCTAssertGreaterThan(taken, 0, "no golden heartbeat frame took the fast path")
    }

    func testNextHeartbeatTakesOnlyWholeHeartbeatsAndLeavesTheRestToNext() throws {
        var rng = SplitMix64(seed: 4)
        var stream: [UInt8] = []
        var frames: [Frame] = []
        for k in 0..<200 {
            let frame = k % 5 == 3
                ? Frame(callId: UInt64(k + 1), endOfStream: true, message: .getTopologyRequest(GetTopologyRequest()))
                : randomHeartbeat(&rng)
            frame.encodeLengthPrefixed(appendingTo: &stream)
            frames.append(frame)
        }
        // Fed one byte at a time, all at once, and in random pieces: the same frames in order.
        for pieces in [stream.map { [$0] }, [stream], randomPieces(of: stream, &rng)] {
            var decoder = FrameDecoder(maximumFrameSize: 1 << 20)
            var received: [Frame] = []
            var fast = 0
            for piece in pieces {
                decoder.append(piece)
                while true {
                    if let heartbeat = decoder.nextHeartbeat() {
                        received.append(heartbeat.frame)
                        fast += 1
                    } else if let frame = try decoder.next() {
                        received.append(frame)
                    } else {
                        break
                    }
                }
            }
            XCTAssertEqual(received, frames)
            XCTAssertEqual(fast, 160)
            XCTAssertEqual(decoder.bufferedByteCount, 0)
        }
        // A frame over the limit is not the fast path's to judge: next() throws for it.
        var decoder = FrameDecoder(maximumFrameSize: 10)
        decoder.append(stream)
        XCTAssertNil(decoder.nextHeartbeat())
        XCTAssertThrowsError(try decoder.next())
    }

    private func randomPieces(of bytes: [UInt8], _ rng: inout SplitMix64) -> [[UInt8]] {
        var pieces: [[UInt8]] = []
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + 1 + Int(rng.next() % 300))
            pieces.append(Array(bytes[start..<end]))
            start = end
        }
        return pieces
    }

    // MARK: - Pre-encoded replies

    func testHeartbeatRepliesAreTheBytesTheGeneralEncoderWrites() {
        var rng = SplitMix64(seed: 5)
        for epoch in ["", "0123456789abcdef0123456789abcdef", String(repeating: "e", count: 200)] {
            let encoder = HeartbeatReplyEncoder(serverEpoch: epoch)
            for _ in 0..<500 {
                let callId = [1, 127, 128, .max, rng.next() | 1][Int(rng.next() % 5)]
                let sequence = [0, 1, -1, .min, .max, Int64(bitPattern: rng.next())][Int(rng.next() % 6)]
                var fast: [UInt8] = [7]  // appended after what is there
                encoder.append(callId: callId, sequence: sequence, to: &fast)
                var general: [UInt8] = [7]
                Frame(callId: callId, message: .heartbeatResponse(HeartbeatResponse(sequence: sequence, acknowledged: true, serverEpoch: epoch)))
                    .encodeLengthPrefixed(appendingTo: &general)
                XCTAssertEqual(fast, general, "call \(callId), sequence \(sequence)")
            }
        }
    }

    func testPreencodedWatchFramesAreTheBytesTheGeneralEncoderWrites() {
        let node = ServiceNode(serviceId: UUIDText.format(high: 1, low: 2), serviceName: String(repeating: "n", count: 300), state: .active)
        for update in [TopologyUpdate(type: .nodeUpdated, node: node, revision: 9), TopologyUpdate(type: .progress, revision: 1)] {
            let member = WatchTopologyResponse(update: update).serializedBytes()
            for callId: UInt64 in [1, 200, .max] {
                var fast: [UInt8] = []
                member.withUnsafeBytes { tail in
                    PreencodedFrame.append(callId: callId, memberField: 21, head: UnsafeRawBufferPointer(start: nil, count: 0), tail: tail, to: &fast)
                }
                var general: [UInt8] = []
                Frame(callId: callId, message: .watchTopologyResponse(WatchTopologyResponse(update: update))).encodeLengthPrefixed(appendingTo: &general)
                XCTAssertEqual(fast, general)
            }
        }
    }
}
