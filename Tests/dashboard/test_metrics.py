"""/metrics, parsed by the reference Prometheus text parser (prometheus_client, test-only), with the
counters checked against exactly what this test did to a real server."""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from dashboard_support import Server, start_service, stop_process, wait_for
from topology_client import Frame, ServiceLanguage, TopologyClient
from topology_client.framing import FrameReader, encode_frame
from topology_client.messages import ApplicationHealth, HealthState, HeartbeatRequest


def scrape(server: Server) -> dict:
    """{(sample name, frozenset of labels): value}, and the families' types under ("TYPE", name)."""
    text = server.get("/metrics").decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        samples[("TYPE", family.name)] = family.type
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def raw_heartbeat(address: str, service_id: str, health: ApplicationHealth | None = None) -> Frame:
    host, port = address.rsplit(":", 1)
    request = HeartbeatRequest(service_id=service_id, sequence=7, health=health)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(encode_frame(Frame(call_id=1, heartbeat_request=request)))
        reader = FrameReader()
        while True:
            data = sock.recv(65536)
            assert data, "server closed the connection"
            reader.feed(data)
            frame = reader.next_frame()
            if frame is not None:
                return frame


def test_metrics_counters_match_what_the_test_did() -> None:
    server = Server("--max-services", "3")
    clients = []
    try:
        before = scrape(server)
        assert before[("TYPE", "topology_registrations")] == "counter"
        assert before[("TYPE", "topology_heartbeat_handling_seconds")] == "histogram"
        build = [dict(k[1]) for k in before if k[0] == "topology_build_info"]
        assert len(build) == 1 and build[0]["version"] == "0.1.0" and len(build[0]["server_epoch"]) == 32
        assert value(before, "topology_build_info", **build[0]) == 1.0
        assert value(before, "process_resident_memory_bytes") > 1_000_000

        languages = [ServiceLanguage.SERVICE_LANGUAGE_PYTHON, ServiceLanguage.SERVICE_LANGUAGE_GO,
                     ServiceLanguage.SERVICE_LANGUAGE_RUST]
        for index, language in enumerate(languages):
            client = TopologyClient(server.address, timeout=5)
            client.register(f"metrics-{index}", language=language)
            clients.append(client)

        # A fourth service is refused by --max-services.
        extra = TopologyClient(server.address, timeout=5)
        try:
            extra.register("one-too-many")
            raise AssertionError("the fourth registration was accepted")
        except Exception as error:  # the client raises ServerStatusError
            assert "max-services" in str(error)
        finally:
            extra.close()

        # 25 calls from service 0 to service 1, in one flush.
        for _ in range(25):
            clients[0].report_call("metrics-1", "Get", latency_ms=3.0, ok=True)
        assert clients[0].flush() == 25

        # A heartbeat for an unknown id: NOT_FOUND.
        reply = raw_heartbeat(server.address, "00000000-0000-4000-8000-000000000000")
        assert reply.status is not None and reply.status.code == 5

        # A live service's heartbeat with a health message over --max-string-bytes: INVALID_ARGUMENT.
        too_long = ApplicationHealth(state=HealthState.HEALTH_STATE_HEALTHY, message="m" * 1025)
        reply = raw_heartbeat(server.address, clients[1].service_id, too_long)
        assert reply.status is not None and reply.status.code == 3, reply.status

        # Service 2 stops heartbeating and dies (3 x 200 ms).
        clients[2].close()
        wait_for(lambda: value(scrape(server), "topology_service_deaths_total") == 1, 5, "one death")

        # Stop the other two, then compare the heartbeat counters with what the clients saw answered.
        clients[0].close()
        clients[1].close()
        time.sleep(0.3)
        acknowledged = sum(c.stats.heartbeats_acknowledged for c in clients)
        after = scrape(server)

        assert value(after, "topology_registrations_total") == 3
        assert value(after, "topology_activity_events_total") == 25
        assert value(after, "topology_service_deaths_total") == 1
        # Its death declared within a second of its deadline (on an idle server, milliseconds).
        assert value(after, "topology_death_lateness_seconds_count") == 1
        assert value(after, "topology_death_lateness_seconds_bucket", le="1") == 1
        assert 0 <= value(after, "topology_death_lateness_seconds_sum") <= 1
        assert value(after, "topology_heartbeats_total", result="acknowledged") == acknowledged
        assert acknowledged >= 3
        assert value(after, "topology_heartbeats_total", result="not_found") == 1
        assert value(after, "topology_heartbeats_total", result="invalid_argument") == 1
        assert value(after, "topology_heartbeat_handling_seconds_count") == acknowledged + 2
        assert value(after, "topology_heartbeat_handling_seconds_bucket", le="+Inf") == acknowledged + 2
        assert value(after, "topology_frame_errors_total", code="NOT_FOUND") == 1
        assert value(after, "topology_frame_errors_total", code="INVALID_ARGUMENT") == 1
        assert value(after, "topology_frame_errors_total", code="RESOURCE_EXHAUSTED") == 1
        assert value(after, "topology_limit_rejections_total", limit="--max-services") == 1
        # Two services still live (their heartbeats only just stopped), one edge between them.
        live = sum(value(after, "topology_services", state=s) for s in ("REGISTERED", "IDLE", "ACTIVE", "STALE"))
        assert live == 2
        assert value(after, "topology_edges") == 1
        assert value(after, "topology_connections_accepted_total") >= 5
    finally:
        for client in clients:
            client.close()
        server.stop()


