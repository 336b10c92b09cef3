"""Webhooks (--webhook-url) against real receivers on 127.0.0.1 (http.server in this process): the
alerts a service's life raises, in order; a filter; retries after 500s; a receiver that never
answers, which delays neither the other webhook nor the server; and the counters on /metrics,
parsed by prometheus_client."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator, List

import pytest

from dashboard_support import Server, wait_for
from test_metrics import scrape, value
from topology_client import HealthState, TopologyClient


class Receiver:
    """A webhook receiver: records each POST (path, JSON body, arrival time); answers 500 to the
    first ``failures`` requests, or, with ``hang``, never answers at all."""

    def __init__(self, failures: int = 0, hang: bool = False) -> None:
        self.requests: List[dict] = []
        self.failures = failures
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                receiver.requests.append({"path": self.path, "body": body, "at_ms": time.time() * 1000,
                                          "content_type": self.headers["Content-Type"]})
                if hang:
                    receiver.released.wait(30)
                    return
                failing = receiver.failures > 0
                receiver.failures -= 1
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}{path}"

    def alerts(self, service: str) -> List[str]:
        return [r["body"]["alert"] for r in self.requests if r["body"]["event"]["serviceName"] == service]

    def close(self) -> None:
        self.released.set()
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def receivers() -> Iterator[list]:
    made: List[Receiver] = []
    yield made
    for receiver in made:
        receiver.close()


def register(server: Server, name: str, health: dict) -> TopologyClient:
    client = TopologyClient(server.address, timeout=5, health_provider=lambda: health[name])
    client.register(name)
    return client


def test_a_service_life_is_posted_in_order_and_a_filter_selects(receivers) -> None:
    every, only_dead = Receiver(), Receiver()
    receivers += [every, only_dead]
    server = Server("--webhook-url", every.url("/all?token=s3cret"), "--webhook-url", only_dead.url("/dead") + "#events=dead")
    health = {"orders": HealthState.HEALTH_STATE_HEALTHY, "billing": HealthState.HEALTH_STATE_HEALTHY}
    clients = []
    try:
        assert "webhook_url=http://127.0.0.1:" in next(line for line in server.log if 'msg="listening"' in line)
        assert "s3cret" not in "\n".join(server.log), "the path and query of a webhook are not logged"
        clients = [register(server, "orders", health), register(server, "billing", health)]
        health["orders"] = HealthState.HEALTH_STATE_UNHEALTHY
        wait_for(lambda: every.alerts("orders") == ["unhealthy"], 10, "the unhealthy alert")
        health["orders"] = HealthState.HEALTH_STATE_HEALTHY
        wait_for(lambda: every.alerts("orders") == ["unhealthy", "recovered"], 10, "the recovery alert")
        clients.pop(0).close()  # no more heartbeats: STALE, then DEAD
        wait_for(lambda: every.alerts("orders") == ["unhealthy", "recovered", "stale", "dead"], 10, "stale and dead alerts")

        bodies = [r["body"] for r in every.requests]
        assert all(r["path"] == "/all?token=s3cret" and r["content_type"] == "application/json" for r in every.requests)
        sequences = [int(b["event"]["sequence"]) for b in bodies]
        assert sequences == sorted(sequences), "delivered in the order they happened"
        dead = bodies[-1]
        assert dead["serverEpoch"] == server.epoch
        assert dead["event"]["type"] == "state" and dead["event"]["to"] == "SERVICE_STATE_DEAD"
        assert every.alerts("billing") == []

        wait_for(lambda: len(only_dead.requests) == 1, 5, "the dead alert at the filtered webhook")
        time.sleep(0.3)  # nothing else is coming to it
        assert [r["body"]["alert"] for r in only_dead.requests] == ["dead"] and only_dead.requests[0]["path"] == "/dead"

        samples = scrape(server)
        assert samples[("TYPE", "topology_webhook_deliveries")] == "counter"
        assert value(samples, "topology_webhook_deliveries_total", webhook="1") == 4
        assert value(samples, "topology_webhook_deliveries_total", webhook="2") == 1
        assert value(samples, "topology_webhook_failures_total", webhook="1") == 0
        assert value(samples, "topology_webhook_queue", webhook="1") == 0
    finally:
        for client in clients:
            client.close()
        server.stop()


def test_a_receiver_answering_500_gets_the_alert_again_and_the_order_holds(receivers) -> None:
    flaky = Receiver(failures=2)
    receivers.append(flaky)
    server = Server("--webhook-url", flaky.url() + "#events=stale,dead")
    health = {"cart": HealthState.HEALTH_STATE_HEALTHY}
    try:
        register(server, "cart", health).close()
        # 500, 500 (backoff 250 ms, then 500 ms), then 200 for stale; then dead, which waited behind it.
        wait_for(lambda: flaky.alerts("cart") == ["stale", "stale", "stale", "dead"], 10, "three tries of stale, then dead")
        gaps = [b["at_ms"] - a["at_ms"] for a, b in zip(flaky.requests, flaky.requests[1:3])]
        assert gaps[0] >= 240 and gaps[1] >= 490, gaps
        wait_for(lambda: value(scrape(server), "topology_webhook_deliveries_total", webhook="1") == 2, 5, "two deliveries counted")
        samples = scrape(server)
        assert value(samples, "topology_webhook_failures_total", webhook="1") == 2
        assert value(samples, "topology_webhook_dropped_total", webhook="1", reason="gave_up") == 0
        assert any("webhook attempt failed" in line and "HTTP 500" in line for line in server.log)
    finally:
        server.stop()


def test_a_receiver_that_hangs_times_out_and_delays_no_other(receivers) -> None:
    hanging, prompt = Receiver(hang=True), Receiver()
    receivers += [hanging, prompt]
    server = Server("--webhook-url", hanging.url(), "--webhook-url", prompt.url(), "--webhook-timeout-ms", "2000")
    health = {"search": HealthState.HEALTH_STATE_HEALTHY}
    try:
        started = time.monotonic()
        register(server, "search", health).close()
        wait_for(lambda: prompt.alerts("search") == ["stale", "dead"], 10, "both alerts at the prompt receiver")
        # Each alert reached the prompt receiver well within the hanging one's 2 s timeout of happening.
        lags = [r["at_ms"] - int(r["body"]["event"]["timeMs"]) for r in prompt.requests]
        assert all(lag < 1000 for lag in lags), lags
        assert len(hanging.requests) == 1, "the hanging receiver has the first alert, unanswered"
        # The server still answers while its webhook thread waits.
        assert server.get("/healthz") == b"ok\n"
        wait_for(lambda: value(scrape(server), "topology_webhook_failures_total", webhook="1") >= 1, 10, "the timeout counted")
        assert time.monotonic() - started >= 2.0
        assert any("webhook attempt failed" in line and "timed out" in line for line in server.log)
        assert value(scrape(server), "topology_webhook_failures_total", webhook="2") == 0
    finally:
        server.stop()
