@testable import TopologyProtocol
import TopologyWire
import XCTest

/// The seed runtime's event JSON, byte for byte as its proxy writes it (`JSON.stringify` of ts-proto
/// objects). The first two expected texts are the seed's own, as Node printed them for its objects
/// (docs/clients/seed-runtime.md quotes them); the number table is ECMA-262's Number::toString.
final class SeedEventJSONTests: XCTestCase {
    private func text(_ update: TopologyUpdate) throws -> String {
        String(decoding: try XCTUnwrap(SeedEventJSON.encode(update)), as: UTF8.self)
    }

    func testTheFirstSnapshotOfTheSeedsExampleAndNoneOfOurFields() throws {
        var node = ServiceNode()
        node.serviceId = "6f1c0a52-3b7e-4d2a-9c41-0e5f8a7b6c3d"
        node.serviceName = "calculator-client-cpp"
        node.serviceType = .client
        node.language = .cpp
        node.version = "1.0.0"
        node.metadata = ServiceMetadata()
        node.state = .registered
        node.lastHeartbeatMs = 1_765_065_600_003
        // Ours, which the seed does not have: never written.
        node.registeredMs = 1_765_065_600_000
        node.labels = ["team": "payments"]
        node.metrics = ServiceMetrics(cpuPercent: 3)
        var snapshot = TopologySnapshot()
        snapshot.nodes = [node]
        snapshot.timestampMs = 1_765_065_601_000
        snapshot.revision = 7
        snapshot.serverEpoch = "0123"
        let update = TopologyUpdate(type: .snapshot, snapshot: snapshot, revision: 7, resync: true)
        XCTAssertEqual(try text(update), #"{"type":1,"snapshot":{"nodes":[{"serviceId":"6f1c0a52-3b7e-4d2a-9c41-0e5f8a7b6c3d","serviceName":"calculator-client-cpp","serviceType":2,"language":3,"version":"1.0.0","metadata":{},"state":1,"lastHeartbeatMs":"1765065600003","lastActivityMs":"0","health":0}],"edges":[],"timestampMs":"1765065601000"}}"#)
        XCTAssertEqual(try text(TopologyUpdate(type: .snapshot, snapshot: TopologySnapshot(timestampMs: 1_765_065_600_000))),
                       #"{"type":1,"snapshot":{"nodes":[],"edges":[],"timestampMs":"1765065600000"}}"#)
    }

    func testAnEdgeDeltaWithJavaScriptNumbers() throws {
        var edge = ServiceEdge()
        edge.sourceServiceId = "6f1c0a52-3b7e-4d2a-9c41-0e5f8a7b6c3d"
        edge.targetService = "calculator.v1.CalculatorService::default@127.0.0.1:5556"
        edge.state = .active
        edge.lastActivityMs = 1_765_065_602_000
        edge.totalRequests = 3
        edge.avgLatencyMs = 5.0 / 3.0
        edge.rps = 0.6
        edge.latencyP99Ms = 9  // ours: not written
        XCTAssertEqual(try text(TopologyUpdate(type: .edgeAdded, edge: edge)), #"{"type":5,"edge":{"sourceServiceId":"6f1c0a52-3b7e-4d2a-9c41-0e5f8a7b6c3d","targetService":"calculator.v1.CalculatorService::default@127.0.0.1:5556","state":2,"lastActivityMs":"1765065602000","totalRequests":"3","totalErrors":"0","avgLatencyMs":1.6666666666666667,"rps":0.6}}"#)
    }

    func testMetadataKeysInFieldOrderAndStringsEscapedAsJavaScriptDoes() throws {
        var node = ServiceNode()
        node.serviceName = "q\"b\\s\u{8}\u{C}\n\u{1}é"
        node.metadata = ServiceMetadata(region: "eu", serviceInterface: "i", programName: "p")
        node.address = "a"
        let json = try text(TopologyUpdate(type: .nodeUpdated, node: node))
        XCTAssertTrue(json.contains(#""serviceName":"q\"b\\s\b\f\n\u0001é""#), json)
        XCTAssertTrue(json.contains(#""address":"a","metadata":{"region":"eu","serviceInterface":"i","programName":"p"},"state":0"#), json)
        XCTAssertTrue(json.hasPrefix(#"{"type":3,"node":{"serviceId":"","serviceName""#), json)
    }

    func testProgressHasNoSeedEvent() {
        XCTAssertNil(SeedEventJSON.encode(TopologyUpdate(type: .progress, revision: 9)))
    }

    func testNumbersAreWrittenAsJavaScriptWritesThem() {
        let cases: [(Double, String)] = [
            (0, "0"), (-0.0, "0"), (0.6, "0.6"), (5.0 / 3.0, "1.6666666666666667"), (0.1 + 0.2, "0.30000000000000004"),
            (1e-7, "1e-7"), (1e-6, "0.000001"), (1.5e-6, "0.0000015"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
            (1.5e300, "1.5e+300"), (5, "5"), (-2.5, "-2.5"), (1e16, "10000000000000000"), (123.456, "123.456"),
            (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"), (1234.5e-10, "1.2345e-7"),
            (.nan, "null"), (.infinity, "null"), (-.infinity, "null"),
        ]
        for (value, expected) in cases {
            XCTAssertEqual(JSONText.javaScriptNumber(value), expected, "\(value)")
        }
    }
}
