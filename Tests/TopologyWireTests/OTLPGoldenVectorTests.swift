import Foundation
import XCTest
@testable import TopologyWire

/// The OTLP golden vectors of `Schema/testdata/otlp/`, encoded by the official opentelemetry-proto
/// package (`scripts/generate_otlp_vectors.py`): each decodable vector's bytes and its OTLP JSON both
/// decode to what the official library parsed (`value`); each error vector throws the named error.
final class OTLPGoldenVectorTests: XCTestCase {
    struct Vector {
        var file: String
        var description: String
        var input: [UInt8]
        var json: String?
        var value: Any?
        var error: String?
    }

    static let directory = GoldenVectorTests.testdata.appendingPathComponent("otlp")
    static let limits = OTLPDecodingLimits(maximumBytes: 1 << 20)

    static func loadVectors() throws -> [Vector] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { name in
            let data = try Data(contentsOf: directory.appendingPathComponent(name))
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let description = object["description"] as? String, let hex = object["hex"] as? String
            else { throw GoldenVectorTests.VectorFileError(file: name, reason: "missing description or hex") }
            return Vector(file: name, description: description, input: bytes(hex), json: object["json"] as? String,
                          value: object["value"], error: object["error"] as? String)
        }
    }

    func testTheVectorsAreThere() throws {
        let vectors = try Self.loadVectors()
        XCTAssertGreaterThanOrEqual(vectors.filter { $0.error == nil }.count, 5)
        XCTAssertEqual(Set(vectors.compactMap(\.error)), ["truncated", "too_deep", "invalid_id"])
    }

    func testDecodableVectorsMatchTheOfficialLibrary() throws {
        let vectors = try Self.loadVectors().filter { $0.error == nil }
        for vector in vectors {
            let fromProtobuf = try OTLPTraceRequest(protobuf: vector.input, limits: Self.limits)
            let difference = GoldenVectorTests.jsonDifference(Self.officialForm(fromProtobuf), vector.value!)
            XCTAssertNil(difference, "\(vector.file) (protobuf): \(vector.description)")
            let fromJSON = try OTLPTraceRequest(json: Array(vector.json!.utf8), limits: Self.limits)
            XCTAssertEqual(fromJSON, fromProtobuf, "\(vector.file) (JSON)")
        }
        XCTAssertGreaterThanOrEqual(vectors.count, 5)
    }

    func testErrorVectorsThrowTheNamedError() throws {
        for vector in try Self.loadVectors().filter({ $0.error != nil }) {
            XCTAssertThrowsError(try OTLPTraceRequest(protobuf: vector.input, limits: Self.limits), vector.file) { error in
                XCTAssertEqual(Self.kind(of: error), vector.error, "\(vector.file): \(vector.description): \(error)")
            }
        }
    }

    /// The spot checks that say the comparison above reads what it should.
    func testSDKLikeVectorDecodesToTheseValues() throws {
        let vector = try XCTUnwrap(Self.loadVectors().first { $0.file == "sdk_like.json" })
        let request = try OTLPTraceRequest(protobuf: vector.input, limits: Self.limits)
        let resource = try XCTUnwrap(request.resourceSpans.first)
        XCTAssertEqual(resource.resourceAttributes.value("service.name")?.string, "checkout")
        let span = try XCTUnwrap(resource.scopeSpans.first?.spans.first)
        XCTAssertEqual(span.kind, .client)
        XCTAssertEqual(span.traceID, Array(1...16))
        XCTAssertEqual(span.endTimeUnixNano - span.startTimeUnixNano, 42_500_000)
        XCTAssertEqual(span.status, OTLPSpanStatus(code: .error, message: "502 Bad Gateway"))
        XCTAssertEqual(span.attributes.value("server.port")?.int, 8443)
        XCTAssertEqual(span.attributes.value("payload")?.kind, .bytes([0, 0xFF, 0x6F, 0x6B]))
        XCTAssertEqual(span.attributes.value("tags")?.kind, .array([OTLPAnyValue(.string("a")), OTLPAnyValue(.int(-1))]))
        XCTAssertEqual(request.spanCount, 1)
    }

    // MARK: - The official library's form

    static func kind(of error: Error) -> String {
        switch error as? OTLPDecodingError {
        case .malformed(.truncated)?: return "truncated"
        case .malformed(.tooDeep)?: return "too_deep"
        case .invalidID?: return "invalid_id"
        default: return "\(error)"
        }
    }

    /// The request as `MessageToDict` prints it (enums as numbers, ids in hex), for the fields
    /// Topology reads: defaults left out, 64-bit integers as strings, bytes in base64.
    static func officialForm(_ request: OTLPTraceRequest) -> [String: Any] {
        func list(_ key: String, _ items: [Any], into object: inout [String: Any]) {
            if !items.isEmpty { object[key] = items }
        }
        func anyValue(_ value: OTLPAnyValue) -> [String: Any] {
            switch value.kind {
            case nil: return [:]
            case let .string(text)?: return ["stringValue": text]
            case let .bool(flag)?: return ["boolValue": flag]
            case let .int(number)?: return ["intValue": String(number)]
            case let .double(number)?: return ["doubleValue": number]
            case let .bytes(bytes)?: return ["bytesValue": Data(bytes).base64EncodedString()]
            case let .array(values)?:
                var array: [String: Any] = [:]
                list("values", values.map(anyValue), into: &array)
                return ["arrayValue": array]
            case let .keyValueList(pairs)?:
                var kvlist: [String: Any] = [:]
                list("values", pairs.map(keyValue), into: &kvlist)
                return ["kvlistValue": kvlist]
            }
        }
        func keyValue(_ pair: OTLPKeyValue) -> [String: Any] {
            var object: [String: Any] = [:]
            if !pair.key.isEmpty { object["key"] = pair.key }
            if pair.value.kind != nil { object["value"] = anyValue(pair.value) }
            return object
        }
        func hex(_ id: [UInt8]) -> String { id.map { String(format: "%02x", $0) }.joined() }
        func span(_ span: OTLPSpan) -> [String: Any] {
            var object: [String: Any] = [:]
            if !span.traceID.isEmpty { object["traceId"] = hex(span.traceID) }
            if !span.spanID.isEmpty { object["spanId"] = hex(span.spanID) }
            if !span.parentSpanID.isEmpty { object["parentSpanId"] = hex(span.parentSpanID) }
            if !span.name.isEmpty { object["name"] = span.name }
            if span.kind != .unspecified { object["kind"] = Int(span.kind.rawValue) }
            if span.startTimeUnixNano != 0 { object["startTimeUnixNano"] = String(span.startTimeUnixNano) }
            if span.endTimeUnixNano != 0 { object["endTimeUnixNano"] = String(span.endTimeUnixNano) }
            list("attributes", span.attributes.map(keyValue), into: &object)
            if let status = span.status {
                var statusObject: [String: Any] = [:]
                if !status.message.isEmpty { statusObject["message"] = status.message }
                if status.code != .unset { statusObject["code"] = Int(status.code.rawValue) }
                object["status"] = statusObject
            }
            return object
        }
        var root: [String: Any] = [:]
        list("resourceSpans", request.resourceSpans.map { resource -> Any in
            var object: [String: Any] = [:]
            if !resource.resourceAttributes.isEmpty {
                object["resource"] = ["attributes": resource.resourceAttributes.map(keyValue)]
            }
            list("scopeSpans", resource.scopeSpans.map { scope -> Any in
                var scopeObject: [String: Any] = [:]
                list("spans", scope.spans.map(span), into: &scopeObject)
                return scopeObject
            }, into: &object)
            return object
        }, into: &root)
        return root
    }
}
