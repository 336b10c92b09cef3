"""The dashboard in a real browser: headless Chromium (Debian's `chromium`, see
scripts/setup-browser.sh) loads the page from a real topology-server while this test registers three
services in three languages, reports traffic between two of them and lets the third die. Assertions
read the live DOM over the DevTools protocol (``websocket-client``, test-only).

The screenshot goes to .build/dashboard/dashboard.png; with TOPOLOGY_UPDATE_SCREENSHOT=1 also to
docs/images/dashboard.png (the one docs/dashboard.md shows)."""

from __future__ import annotations

import os
import shutil
import threading
import time
import urllib.error
from pathlib import Path

import pytest

from chromium import Browser, click_node, edges, nodes
from dashboard_support import REPO, Server, wait_for
from topology_client import HealthState, ServiceLanguage, ServiceMetrics, TopologyClient


def test_dashboard_shows_services_traffic_and_death(browser_and_server) -> None:
    browser, server = browser_and_server
    wait_for(lambda: browser.evaluate("document.getElementById('conn').dataset.state") == "live", 15, "the page to connect")

    services = {"checkout": ServiceLanguage.SERVICE_LANGUAGE_PYTHON, "payments": ServiceLanguage.SERVICE_LANGUAGE_GO,
                "inventory": ServiceLanguage.SERVICE_LANGUAGE_RUST}
    health = {"checkout": HealthState.HEALTH_STATE_HEALTHY, "payments": HealthState.HEALTH_STATE_DEGRADED,
              "inventory": HealthState.HEALTH_STATE_HEALTHY}
    clients = {}
    stop_traffic = threading.Event()
    try:
        for name, language in services.items():
            client = TopologyClient(server.address, timeout=5, health_provider=lambda n=name: health[n],
                                    metrics_provider=lambda: ServiceMetrics(cpu_percent=12.5, memory_bytes=48 << 20))
            client.register(name, language=language, version="1.2.3", metadata={"environment": "staging"})
            clients[name] = client

        # All three appear, alive, with their names and language badges.
        seen = wait_for(lambda: (lambda n: n if len(n) == 3 and all(
            v["state"] in ("REGISTERED", "IDLE") and v["drawn"] for v in n.values()) else None)(nodes(browser)), 10, "three live nodes drawn")
        assert {n: v["language"] for n, v in seen.items()} == {"checkout": "Python", "payments": "Go", "inventory": "Rust"}
        assert {n: v["badge"] for n, v in seen.items()} == {"checkout": "PY", "payments": "GO", "inventory": "RS"}
        assert all(v["label"] == n and not v["hidden"] for n, v in seen.items())
        # Once the newcomers have moved apart, every label is drawn (none left out for covering another).
        wait_for(lambda: all(v["labelDrawn"] for v in nodes(browser).values()), 5, "the three labels drawn")
        wait_for(lambda: all(v["state"] == "IDLE" for v in nodes(browser).values()), 5, "IDLE after the first heartbeats")
        # The health ring follows the health each service reports.
        wait_for(lambda: {n: v["health"] for n, v in nodes(browser).items()} ==
                 {"checkout": "HEALTHY", "payments": "DEGRADED", "inventory": "HEALTHY"}, 5, "health rings")

        # Traffic checkout -> payments, 50 calls a second, flushed by the client every activity period.
        def traffic() -> None:
            while not stop_traffic.is_set():
                clients["checkout"].report_call("payments", "Charge", latency_ms=4.0, ok=True)
                time.sleep(0.02)
        threading.Thread(target=traffic, daemon=True).start()

        edge = wait_for(lambda: next((e for e in edges(browser) if e["source"] == "checkout" and e["target"] == "payments"
                                      and e["rps"] > 5), None), 10, "the checkout -> payments edge with its rps")
        assert edge["state"] == "CONNECTION_STATE_ACTIVE"
        assert edge["label"].startswith(f"{edge['rps']:.1f} rps") or edge["label"].startswith(f"{edge['rps']:.0f} rps"), edge
        assert "p99" in edge["label"]
        assert nodes(browser)["checkout"]["state"] == "ACTIVE"
        # The totals are redrawn at most four times a second.
        total_rps = wait_for(lambda: (lambda t: t if float(t.split()[0]) > 5 else None)(
            browser.evaluate("document.getElementById('total-rps').textContent")), 2, "the total rps")
        assert total_rps.endswith("rps total")

        # The filter box hides what does not match (by name or environment).
        browser.evaluate("(() => { const f = document.getElementById('filter'); f.value = 'pay'; f.dispatchEvent(new Event('input')); })()")
        hidden = {n: v["hidden"] for n, v in nodes(browser).items()}
        assert hidden == {"checkout": True, "payments": False, "inventory": True}
        browser.evaluate("(() => { const f = document.getElementById('filter'); f.value = 'staging'; f.dispatchEvent(new Event('input')); })()")
        assert not any(v["hidden"] for v in nodes(browser).values())
        browser.evaluate("(() => { const f = document.getElementById('filter'); f.value = ''; f.dispatchEvent(new Event('input')); })()")

        # Click a node: its details (language, version, environment, heartbeat age) fill the side panel.
        click_node(browser, "checkout")
        details = browser.evaluate("document.getElementById('details').innerText")
        assert details.splitlines()[0] == "checkout", details
        for expected in ("Python", "1.2.3", "staging", "ACTIVE", "HEALTHY", "s ago", "12.5 %", "48.0 MiB"):
            assert expected in details, (expected, details)

        # Let the layout settle, then the screenshot for people.
        time.sleep(1.5)
        shot = REPO / ".build" / "dashboard" / "dashboard.png"
        browser.screenshot(shot)
        assert shot.stat().st_size > 10_000
        if os.environ.get("TOPOLOGY_UPDATE_SCREENSHOT") == "1":
            (REPO / "docs" / "images").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, REPO / "docs" / "images" / "dashboard.png")

        # inventory stops heartbeating: it turns DEAD (red) briefly, then leaves the graph.
        clients.pop("inventory").close()
        wait_for(lambda: nodes(browser).get("inventory", {}).get("state") == "DEAD", 5, "inventory shown DEAD", interval=0.02)
        wait_for(lambda: "inventory" not in nodes(browser), 5, "inventory to leave the graph")
        remaining = nodes(browser)
        assert set(remaining) == {"checkout", "payments"}
        assert remaining["checkout"]["state"] == "ACTIVE"
        wait_for(lambda: browser.evaluate("document.getElementById('total-services').textContent") == "2 services", 2, "2 services in the totals")
    finally:
        stop_traffic.set()
        for client in clients.values():
            client.close()


