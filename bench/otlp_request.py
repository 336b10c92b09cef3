#!/usr/bin/env python3
"""Writes the OTLP request OTLPBench ingests: one ExportTraceServiceRequest as the Python SDK's
BatchSpanProcessor sends it (512 spans, its max_export_batch_size), encoded by the official
opentelemetry-proto package. 8 services (resources); per service a mix of SERVER spans and CLIENT
spans to 6 peers (peer.service, server.address, rpc.service, db.system), 1 in 20 with an ERROR
status; attributes as HTTP and gRPC instrumentations set them.

    .venv/bin/python bench/otlp_request.py OUTPUT [--spans 512]
"""
import argparse
import random

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status


def attr(key, value):
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


PEERS = [
    {"peer.service": "payments"}, {"server.address": "inventory.internal", "server.port": 8443},
    {"rpc.system": "grpc", "rpc.service": "shop.Orders", "rpc.method": "Place"},
    {"db.system": "postgresql", "db.name": "orders", "db.statement": "SELECT * FROM orders WHERE id = $1"},
    {"peer.service": "search"}, {"server.address": "cache.internal", "server.port": 6379},
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--spans", type=int, default=512)
    args = parser.parse_args()
    rng = random.Random(7)
    request = ExportTraceServiceRequest()
    services = [f"service-{i}" for i in range(8)]
    per_service = args.spans // len(services)
    for service in services:
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend([
            attr("service.name", service), attr("service.version", "1.4.2"), attr("deployment.environment", "production"),
            attr("telemetry.sdk.language", "python"), attr("telemetry.sdk.name", "opentelemetry"),
            attr("telemetry.sdk.version", "1.45.2"), attr("host.name", "node-17")])
        scope = resource_spans.scope_spans.add()
        scope.scope.name = "opentelemetry.instrumentation.requests"
        scope.scope.version = "0.66b2"
        for index in range(per_service):
            start = 1_765_000_000_000_000_000 + index * 1_000_000
            span = scope.spans.add(
                trace_id=rng.randbytes(16), span_id=rng.randbytes(8), parent_span_id=rng.randbytes(8),
                name="POST /api/v1/checkout", start_time_unix_nano=start,
                end_time_unix_nano=start + rng.randint(200_000, 80_000_000))
            span.attributes.extend([attr("http.request.method", "POST"), attr("url.full", "https://payments.internal/api/v1/charge"),
                                    attr("http.response.status_code", 200), attr("network.protocol.version", "1.1"),
                                    attr("user_agent.original", "python-requests/2.34.2")])
            if index % 4 == 0:
                span.kind = Span.SPAN_KIND_SERVER
            else:
                span.kind = Span.SPAN_KIND_CLIENT
                span.attributes.extend(attr(key, value) for key, value in PEERS[index % len(PEERS)].items())
            if index % 20 == 0:
                span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="502 Bad Gateway"))
    with open(args.output, "wb") as out:
        out.write(request.SerializeToString())


if __name__ == "__main__":
    main()
