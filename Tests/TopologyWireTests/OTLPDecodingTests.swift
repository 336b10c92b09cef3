import XCTest
@testable import TopologyWire

/// The OTLP decoder's limits and its JSON mapping, on requests written here; the official library's
/// view of real requests is in OTLPGoldenVectorTests.
final class OTLPDecodingTests: XCTestCase {
    static let limits = OTLPDecodingLimits(maximumBytes: 1 << 20)

    static func vectorBytes(_ name: String) throws -> [UInt8] {
        try XCTUnwrap(OTLPGoldenVectorTests.loadVectors().first { $0.file == name }).input
    }

    /// Every prefix of a real request either decodes (it ends between fields) or throws
    /// `OTLPDecodingError`, and a cut inside the span is always an error.
    func testEveryTruncationIsAnErrorOrAWholePrefix() throws {
        let request = try Self.vectorBytes("sdk_like.json")
        var errors = 0
        for length in 0..<request.count {
            do {
                _ = try OTLPTraceRequest(protobuf: Array(request[..<length]), limits: Self.limits)
            } catch is OTLPDecodingError {
                errors += 1
            }
        }
        // The request is one ResourceSpans field: only the empty prefix ends on a field boundary.
        XCTAssertEqual(errors, request.count - 1)
    }

    func testTheBodyLimitIsCheckedFirst() {
        XCTAssertThrowsError(try OTLPTraceRequest(protobuf: [UInt8](repeating: 0, count: 11),
                                                  limits: OTLPDecodingLimits(maximumBytes: 10))) { error in
            XCTAssertEqual(error as? OTLPDecodingError, .tooLarge(size: 11, limit: 10))
        }
        XCTAssertThrowsError(try OTLPTraceRequest(json: Array("{}          ".utf8),
                                                  limits: OTLPDecodingLimits(maximumBytes: 10))) { error in
            XCTAssertEqual(error as? OTLPDecodingError, .json(.syntax(.tooLarge(size: 12, limit: 10))))
        }
    }

    /// A huge attribute array of empty values: two bytes each on the wire, refused at the element
    /// limit, before the array grows past it.
    func testElementsAreCountedAcrossAllLists() throws {
        let values = [UInt8](repeating: 0, count: 1000).flatMap { _ in [0x0A, 0x00] as [UInt8] }  // ArrayValue.values = {}
        let request = Self.request(attribute: [0x2A] + Self.varint(values.count) + values)
        XCTAssertNoThrow(try OTLPTraceRequest(protobuf: request, limits: OTLPDecodingLimits(maximumBytes: 1 << 20)))
        XCTAssertThrowsError(try OTLPTraceRequest(
            protobuf: request, limits: OTLPDecodingLimits(maximumBytes: 1 << 20, maximumElements: 1003))) { error in
            guard case .malformed(.tooManyElements(limit: 1003, _))? = error as? OTLPDecodingError else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue("\(error)".contains("export smaller batches"), "\(error)")
        }
    }

    func testUnknownFieldsAndWireTypesAreSkipped() throws {
        // Span with field 99 (varint), name given as a varint (wrong wire type: unknown), then a name.
        let span: [UInt8] = [0x98, 0x06, 0x01, 0x28, 0x05, 0x2A, 0x01, 0x78]
        let request = try OTLPTraceRequest(protobuf: Self.wrap(span: span), limits: Self.limits)
        XCTAssertEqual(request.resourceSpans.first?.scopeSpans.first?.spans.first?.name, "x")
    }

    func testInvalidUTF8InANameIsRefused() {
        let span: [UInt8] = [0x2A, 0x02, 0xC3, 0x28]
        XCTAssertThrowsError(try OTLPTraceRequest(protobuf: Self.wrap(span: span), limits: Self.limits)) { error in
            guard case .malformed(.invalidUTF8)? = error as? OTLPDecodingError else { return XCTFail("\(error)") }
        }
    }

    // MARK: - JSON

