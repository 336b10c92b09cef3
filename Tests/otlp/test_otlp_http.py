"""OTLP/HTTP against a real server: the OpenTelemetry SDK's own exporter
(opentelemetry-exporter-otlp-proto-http) and hand-made JSON and protobuf requests to POST /v1/traces;
the edge, its errors and latency on the JSON API, the SSE watch stream and gRPC GetTopology; hostile
requests answered 400 with nothing else disturbed."""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path

import grpc
import pytest
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue

import grpc_stubs
from otlp_support import post, send_calls, topology, wait_for_edge

VECTORS = Path(__file__).resolve().parents[2] / "Schema" / "testdata" / "otlp"


def vector(name: str) -> dict:
    return json.loads((VECTORS / f"{name}.json").read_text())


def test_the_sdk_http_exporter_makes_an_edge_with_errors_and_latency(server):
    # The watch first, so its stream must carry the edge as it appears.
    seen = []
    stream = urllib.request.urlopen(server.base_url + "/api/v1/watch", timeout=10)

    def read_stream():
        for raw in stream:
            line = raw.decode()
            if line.startswith("data:") and '"payments"' in line:
                seen.append(json.loads(line[5:]))
                return
    reader = threading.Thread(target=read_stream, daemon=True)
    reader.start()
    try:
        exporter = OTLPSpanExporter(endpoint=server.base_url + "/v1/traces", timeout=10)
        send_calls(exporter, "checkout", "payments", [40, 10, 25, 5], failed={0})
        source, edge = wait_for_edge(server, "checkout", "payments", requests=4)
        assert source["observed"] is True and source["state"] == "SERVICE_STATE_ACTIVE"
        assert edge["totalErrors"] == "1"
        assert edge["avgLatencyMs"] == pytest.approx(20.0)
        assert edge["errorRate"] == pytest.approx(0.25)
        reader.join(timeout=10)
        assert seen and seen[0]["edge"]["targetService"] == "payments", "the watch stream carried the edge"

        stubs = grpc_stubs.load()
        with grpc.insecure_channel(server.address) as channel:
            reply = stubs.services.TopologyServiceStub(channel).GetTopology(stubs.messages.GetTopologyRequest(), timeout=10)
        nodes = {node.service_id: node for node in reply.snapshot.nodes}
        [grpc_edge] = [e for e in reply.snapshot.edges if e.target_service == "payments"]
        assert nodes[grpc_edge.source_service_id].service_name == "checkout"
        assert nodes[grpc_edge.source_service_id].observed is True
        assert grpc_edge.total_requests == 4 and grpc_edge.total_errors == 1
    finally:
        stream.close()


def test_a_json_request_makes_the_same_edge(server):
    status, headers, body = post(server, "/v1/traces", vector("sdk_like")["json"].encode(), "application/json")
    assert status == 200 and headers["Content-Type"] == "application/json" and body == b"{}"
    _, edge = wait_for_edge(server, "checkout", "payments", requests=1)
    assert edge["totalErrors"] == "1" and edge["avgLatencyMs"] == pytest.approx(42.5)


def test_partial_success_names_the_refused_spans(server):
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.add(name="no service name")
    status, _, body = post(server, "/v1/traces", request.SerializeToString(), "application/x-protobuf")
    assert status == 200
    response = ExportTraceServiceResponse.FromString(body)
    assert response.partial_success.rejected_spans == 1
    assert "OTEL_SERVICE_NAME" in response.partial_success.error_message


def hostile_requests():
    good = bytes.fromhex(vector("sdk_like")["hex"])
    deep = AnyValue(string_value="x")
    for _ in range(40):
        deep = AnyValue(array_value=ArrayValue(values=[deep]))
    deep_request = ExportTraceServiceRequest()
    deep_request.resource_spans.add().scope_spans.add().spans.add(attributes=[KeyValue(key="d", value=deep)])
    huge = ExportTraceServiceRequest()
    huge.resource_spans.add().scope_spans.add().spans.add(
        attributes=[KeyValue(key="a", value=AnyValue(array_value=ArrayValue(values=[AnyValue()] * 300_000)))])
    short_id = ExportTraceServiceRequest()
    short_id.resource_spans.add().scope_spans.add().spans.add(trace_id=b"\x01" * 15)
    long_span_id = ExportTraceServiceRequest()
    long_span_id.resource_spans.add().scope_spans.add().spans.add(span_id=b"\x01" * 9)
    return {
        "truncated": (good[:-25], "application/x-protobuf", "truncated"),
        "truncated_early": (good[:7], "application/x-protobuf", "truncated"),
        "deep": (deep_request.SerializeToString(), "application/x-protobuf", "nested deeper than"),
        "huge_array": (huge.SerializeToString(), "application/x-protobuf", "export smaller batches"),
        "short_trace_id": (short_id.SerializeToString(), "application/x-protobuf", "trace_id is 15 bytes"),
        "long_span_id": (long_span_id.SerializeToString(), "application/x-protobuf", "span_id is 9 bytes"),
        "json_bad_hex": (b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"zz"}]}]}]}', "application/json", "hex digits"),
        "json_deep": (b'{"resourceSpans":' + b"[" * 200 + b"]" * 200 + b"}", "application/json", "nested more than"),
        "not_json": (b"{", "application/json", "invalid JSON"),
    }


