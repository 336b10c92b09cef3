"""OTLP/gRPC against a real server: the OpenTelemetry SDK's own gRPC exporter
(opentelemetry-exporter-otlp-proto-grpc, on grpcio) sending spans to TraceService/Export on the
frames port, beside TopologyService on the same connection's port."""

from __future__ import annotations

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.trace.export import SpanExportResult

import grpc_stubs
from otlp_support import send_calls, wait_for_edge


def test_the_sdk_grpc_exporter_makes_an_edge_with_errors_and_latency(server):
    results = []

    class Recording(OTLPSpanExporter):
        def export(self, spans):
            results.append(super().export(spans))
            return results[-1]

    exporter = Recording(endpoint=server.address, insecure=True, timeout=10)
    send_calls(exporter, "frontend", "checkout", [12, 8, 30], failed={1, 2})
    assert results == [SpanExportResult.SUCCESS] * 3
    source, edge = wait_for_edge(server, "frontend", "checkout", requests=3)
    assert source["observed"] is True
    assert edge["totalErrors"] == "2"
    assert edge["avgLatencyMs"] == pytest.approx(50 / 3)

    stubs = grpc_stubs.load()
    with grpc.insecure_channel(server.address) as channel:
        snapshot = stubs.services.TopologyServiceStub(channel).GetTopology(stubs.messages.GetTopologyRequest(), timeout=10).snapshot
    assert [(e.target_service, e.total_requests, e.total_errors) for e in snapshot.edges] == [("checkout", 3, 2)]


def test_a_bad_export_is_invalid_argument_and_the_channel_serves_on(server):
    with grpc.insecure_channel(server.address) as channel:
        export = channel.unary_unary(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            request_serializer=lambda raw: raw, response_deserializer=trace_service_pb2.ExportTraceServiceResponse.FromString)
        with pytest.raises(grpc.RpcError) as refused:
            export(b"\x0a\x05\x12\x03", timeout=10)  # a ResourceSpans cut short
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "truncated" in refused.value.details()
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        assert stub.Export(trace_service_pb2.ExportTraceServiceRequest(), timeout=10) == trace_service_pb2.ExportTraceServiceResponse()
