import TopologyCore
@testable import TopologyHTTP2
@testable import TopologyProtocol
import TopologyWire
import XCTest

/// OTLP/gRPC through a gRPC session: `TraceService/Export` beside TopologyService's methods, its
/// response and statuses, and its own message bound.
final class OTLPGRPCSessionTests: XCTestCase {
    private func export(_ h: inout GRPCHarness, _ body: [UInt8], stream: UInt32) -> GRPCHarness.Response {
        let data = HTTP2Frame(stream: stream, .data(ConnectEnvelope.encode(flags: 0, payload: body), endStream: true))
        h.receive(GRPCHarness.head("", stream: stream, path: OTLPExport.grpcPath).encoded + data.encoded)
        return h.responses[stream] ?? GRPCHarness.Response()
    }

    func testAnExportIsAnsweredAndItsSpansBecomeAnEdge() throws {
        // A message bound far under the request's size: OTLP has its own.
        var h = GRPCHarness(maxMessageBytes: 64)
        let response = export(&h, try OTLPHTTPSessionTests.vector("sdk_like").protobuf, stream: 1)
        XCTAssertEqual(response.head[":status"], "200")
        XCTAssertEqual(response.grpcStatus, 0)
        XCTAssertEqual(try OTLPTraceResponse(serializedBytes: try XCTUnwrap(response.messages.first)), OTLPTraceResponse())
        _ = h.base.topology.advance(to: h.base.clock.nowMs() + 1_000)
        let node = try XCTUnwrap(h.base.topology.snapshot(for: TopologyQuery(), now: h.base.clock.nowMs()).nodes.first)
        XCTAssertEqual(node.serviceName, "checkout")
        XCTAssertEqual(h.base.topology.edge(sourceId: node.serviceId, target: "payments")?.totalErrors, 1)
        XCTAssertEqual(h.base.dispatcher.metrics.otlpRequests[ServerMetrics.OTLPRequestKey(transport: "grpc", result: "ok")], 1)
    }

    func testBadExportsAreRefusedAloneAndTheConnectionServesOn() throws {
        var h = GRPCHarness()
        let truncated = export(&h, Array(try OTLPHTTPSessionTests.vector("sdk_like").protobuf.dropLast(9)), stream: 1)
        XCTAssertEqual(truncated.grpcStatus, 3)
        XCTAssertTrue(try XCTUnwrap(truncated.grpcMessage).hasPrefix("not an OTLP ExportTraceServiceRequest in protobuf"))

        h.base.dispatcher.configuration.otlpMaxSpansPerSecond = 1
        XCTAssertEqual(export(&h, try OTLPHTTPSessionTests.vector("sdk_like").protobuf, stream: 3).grpcStatus, 0)
        let throttled = export(&h, try OTLPHTTPSessionTests.vector("sdk_like").protobuf, stream: 5)
        XCTAssertEqual(throttled.grpcStatus, 14, "UNAVAILABLE: the exporter retries")

        h.base.dispatcher.configuration.otlpLimits.maximumBytes = 16
        h.receive(GRPCHarness.head("", stream: 7, path: OTLPExport.grpcPath).encoded
                  + HTTP2Frame(stream: 7, .data([0, 0, 0, 1, 0], endStream: false)).encoded)
        XCTAssertEqual(h.responses[7]?.grpcStatus, 8)
        XCTAssertEqual(h.base.dispatcher.metrics.limitRejections["--otlp-max-body-bytes"], 1)

        h.receive(GRPCHarness.head("", stream: 9, endStream: true, path: "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export").encoded)
        XCTAssertEqual(h.responses[9]?.grpcStatus, 12)
        XCTAssertTrue(try XCTUnwrap(h.responses[9]?.grpcMessage).hasSuffix(OTLPExport.grpcPath))
        XCTAssertEqual(h.unary("GetTopology", GetTopologyRequest(), stream: 11).grpcStatus, 0)
        XCTAssertNil(h.goAway)
    }
}