def test_metrics_watchers_and_connections_gauges(server: Server) -> None:
    host, port = server.http.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sse:
        sse.sendall(b"GET /api/v1/watch HTTP/1.1\r\nHost: x\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += sse.recv(4096)
        assert head.startswith(b"HTTP/1.1 200 OK")
        samples = scrape(server)
        assert value(samples, "topology_watchers", transport="sse") == 1
        assert value(samples, "topology_watchers", transport="frames") == 0
        # The SSE stream and the scrape itself.
        assert value(samples, "topology_connections", listener="http") == 2
    wait_for(lambda: value(scrape(server), "topology_watchers", transport="sse") == 0, 5, "the SSE watch to end")
    samples = scrape(server)
    assert value(samples, "topology_http_requests_total", code="200") >= 3


def test_per_service_series_show_a_service_killed_with_sigkill_and_its_calls() -> None:
    """--service-series-limit: instances by state, deaths by name, and per-edge calls, errors and a
    latency histogram, parsed by prometheus_client."""
    server = Server("--service-series-limit", "200")
    victim = start_service(server, "orders")
    caller = TopologyClient(server.address, timeout=5)
    try:
        caller.register("api")
        for latency, ok in [(3.0, True), (40.0, True), (40.0, False), (3000.0, True)]:
            caller.report_call("orders", "Get", latency_ms=latency, ok=ok)
        wait_for(lambda: value(scrape(server), "topology_edge_latency_seconds_count", source="api", target="orders") == 4, 10,
                 "the api -> orders edge with its four calls")
        wait_for(lambda: value(scrape(server), "topology_service_instances", service="orders", state="IDLE") == 1, 10, "orders IDLE")
        samples = scrape(server)
        assert samples[("TYPE", "topology_edge_latency_seconds")] == "histogram"
        assert samples[("TYPE", "topology_service_deaths")] == "counter"
        assert value(samples, "topology_edge_requests_total", source="api", target="orders") == 4
        assert value(samples, "topology_edge_errors_total", source="api", target="orders") == 1
        assert value(samples, "topology_edge_latency_seconds_bucket", source="api", target="orders", le="0.005") == 1
        assert value(samples, "topology_edge_latency_seconds_bucket", source="api", target="orders", le="0.05") == 3
        assert value(samples, "topology_edge_latency_seconds_bucket", source="api", target="orders", le="2.5") == 3
        assert value(samples, "topology_edge_latency_seconds_bucket", source="api", target="orders", le="+Inf") == 4
        assert abs(value(samples, "topology_edge_latency_seconds_sum", source="api", target="orders") - 3.083) < 0.031
        assert value(samples, "topology_service_series_dropped") == 0
        assert ("topology_service_deaths_total", frozenset({("service", "orders")})) not in samples

        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=5)
        wait_for(lambda: value(scrape(server), "topology_service_deaths_total", service="orders") == 1, 10, "the death of orders")
        samples = scrape(server)
        assert all(value(samples, "topology_service_instances", service="orders", state=s) == 0
                   for s in ("REGISTERED", "IDLE", "ACTIVE", "STALE"))
        assert value(samples, "topology_service_instances", service="api", state="ACTIVE") == 1
    finally:
        caller.close()
        stop_process(victim)
        server.stop()