def test_dashboard_reconnects_by_itself_and_resyncs_after_a_server_restart() -> None:
    first = Server()
    second = None
    browser = None
    clients = []
    try:
        browser = Browser(first.base_url + "/")
        wait_for(lambda: browser.evaluate("document.getElementById('conn').dataset.state") == "live", 15, "the page to connect")
        old = TopologyClient(first.address, timeout=5)
        clients.append(old)
        old.register("before-restart", language=ServiceLanguage.SERVICE_LANGUAGE_JAVA)
        wait_for(lambda: "before-restart" in nodes(browser), 10, "the first server's service")
        old_id = nodes(browser)["before-restart"]["id"]

        # The server goes away: the indicator says so.
        old.close()
        first.stop()
        wait_for(lambda: browser.evaluate("document.getElementById('conn').dataset.state") != "live", 10, "the indicator to leave 'live'")

        # A new server process on the same HTTP port: the page reconnects on its own, presents its
        # last event id (an id of the old process), and is given a resync snapshot, not deltas.
        second = Server("--http-address", first.http)
        new = TopologyClient(second.address, timeout=5)
        clients.append(new)
        new.register("after-restart", language=ServiceLanguage.SERVICE_LANGUAGE_CSHARP)
        after = wait_for(lambda: (lambda n: n if set(n) == {"after-restart"} else None)(nodes(browser)), 20,
                         "the page to show only the new server's service")
        assert after["after-restart"]["language"] == "C#"
        assert browser.evaluate("document.getElementById('conn').dataset.state") == "live"
        assert old_id not in [n["id"] for n in nodes(browser).values()]
        assert first.epoch and any("transport=sse" in line and f"resume={first.epoch}." in line for line in second.log), \
            "the page did not present its last event id:\n" + "\n".join(second.log)
    finally:
        for client in clients:
            client.close()
        if browser is not None:
            browser.close()
        first.stop()
        if second is not None:
            second.stop()


def test_dashboard_with_a_token_passes_it_on_and_says_when_it_is_refused(tmp_path: Path) -> None:
    token, rotated = "dashboard-test-token-3c59dc048e8850243be8079a5c74d079", "dashboard-rotated-token-0123456789"
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    first = Server("--auth-token-file", str(token_file))
    second = None
    browser = None
    client = None
    try:
        # Without the token even the page is refused.
        with pytest.raises(urllib.error.HTTPError) as refused:
            first.get("/")
        assert refused.value.code == 401
        assert refused.value.headers["WWW-Authenticate"] == 'Bearer realm="topology"'

        # Opened with ?access_token=, the page passes the token on to its event stream.
        browser = Browser(first.base_url + "/?access_token=" + token)
        wait_for(lambda: browser.evaluate("document.getElementById('conn').dataset.state") == "live", 15, "the page to connect")
        client = TopologyClient(first.address, timeout=5, token=token)
        client.register("guarded", language=ServiceLanguage.SERVICE_LANGUAGE_PYTHON)
        wait_for(lambda: "guarded" in nodes(browser), 10, "the service on the page")
        # Only the test's own request went without the token (the page asks for no favicon either).
        refusals = [line for line in first.log if "unauthorized" in line]
        assert len(refusals) == 1 and "path=/ " in refusals[0], "\n".join(first.log)

        # The server comes back with another token: the page says its token is refused.
        client.close()
        client = None
        first.stop()
        token_file.write_text(rotated + "\n")
        second = Server("--http-address", first.http, "--auth-token-file", str(token_file))
        wait_for(lambda: "token refused" in browser.evaluate("document.getElementById('conn-text').textContent"), 20,
                 "the indicator to say the token is refused")
        assert browser.evaluate("document.getElementById('conn').dataset.state") == "offline"
        assert any("http request unauthorized" in line and "reason=invalid" in line for line in second.log)
        for line in first.log + second.log:
            assert token not in line and rotated not in line, f"a log line holds a token: {line}"
    finally:
        if client is not None:
            client.close()
        if browser is not None:
            browser.close()
        first.stop()
        if second is not None:
            second.stop()