    func testJSONIdsAreHexAndNumbersMayBeStrings() throws {
        let json = #"""
        {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}}]},
          "scopeSpans":[{"scope":{"name":"ignored"},"spans":[{"traceId":"0102030405060708090A0B0C0D0E0F10",
          "spanId":"a1a2a3a4a5a6a7a8","name":"GET","kind":3,"startTimeUnixNano":"1000","endTimeUnixNano":3000,
          "status":{"code":"STATUS_CODE_ERROR"},"flags":1,"futureField":{"x":[1]},
          "attributes":[{"key":"b","value":{"bytesValue":"AP9vaw=="}},{"key":"u","value":{"bytesValue":"AP9vaw"}}]}]}]}]}
        """#
        let request = try OTLPTraceRequest(json: Array(json.utf8), limits: Self.limits)
        let span = try XCTUnwrap(request.resourceSpans.first?.scopeSpans.first?.spans.first)
        XCTAssertEqual(span.traceID, Array(1...16))
        XCTAssertEqual(span.spanID, [0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8])
        XCTAssertEqual(span.kind, .client)
        XCTAssertEqual(span.endTimeUnixNano - span.startTimeUnixNano, 2000)
        XCTAssertEqual(span.status?.code, .error)
        XCTAssertEqual(span.attributes.map(\.value.kind), [.bytes([0, 0xFF, 0x6F, 0x6B]), .bytes([0, 0xFF, 0x6F, 0x6B])])
    }

    func testJSONErrorsNameTheField() {
        let cases: [(String, String)] = [
            (#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz0"}]}]}]}"#,
             "resourceSpans[0].scopeSpans[0].spans[0].traceId: expected an even number of hex digits"),
            (#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"0102"}]}]}]}"#,
             "span_id is 2 bytes; OTLP ids are 8 bytes (16 hex digits in JSON)"),
            (#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":-1}]}]}]}"#,
             "startTimeUnixNano: -1 is out of range for uint64"),
            (#"{"resourceSpans":{"x":1}}"#, "resourceSpans: expected an array, found an object"),
            (#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"value":{"bytesValue":"a"}}]}]}]}]}"#,
             "bytesValue: expected base64"),
            (#"{"resourceSpans":[}"#, "invalid JSON"),
        ]
        for (json, expected) in cases {
            XCTAssertThrowsError(try OTLPTraceRequest(json: Array(json.utf8), limits: Self.limits), json) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(json): \(error)")
            }
        }
    }

    /// 30 levels of arrays: 100 levels of JSON, over the parser's bound (twice the message depth).
    func testDeepJSONIsRefused() {
        let depth = 30
        let value = String(repeating: #"{"arrayValue":{"values":["#, count: depth) + "{}" + String(repeating: "]}}", count: depth)
        let json = #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":"# + value + "}]}]}]}]}"
        XCTAssertThrowsError(try OTLPTraceRequest(json: Array(json.utf8), limits: Self.limits)) { error in
            guard case .json(.syntax(.tooDeep(limit: 64, _)))? = error as? OTLPDecodingError else { return XCTFail("\(error)") }
        }
    }

    func testBase64() {
        XCTAssertEqual(Base64.decode(""), [])
        XCTAssertEqual(Base64.decode("Zm9vYmFy"), Array("foobar".utf8))
        XCTAssertEqual(Base64.decode("Zm9vYg=="), Array("foob".utf8))
        XCTAssertEqual(Base64.decode("Zm9vYg"), Array("foob".utf8))
        XCTAssertEqual(Base64.decode("-_8="), [0xFB, 0xFF])
        XCTAssertEqual(Base64.decode("+/8="), [0xFB, 0xFF])
        XCTAssertNil(Base64.decode("Zm9vY"))
        XCTAssertNil(Base64.decode("Zm9v===="))
        XCTAssertNil(Base64.decode("Zm=9v"))
        XCTAssertNil(Base64.decode("Zm 9v"))
    }

    func testTheResponseEncodesAsOTLPSays() {
        let response = OTLPTraceResponse(partialSuccess: OTLPPartialSuccess(rejectedSpans: 3, errorMessage: "no"))
        XCTAssertEqual(response.serializedBytes(), [0x0A, 0x06, 0x08, 0x03, 0x12, 0x02, 0x6E, 0x6F])
        XCTAssertEqual(response.jsonString(), #"{"partialSuccess":{"rejectedSpans":"3","errorMessage":"no"}}"#)
        XCTAssertEqual(OTLPTraceResponse().serializedBytes(), [])
    }

    // MARK: - Building requests

    static func varint(_ value: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        var value = UInt64(value)
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        return bytes + [UInt8(value)]
    }

    static func field(_ number: Int, _ payload: [UInt8]) -> [UInt8] {
        varint(number << 3 | 2) + varint(payload.count) + payload
    }

    /// A request of one span with the given encoded fields.
    static func wrap(span: [UInt8]) -> [UInt8] {
        field(1, field(2, field(2, span)))
    }

    /// A request of one span with one attribute "k" whose AnyValue is `value`.
    static func request(attribute value: [UInt8]) -> [UInt8] {
        wrap(span: field(9, field(1, [0x6B]) + field(2, value)))
    }
}