def test_the_series_limit_drops_whole_services_and_says_how_many() -> None:
    server = Server("--service-series-limit", "10")
    clients = []
    try:
        for name in ("a", "b", "c"):
            client = TopologyClient(server.address, timeout=5)
            client.register(name)
            clients.append(client)
        # Each service: four states and one health: 5 series. Two fit, the third is dropped.
        samples = wait_for(lambda: (lambda s: s if value(s, "topology_service_series_dropped") == 5 else None)(scrape(server)),
                           10, "the third service dropped")
        names = {dict(k[1]).get("service") for k in samples if k[0] == "topology_service_instances"}
        assert names == {"a", "b"}
    finally:
        for client in clients:
            client.close()
        server.stop()


ALERTING = Path(__file__).resolve().parents[2] / "docs" / "alerting.md"


def documented_rules() -> str:
    """The example rules' YAML block in docs/alerting.md."""
    text = ALERTING.read_text()
    start = text.index("```yaml", text.index("Example rules"))
    return text[start + len("```yaml"):text.index("```", start + 7)]


def test_the_documented_alert_rules_use_series_the_server_writes() -> None:
    """Every metric, label and label value the example rules of docs/alerting.md select on, and every
    $labels.X their annotations print, is in a real scrape: a rule that names a series the server
    does not write never fires, and nothing would say so."""
    rules = documented_rules()
    server = Server("--service-series-limit", "200", "--webhook-url", "http://127.0.0.1:9/hook")
    sick = TopologyClient(server.address, timeout=5, health_provider=lambda: HealthState.HEALTH_STATE_UNHEALTHY)
    caller = TopologyClient(server.address, timeout=5)
    doomed = TopologyClient(server.address, timeout=5)
    try:
        sick.register("orders")
        caller.register("api")
        doomed.register("cache")
        caller.report_call("orders", "Get", latency_ms=3.0, ok=False)
        assert caller.flush() == 1
        doomed.close()
        samples = wait_for(lambda: (lambda s: s if value(s, "topology_service_deaths_total", service="cache") == 1
                                    and value(s, "topology_service_health_instances", service="orders", health="UNHEALTHY") == 1
                                    and value(s, "topology_edge_requests_total", source="api", target="orders") == 1 else None)(scrape(server)),
                           10, "a death, an UNHEALTHY service and an edge in the series")
        labels_of: dict = {}
        for key in samples:
            if key[0] != "TYPE":
                labels_of.setdefault(key[0], []).append(dict(key[1]))

        metrics = set(re.findall(r"\btopology_[a-z_]+", rules))
        assert len(metrics) >= 8, metrics
        for metric in metrics:
            assert metric in labels_of, f"docs/alerting.md uses {metric}, which /metrics does not write"
        # Selectors: {label="value"} and {label=~"a|b"}: the label exists and each value is written.
        for metric, selector in re.findall(r"\b(topology_[a-z_]+)\{([^}]*)\}", rules):
            for label, op, pattern in re.findall(r'(\w+)\s*(=~|=)\s*"([^"]*)"', selector):
                seen = {s.get(label) for s in labels_of[metric]}
                wanted = pattern.split("|") if op == "=~" else [pattern]
                assert set(wanted) <= seen, (metric, label, wanted, seen)
        # by (...) and $labels.X: labels the rule's series carry.
        for alert in re.split(r"\n\s*- alert: ", rules)[1:]:
            used = set(re.findall(r"\btopology_[a-z_]+", alert))
            carried = {label for metric in used for s in labels_of[metric] for label in s}
            grouped = {label.strip() for group in re.findall(r"by \(([^)]*)\)", alert) for label in group.split(",")}
            printed = set(re.findall(r"\$labels\.(\w+)", alert))
            assert grouped | printed <= carried, (alert.splitlines()[0], grouped | printed, carried)
    finally:
        for client in (sick, caller, doomed):
            client.close()
        server.stop()
