import Foundation
@testable import TopologyWire
import XCTest

/// The reader against the writer and against the official library: JSON that `JSONEncodingVisitor`
/// writes reads back to an equal message, and so does the JSON the official `MessageToDict` wrote
/// into the golden vectors. This also holds each field table (RequestMessages+JSONSchema.swift) to
/// its message's `traverse`.
final class JSONRoundTripTests: XCTestCase {
    private let options = JSONDecodingOptions(maximumSize: 1 << 20)

    private func assertRoundTrips<M: JSONDecodableMessage>(_ message: M, file: StaticString = #filePath, line: UInt = #line) {
        let json = message.jsonUTF8()
        do {
            let decoded = try M(jsonUTF8: json, options: options)
            // Compared by encoding: NaN != NaN, but its bits (the canonical NaN) survive.
            XCTAssertEqual(decoded.serializedBytes(), message.serializedBytes(), message.jsonString(), file: file, line: line)
            if !message.jsonString().contains("NaN") {
                XCTAssertEqual(decoded, message, file: file, line: line)
            }
        } catch {
            XCTFail("\(M.self) did not read back its own JSON \(message.jsonString()): \(error)", file: file, line: line)
        }
    }

    static let metadata = ServiceMetadata(region: "eu-west-1", environment: "", team: "payments ✓",
                                          versionHash: "9f1c", serviceInterface: "grpc", serviceRole: "backend",
                                          programName: "a\"b\\c\n\u{0}\u{1F}")
    static let query = TopologyQuery(serviceNames: ["a", "", "日本"], includeIdle: true, includeStale: true,
                                     states: [.unspecified, .dead, ServiceState(rawValue: -3), ServiceState(rawValue: Int32.max)],
                                     environments: ["prod"], teams: ["", "t"], regions: ["r1", "r2", "r3"],
                                     labelSelectors: ["team=payments", "canary", "k=", "a=b=c"])

    func testRegisterServiceRequest() {
        assertRoundTrips(RegisterServiceRequest())
        assertRoundTrips(RegisterServiceRequest(
            serviceName: "checkout 🚀", serviceType: .hybrid, language: .swift, version: "", address: "10.0.0.1:80",
            host: "h", metadata: Self.metadata, serviceId: "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
            labels: ["team": "payments", "": "", "quote\"": "a\\b\n", "日本": "語 🚀"]))
        assertRoundTrips(RegisterServiceRequest(serviceType: ServiceType(rawValue: 42), language: ServiceLanguage(rawValue: -1),
                                                metadata: ServiceMetadata()))
    }

    func testHeartbeatRequest() {
        assertRoundTrips(HeartbeatRequest())
        for sequence in [Int64.max, Int64.min, 9_007_199_254_740_993, -1, 1] {
            assertRoundTrips(HeartbeatRequest(serviceId: "s", sequence: sequence))
        }
        for cpu in [0.1, -0.0, 5e-324, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1e21, 1e-7,
                    .infinity, -.infinity, .nan, 123456789.125, 2.2250738585072014e-308] {
            assertRoundTrips(HeartbeatRequest(metrics: ServiceMetrics(cpuPercent: cpu, memoryBytes: UInt64.max)))
        }
        assertRoundTrips(HeartbeatRequest(serviceId: "x", sequence: 7, metrics: ServiceMetrics(),
                                          health: ApplicationHealth(state: .degraded, message: "", errorCount: Int32.min)))
        assertRoundTrips(HeartbeatRequest(health: ApplicationHealth(state: HealthState(rawValue: 77), errorCount: 0)))
    }

    func testReportActivityRequest() {
        assertRoundTrips(ReportActivityRequest())
        assertRoundTrips(ReportActivityRequest(
            serviceId: "a", targetService: "b", type: .responseReceived, timestampMs: 1_732_350_000_123, latencyMs: Int32.max,
            method: "/pkg.Svc/Call", success: false, batchSize: 0, errorMessage: "boom: \"x\"",
            latencyHistogram: LatencyHistogram(indexes: [Int32.min, -1, 0, Int32.max], counts: [0, 1, UInt64.max, 1 << 63], zeroCount: 5),
            errorCount: -1))
        assertRoundTrips(ReportActivityRequest(type: ActivityType(rawValue: 9), timestampMs: Int64.min, latencyHistogram: LatencyHistogram()))
    }

