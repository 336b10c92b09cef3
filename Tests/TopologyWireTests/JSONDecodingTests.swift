@testable import TopologyWire
import XCTest

/// Proto3 JSON → request messages: what each kind of field accepts, and every error with its path.
final class JSONDecodingTests: XCTestCase {
    private let options = JSONDecodingOptions(maximumSize: 1 << 16)

    private func decode<M: JSONDecodableMessage>(_ type: M.Type, _ text: String,
                                                 _ options: JSONDecodingOptions? = nil) throws -> M {
        try M(jsonUTF8: Array(text.utf8), options: options ?? self.options)
    }

    private func assertFails<M: JSONDecodableMessage>(
        _ type: M.Type, _ text: String, _ expected: JSONDecodingError, _ options: JSONDecodingOptions? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try decode(type, text, options), file: file, line: line) { error in
            XCTAssertEqual(error as? JSONDecodingError, expected, file: file, line: line)
        }
    }

    func testFieldsByJSONNameOrProtoName() throws {
        let camel = try decode(RegisterServiceRequest.self, #"""
            {"serviceName": "checkout", "serviceType": "SERVICE_TYPE_SERVER", "language": 9,
             "version": "1.2", "metadata": {"versionHash": "abc", "region": "eu"}, "serviceId": "id-1"}
            """#)
        let snake = try decode(RegisterServiceRequest.self, #"""
            {"service_name": "checkout", "service_type": 1, "language": "SERVICE_LANGUAGE_SWIFT",
             "version": "1.2", "metadata": {"version_hash": "abc", "region": "eu"}, "service_id": "id-1"}
            """#)
        let expected = RegisterServiceRequest(
            serviceName: "checkout", serviceType: .server, language: .swift, version: "1.2",
            metadata: ServiceMetadata(region: "eu", versionHash: "abc"), serviceId: "id-1")
        XCTAssertEqual(camel, expected)
        XCTAssertEqual(snake, expected)
    }

    func testEmptyObjectIsTheDefaultOfEveryRequest() throws {
        XCTAssertEqual(try decode(RegisterServiceRequest.self, "{}"), RegisterServiceRequest())
        XCTAssertEqual(try decode(HeartbeatRequest.self, " { } "), HeartbeatRequest())
        XCTAssertEqual(try decode(ReportActivityRequest.self, "{}"), ReportActivityRequest())
        XCTAssertEqual(try decode(UnregisterServiceRequest.self, "{}"), UnregisterServiceRequest())
        XCTAssertEqual(try decode(GetTopologyRequest.self, "{}"), GetTopologyRequest())
        XCTAssertEqual(try decode(WatchTopologyRequest.self, "{}"), WatchTopologyRequest())
    }

    func testNullMeansTheDefault() throws {
        let request = try decode(RegisterServiceRequest.self,
                                 #"{"serviceName": null, "serviceType": null, "version": null, "metadata": null}"#)
        XCTAssertEqual(request, RegisterServiceRequest())
        XCTAssertNil(request.version)
        let query = try decode(GetTopologyRequest.self, #"{"query": {"serviceNames": null, "states": null}}"#)
        XCTAssertEqual(query, GetTopologyRequest(query: TopologyQuery()))
    }

    func testOptionalFieldsSetToTheirDefaultArePresent() throws {
        let activity = try decode(ReportActivityRequest.self,
                                  #"{"timestampMs": "0", "latencyMs": 0, "success": false, "method": ""}"#)
        XCTAssertEqual(activity.timestampMs, 0)
        XCTAssertEqual(activity.latencyMs, 0)
        XCTAssertEqual(activity.success, false)
        XCTAssertEqual(activity.method, "")
    }

    func testSixtyFourBitIntegersAsStringsOrNumbers() throws {
        XCTAssertEqual(try decode(HeartbeatRequest.self, #"{"sequence": "9007199254740993"}"#).sequence, 9_007_199_254_740_993)
        XCTAssertEqual(try decode(HeartbeatRequest.self, #"{"sequence": 9007199254740993}"#).sequence, 9_007_199_254_740_993)
        XCTAssertEqual(try decode(HeartbeatRequest.self, #"{"sequence": "-9223372036854775808"}"#).sequence, Int64.min)
        XCTAssertEqual(try decode(HeartbeatRequest.self, #"{"sequence": "1e2"}"#).sequence, 100)
        XCTAssertEqual(try decode(HeartbeatRequest.self, #"{"sequence": 1.0}"#).sequence, 1)
        XCTAssertEqual(try decode(HeartbeatRequest.self, #"{"metrics": {"memoryBytes": "18446744073709551615"}}"#)
            .metrics?.memoryBytes, UInt64.max)
        XCTAssertEqual(try decode(HeartbeatRequest.self, #"{"metrics": {"memoryBytes": -0}}"#).metrics?.memoryBytes, 0)
        XCTAssertEqual(try decode(WatchTopologyRequest.self, #"{"resumeAfterRevision": "0"}"#).resumeAfterRevision, 0)
    }

    func testThirtyTwoBitIntegers() throws {
        XCTAssertEqual(try decode(ReportActivityRequest.self, #"{"latencyMs": -2147483648}"#).latencyMs, Int32.min)
        XCTAssertEqual(try decode(ReportActivityRequest.self, #"{"batchSize": "2147483647"}"#).batchSize, Int32.max)
        XCTAssertEqual(try decode(ReportActivityRequest.self, #"{"errorCount": 2.0e1}"#).errorCount, 20)
        let histogram = try decode(ReportActivityRequest.self,
                                   #"{"latencyHistogram": {"indexes": [-2147483648, 0, 7, "2147483647"], "counts": ["1", 2], "zeroCount": "3"}}"#)
        XCTAssertEqual(histogram.latencyHistogram, LatencyHistogram(indexes: [Int32.min, 0, 7, Int32.max], counts: [1, 2], zeroCount: 3))
    }

    func testIntegerErrors() {
        assertFails(ReportActivityRequest.self, #"{"latencyMs": 2147483648}"#,
                    .outOfRange(path: "reportActivityRequest.latencyMs", text: "2147483648", type: "int32"))
        assertFails(ReportActivityRequest.self, #"{"latencyMs": -2147483649}"#,
                    .outOfRange(path: "reportActivityRequest.latencyMs", text: "-2147483649", type: "int32"))
        assertFails(HeartbeatRequest.self, #"{"sequence": "9223372036854775808"}"#,
                    .outOfRange(path: "heartbeatRequest.sequence", text: "9223372036854775808", type: "int64"))
        assertFails(HeartbeatRequest.self, #"{"sequence": 1e400}"#,
                    .outOfRange(path: "heartbeatRequest.sequence", text: "1e400", type: "int64"))
        assertFails(HeartbeatRequest.self, #"{"metrics": {"memoryBytes": -1}}"#,
                    .outOfRange(path: "heartbeatRequest.metrics.memoryBytes", text: "-1", type: "uint64"))
        assertFails(HeartbeatRequest.self, #"{"metrics": {"memoryBytes": "18446744073709551616"}}"#,
                    .outOfRange(path: "heartbeatRequest.metrics.memoryBytes", text: "18446744073709551616", type: "uint64"))
        assertFails(HeartbeatRequest.self, #"{"sequence": 1.5}"#,
                    .notAnInteger(path: "heartbeatRequest.sequence", text: "1.5"))
        assertFails(HeartbeatRequest.self, #"{"metrics": {"memoryBytes": 0.5}}"#,
                    .notAnInteger(path: "heartbeatRequest.metrics.memoryBytes", text: "0.5"))
        assertFails(HeartbeatRequest.self, #"{"sequence": " 12"}"#,
                    .notAnInteger(path: "heartbeatRequest.sequence", text: "\" 12\""))
        assertFails(HeartbeatRequest.self, #"{"sequence": "0x10"}"#,
                    .notAnInteger(path: "heartbeatRequest.sequence", text: "\"0x10\""))
        assertFails(HeartbeatRequest.self, #"{"sequence": true}"#,
                    .wrongType(path: "heartbeatRequest.sequence", expected: "a number or a string holding one", found: "a boolean"))
        assertFails(ReportActivityRequest.self, #"{"latencyHistogram": {"indexes": [1.5]}}"#,
                    .notAnInteger(path: "reportActivityRequest.latencyHistogram.indexes[0]", text: "1.5"))
    }

    func testEnums() throws {
        XCTAssertEqual(try decode(RegisterServiceRequest.self, #"{"serviceType": "SERVICE_TYPE_HYBRID"}"#).serviceType, .hybrid)
        XCTAssertEqual(try decode(RegisterServiceRequest.self, #"{"serviceType": 2}"#).serviceType, .client)
        // Unknown numbers are kept, as the binary decoder keeps them: proto3 enums are open.
        XCTAssertEqual(try decode(RegisterServiceRequest.self, #"{"serviceType": 42}"#).serviceType.rawValue, 42)
        XCTAssertEqual(try decode(RegisterServiceRequest.self, #"{"language": -7}"#).language.rawValue, -7)
        XCTAssertEqual(try decode(GetTopologyRequest.self,
                                  #"{"query": {"states": ["SERVICE_STATE_DEAD", 1, 99]}}"#).query?.states,
                       [.dead, .registered, ServiceState(rawValue: 99)])
        assertFails(RegisterServiceRequest.self, #"{"serviceType": "SERVER"}"#,
                    .unknownEnumName(path: "registerServiceRequest.serviceType", name: "SERVER", known: ServiceType.protoNames))
        assertFails(RegisterServiceRequest.self, #"{"serviceType": "1"}"#,
                    .unknownEnumName(path: "registerServiceRequest.serviceType", name: "1", known: ServiceType.protoNames))
        assertFails(RegisterServiceRequest.self, #"{"serviceType": 2147483648}"#,
                    .outOfRange(path: "registerServiceRequest.serviceType", text: "2147483648", type: "int32"))
        assertFails(RegisterServiceRequest.self, #"{"serviceType": true}"#,
                    .wrongType(path: "registerServiceRequest.serviceType", expected: "an enum value's name or number", found: "a boolean"))
        XCTAssertEqual(
            JSONDecodingError.unknownEnumName(path: "p", name: "X", known: ["A", "B"]).description,
            #"p: unknown enum value "X"; expected one of A, B or a number"#)
    }

    func testDoubles() throws {
        func cpu(_ json: String) throws -> Double? {
            try decode(HeartbeatRequest.self, #"{"metrics": {"cpuPercent": \#(json)}}"#).metrics?.cpuPercent
        }
        XCTAssertEqual(try cpu("12.5"), 12.5)
        XCTAssertEqual(try cpu("\"12.5\""), 12.5)
        XCTAssertEqual(try cpu("1e2"), 100)
        XCTAssertEqual(try cpu("-0")?.sign, .minus)
        XCTAssertEqual(try cpu("\"Infinity\""), .infinity)
        XCTAssertEqual(try cpu("\"-Infinity\""), -.infinity)
        XCTAssertEqual(try cpu("\"NaN\"")?.isNaN, true)
        XCTAssertEqual(try cpu("5e-324"), 5e-324)
        assertFails(HeartbeatRequest.self, #"{"metrics": {"cpuPercent": 1e400}}"#,
                    .outOfRange(path: "heartbeatRequest.metrics.cpuPercent", text: "1e400", type: "double"))
        assertFails(HeartbeatRequest.self, #"{"metrics": {"cpuPercent": "-1e400"}}"#,
                    .outOfRange(path: "heartbeatRequest.metrics.cpuPercent", text: "-1e400", type: "double"))
        assertFails(HeartbeatRequest.self, #"{"metrics": {"cpuPercent": "nan"}}"#,
                    .wrongType(path: "heartbeatRequest.metrics.cpuPercent",
                               expected: #"a number, "NaN", "Infinity" or "-Infinity""#, found: "the string \"nan\""))
        assertFails(HeartbeatRequest.self, #"{"metrics": {"cpuPercent": [1]}}"#,
                    .wrongType(path: "heartbeatRequest.metrics.cpuPercent", expected: "a number", found: "an array"))
    }

    func testWrongTypesNameTheFieldPath() {
        assertFails(RegisterServiceRequest.self, #"{"serviceName": 5}"#,
                    .wrongType(path: "registerServiceRequest.serviceName", expected: "a string", found: "a number"))
        XCTAssertEqual(
            JSONDecodingError.wrongType(path: "registerServiceRequest.serviceName", expected: "a string", found: "a number").description,
            "registerServiceRequest.serviceName: expected a string, found a number")
        assertFails(RegisterServiceRequest.self, #"{"metadata": "eu"}"#,
                    .wrongType(path: "registerServiceRequest.metadata", expected: "an object", found: "a string"))
        assertFails(RegisterServiceRequest.self, #"{"metadata": {"team": {}}}"#,
                    .wrongType(path: "registerServiceRequest.metadata.team", expected: "a string", found: "an object"))
        assertFails(ReportActivityRequest.self, #"{"success": "true"}"#,
                    .wrongType(path: "reportActivityRequest.success", expected: "true or false", found: "a string"))
        assertFails(GetTopologyRequest.self, #"{"query": {"serviceNames": "a"}}"#,
                    .wrongType(path: "getTopologyRequest.query.serviceNames", expected: "an array", found: "a string"))
        assertFails(GetTopologyRequest.self, #"{"query": {"includeIdle": [true]}}"#,
                    .wrongType(path: "getTopologyRequest.query.includeIdle", expected: "true or false", found: "an array"))
        assertFails(GetTopologyRequest.self, #"{"query": {"teams": ["a", 1]}}"#,
                    .wrongType(path: "getTopologyRequest.query.teams[1]", expected: "a string", found: "a number"))
        assertFails(GetTopologyRequest.self, #"{"query": {"states": [1, null]}}"#,
                    .nullInArray(path: "getTopologyRequest.query.states[1]"))
        assertFails(UnregisterServiceRequest.self, #"["id"]"#,
                    .wrongType(path: "unregisterServiceRequest", expected: "an object", found: "an array"))
        assertFails(UnregisterServiceRequest.self, "null",
                    .wrongType(path: "unregisterServiceRequest", expected: "an object", found: "null"))
    }

    func testUnknownFieldsAreErrorsUnlessIgnored() throws {
        assertFails(UnregisterServiceRequest.self, #"{"serviceID": "x"}"#,
                    .unknownField(path: "unregisterServiceRequest", name: "serviceID", known: ["serviceId"]))
        XCTAssertEqual(JSONDecodingError.unknownField(path: "unregisterServiceRequest", name: "serviceID", known: ["serviceId"]).description,
                       #"unregisterServiceRequest: no field named "serviceID"; known fields: serviceId"#)
        assertFails(HeartbeatRequest.self, #"{"health": {"state": 2, "extra": 1}}"#,
                    .unknownField(path: "heartbeatRequest.health", name: "extra", known: ["state", "message", "errorCount"]))
        let lenient = JSONDecodingOptions(maximumSize: 1 << 16, ignoreUnknownFields: true)
        XCTAssertEqual(try decode(HeartbeatRequest.self, #"{"serviceId": "s", "future": {"deep": [1, {"x": null}]}, "health": {"extra": 1}}"#, lenient),
                       HeartbeatRequest(serviceId: "s", health: ApplicationHealth()))
    }

    func testAFieldGivenByBothNamesIsAnError() {
        assertFails(UnregisterServiceRequest.self, #"{"serviceId": "a", "service_id": "b"}"#,
                    .fieldGivenTwice(path: "unregisterServiceRequest.serviceId", names: ["serviceId", "service_id"]))
        // Even when one of them is null: which one was meant is not for the server to guess.
        assertFails(UnregisterServiceRequest.self, #"{"service_id": null, "serviceId": "b"}"#,
                    .fieldGivenTwice(path: "unregisterServiceRequest.serviceId", names: ["service_id", "serviceId"]))
        // The same key twice is the parser's duplicate key.
        assertFails(UnregisterServiceRequest.self, #"{"serviceId": "a", "serviceId": "b"}"#,
                    .syntax(.duplicateKey("serviceId", offset: 19)))
    }

    func testStringsAreUnicodeWithEscapesRead() throws {
        let request = try decode(UnregisterServiceRequest.self, #"{"serviceId": "caf\u00e9 \uD83D\uDE80 \"q\" \\ \u0000 日本"}"#)
        XCTAssertEqual(request.serviceId, "café 🚀 \"q\" \\ \u{0} 日本")
        assertFails(UnregisterServiceRequest.self, #"{"serviceId": "\uDE80"}"#, .syntax(.loneSurrogate(offset: 15)))
        XCTAssertThrowsError(try UnregisterServiceRequest(jsonUTF8: Array(#"{"serviceId": ""#.utf8) + [0xC3, 0x28, 0x22, 0x7D],
                                                          options: options)) { error in
            XCTAssertEqual(error as? JSONDecodingError, .syntax(.invalidUTF8(offset: 15)))
        }
    }

    func testLimitsApply() {
        let small = JSONDecodingOptions(maximumSize: 20, maximumDepth: 2)
        assertFails(UnregisterServiceRequest.self, #"{"serviceId": "0123456789"}"#, .syntax(.tooLarge(size: 27, limit: 20)), small)
        // Depth counts unknown fields' values too, ignored or not.
        let shallow = JSONDecodingOptions(maximumSize: 100, maximumDepth: 2, ignoreUnknownFields: true)
        assertFails(UnregisterServiceRequest.self, #"{"x": [[1]]}"#, .syntax(.tooDeep(limit: 2, offset: 7)), shallow)
    }

    func testSyntaxErrorsAreWrapped() {
        assertFails(GetTopologyRequest.self, #"{"query": {}"#,
                    .syntax(.unexpected(expected: "',' or '}' after an object member", found: nil, offset: 12)))
        XCTAssertEqual(JSONDecodingError.syntax(.trailingData(offset: 2)).description,
                       "invalid JSON: unexpected data after the JSON value at byte 2")
    }

    func testRemainingErrorDescriptions() {
        XCTAssertEqual(JSONDecodingError.fieldGivenTwice(path: "m.f", names: ["f", "f_f"]).description,
                       #"m.f: the field is given twice, as "f" and "f_f""#)
        XCTAssertEqual(JSONDecodingError.notAnInteger(path: "m.f", text: "1.5").description, "m.f: expected an integer, found 1.5")
        XCTAssertEqual(JSONDecodingError.outOfRange(path: "m.f", text: "-1", type: "uint64").description,
                       "m.f: -1 is out of range for uint64")
        XCTAssertEqual(JSONDecodingError.nullInArray(path: "m.f[1]").description, "m.f[1]: null is not allowed as an array element")
    }
}