@pytest.mark.parametrize("name", list(hostile_requests()))
def test_hostile_otlp_gets_400_and_disturbs_nothing(server, name):
    stubs = grpc_stubs.load()
    with grpc.insecure_channel(server.address) as channel:
        client = stubs.services.TopologyServiceStub(channel)
        client.RegisterService(stubs.messages.RegisterServiceRequest(service_name="bystander"), timeout=10)
        before = topology(server)
        body, content_type, expected = hostile_requests()[name]
        status, headers, answer = post(server, "/v1/traces", body, content_type)
        assert status == 400, answer
        if content_type == "application/json":
            message = json.loads(answer)["message"]
        else:
            message = status_pb2.Status.FromString(answer).message
        assert expected in message, message
        after = topology(server)
        assert [n["serviceName"] for n in after["nodes"]] == [n["serviceName"] for n in before["nodes"]] == ["bystander"]
        # The server still serves both ports, and OTLP.
        assert client.GetTopology(stubs.messages.GetTopologyRequest(), timeout=10).snapshot.nodes[0].service_name == "bystander"
        assert post(server, "/v1/traces", bytes.fromhex(vector("sdk_like")["hex"]), "application/x-protobuf")[0] == 200


def test_compressed_bodies_are_refused_with_415_saying_what_to_do(server):
    exporter_like = bytes.fromhex(vector("sdk_like")["hex"])
    status, _, body = post(server, "/v1/traces", exporter_like, "application/x-protobuf", {"Content-Encoding": "gzip"})
    assert status == 415
    assert "OTEL_EXPORTER_OTLP_COMPRESSION=none" in status_pb2.Status.FromString(body).message


def test_over_the_span_rate_the_server_says_when_to_retry():
    from dashboard_support import Server
    server = Server("--otlp-max-spans-per-second", "1")
    try:
        body = bytes.fromhex(vector("many_resources")["hex"])  # 12 spans: more than a second's worth
        assert post(server, "/v1/traces", body, "application/x-protobuf")[0] == 200
        status, headers, answer = post(server, "/v1/traces", body, "application/x-protobuf")
        assert status == 429
        assert int(headers["Retry-After"]) >= 1
        assert "--otlp-max-spans-per-second" in status_pb2.Status.FromString(answer).message
    finally:
        server.stop()


def test_observed_services_are_capped_and_counted_in_metrics():
    from dashboard_support import Server
    from prometheus_client.parser import text_string_to_metric_families
    server = Server("--max-observed-services", "1")
    try:
        def spans_of(service):
            request = ExportTraceServiceRequest()
            resource = request.resource_spans.add()
            resource.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value=service)))
            resource.scope_spans.add().spans.add(name="work")
            return request.SerializeToString()
        assert post(server, "/v1/traces", spans_of("first"), "application/x-protobuf")[0] == 200
        status, _, body = post(server, "/v1/traces", spans_of("second"), "application/x-protobuf")
        assert status == 200
        partial = ExportTraceServiceResponse.FromString(body).partial_success
        assert partial.rejected_spans == 1
        assert partial.error_message == "limit reached: --max-observed-services is 1; retry later, or raise --max-observed-services"
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for family in text_string_to_metric_families(server.get("/metrics").decode()) for s in family.samples}
        assert samples[("topology_observed_services", ())] == 1
        assert samples[("topology_observed_service_refusals_total", ())] == 1
        assert samples[("topology_otlp_spans_total", (("result", "accepted"),))] == 1
        assert samples[("topology_otlp_spans_total", (("result", "rejected"),))] == 1
        assert samples[("topology_otlp_requests_total", (("result", "ok"), ("transport", "http")))] == 2
    finally:
        server.stop()
