"""What the OTLP tests share: spans made by the real OpenTelemetry SDK, and reading the edge they
became from the server's JSON API. A module of its own name, not conftest (see dashboard_support)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Dict, Optional, Tuple

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from dashboard_support import wait_for

START_NS = time.time_ns()


def send_calls(exporter, service: str, peer: str, latencies_ms, failed) -> None:
    """One CLIENT span per latency, from `service` to `peer`, exported span by span through
    `exporter` (SimpleSpanProcessor: each span is exported as it ends). Times are given, not slept."""
    provider = TracerProvider(resource=Resource.create({"service.name": service, "deployment.environment": "test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("topology.tests")
    for index, latency in enumerate(latencies_ms):
        start = START_NS + index * 1_000_000_000
        span = tracer.start_span("POST /charge", kind=SpanKind.CLIENT, start_time=start,
                                 attributes={"peer.service": peer, "http.request.method": "POST"})
        if index in failed:
            span.set_status(Status(StatusCode.ERROR, "502 Bad Gateway"))
        span.end(end_time=start + int(latency * 1_000_000))
    provider.shutdown()


def topology(server) -> dict:
    return json.loads(server.get("/api/v1/topology"))


def edge(server, source_name: str, target: str) -> Optional[Tuple[dict, dict]]:
    """(source node, edge) once the edge is published, else None."""
    snapshot = topology(server)
    nodes: Dict[str, dict] = {node["serviceId"]: node for node in snapshot.get("nodes", [])}
    for candidate in snapshot.get("edges", []):
        source = nodes.get(candidate["sourceServiceId"], {})
        if source.get("serviceName") == source_name and candidate["targetService"] == target:
            return source, candidate
    return None


def wait_for_edge(server, source_name: str, target: str, requests: int, timeout: float = 10.0) -> Tuple[dict, dict]:
    def ready():
        found = edge(server, source_name, target)
        return found if found and int(found[1].get("totalRequests", "0")) >= requests else None
    return wait_for(ready, timeout, f"edge {source_name} -> {target} with {requests} requests")


def post(server, path: str, body: bytes, content_type: str, headers: Optional[dict] = None):
    """(status, headers, body) of a POST; HTTP errors are answers too."""
    request = urllib.request.Request(server.base_url + path, data=body, method="POST",
                                     headers={"Content-Type": content_type, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