    func testUnregisterGetAndWatchRequests() {
        assertRoundTrips(UnregisterServiceRequest())
        assertRoundTrips(UnregisterServiceRequest(serviceId: "\u{10FFFF}\u{FEFF}\u{2028}é"))
        assertRoundTrips(GetTopologyRequest())
        assertRoundTrips(GetTopologyRequest(query: TopologyQuery()))
        assertRoundTrips(GetTopologyRequest(query: Self.query))
        assertRoundTrips(WatchTopologyRequest())
        assertRoundTrips(WatchTopologyRequest(query: Self.query, resumeAfterRevision: UInt64.max, resumeServerEpoch: "epoch"))
        assertRoundTrips(WatchTopologyRequest(resumeAfterRevision: 0))
    }

    /// Each table names exactly the fields its message writes when all are set.
    func testTablesNameEveryFieldTheWriterWrites() throws {
        func keys<M: JSONDecodableMessage>(_ message: M) throws -> [String] {
            guard case let .object(members) = try JSONParser(maximumSize: 1 << 20).parse(message.jsonUTF8()) else { return [] }
            return members.map(\.key)
        }
        func check<M: JSONDecodableMessage>(_ full: M) throws {
            XCTAssertEqual(try keys(full), M.jsonSchema.fields.map(\.jsonName), "\(M.self)")
        }
        try check(Self.metadata)
        try check(ServiceMetrics(cpuPercent: 1, memoryBytes: 1))
        try check(ApplicationHealth(state: .healthy, message: "m", errorCount: 1))
        try check(RegisterServiceRequest(serviceName: "n", serviceType: .server, language: .c, version: "v", address: "a",
                                         host: "h", metadata: ServiceMetadata(), serviceId: "i", labels: ["k": "v"]))
        try check(HeartbeatRequest(serviceId: "s", sequence: 1, metrics: ServiceMetrics(), health: ApplicationHealth()))
        try check(LatencyHistogram(indexes: [1], counts: [1], zeroCount: 1))
        try check(ReportActivityRequest(serviceId: "s", targetService: "t", type: .error, timestampMs: 1, latencyMs: 1, method: "m",
                                        success: true, batchSize: 1, errorMessage: "e", latencyHistogram: LatencyHistogram(), errorCount: 1))
        try check(UnregisterServiceRequest(serviceId: "s"))
        try check(Self.query)
        try check(GetTopologyRequest(query: TopologyQuery()))
        try check(WatchTopologyRequest(query: TopologyQuery(), resumeAfterRevision: 1, resumeServerEpoch: "e"))
        XCTAssertEqual(RegisterServiceRequest.jsonSchema.fields.map(\.protoName),
                       ["service_name", "service_type", "language", "version", "address", "host", "metadata", "service_id", "labels"])
    }

    /// The official library's JSON of every golden vector of a readable message reads back to the
    /// message of the vector's canonical bytes.
    func testGoldenVectorsJSONReadsBackToTheirMessages() throws {
        var checked = 0
        for vector in try GoldenVectorTests.loadVectors() {
            guard let canonical = vector.canonical,
                  let type = MessageRegistry.type(named: vector.message) as? any JSONDecodableMessage.Type else { continue }
            let file = try Data(contentsOf: GoldenVectorTests.testdata.appendingPathComponent(vector.file))
            let value = try XCTUnwrap(try JSONParser(maximumSize: 1 << 20).parse(Array(file))["value"], vector.file)
            func check<M: JSONDecodableMessage>(_ type: M.Type) throws {
                let fromJSON = try M(json: value)
                let expected = try M(serializedBytes: canonical)
                // JSON has one NaN: a NaN's payload bits cannot survive it.
                if expected.jsonString().contains("NaN") {
                    XCTAssertEqual(fromJSON.jsonString(), expected.jsonString(), vector.file)
                } else {
                    XCTAssertEqual(fromJSON.serializedBytes(), expected.serializedBytes(), vector.file)
                }
            }
            try check(type)
            checked += 1
        }
        // The vectors of the eleven readable messages; a vector directory that went missing fails here.
        XCTAssertGreaterThan(checked, 40)
    }
}
