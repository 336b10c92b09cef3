"""Issue 17's done-when line in headless Chromium: a service whose process is killed with SIGKILL
appears in the timeline, fires a webhook (a receiver on loopback) and shows in the per-service
series (parsed by prometheus_client); scrubbed back to before its death (the scrubber of
Dashboard/timeline.js, GET /api/v1/history and /api/v1/topology?at= behind it) the page draws it
alive, marked as the past; back to live it is gone again. Its screenshot goes to .build/dashboard/time-travel.png; with
TOPOLOGY_UPDATE_SCREENSHOT=1 also to docs/images/time-travel.png.

Every wait polls what the page or the server shows, within a bound; nothing sleeps for a timer."""

from __future__ import annotations

import json
import os
import shutil
import signal
import urllib.error

from chromium import Browser, nodes
from dashboard_support import REPO, Server, start_service, stop_process, wait_for
from test_metrics import scrape, value
from test_webhooks import Receiver

ROWS_JS = """JSON.stringify(Array.from(document.querySelectorAll('#timeline-list li')).map(li => ({
  type: li.dataset.type, service: li.dataset.service, to: li.dataset.to || '', time: Number(li.dataset.time)})))"""


def rows(browser: Browser) -> list:
    return json.loads(browser.evaluate(ROWS_JS))


def event(browser: Browser, service: str, kind: str, to: str = "") -> dict | None:
    return next((r for r in rows(browser) if r["service"] == service and r["type"] == kind and r["to"] == to), None)


def scrubber(browser: Browser) -> dict:
    return json.loads(browser.evaluate("""JSON.stringify({
      min: Number(document.getElementById('scrub').min), max: Number(document.getElementById('scrub').max),
      disabled: document.getElementById('scrub').disabled, label: document.getElementById('scrub-label').textContent,
      liveHidden: document.getElementById('scrub-live').hidden, conn: document.getElementById('conn').dataset.state,
      pastAt: TopologyPage.pastAt(), bodyPast: document.body.dataset.past === 'true'})"""))


def scrub_to(browser: Browser, at: int) -> None:
    """What a drag of the range ends with: its value set, then its change event."""
    browser.evaluate(f"(s => {{ s.value = {at}; s.dispatchEvent(new Event('change')); }})(document.getElementById('scrub'))")


def alive_on_page(browser: Browser, name: str) -> dict | None:
    node = nodes(browser).get(name)
    return node if node is not None and node["drawn"] and node["state"] != "DEAD" else None


def test_a_service_killed_with_sigkill_is_drawn_alive_when_scrubbed_back_and_gone_when_live(page) -> None:
    receiver = Receiver()
    # Samples every 100 ms, so the history holds the graph between the service's start and its death.
    # Heartbeats every 500 ms (not the fixture's 200): a survivor starved by a loaded machine for
    # 600 ms would die too.
    browser, server, _ = page("--history-interval-ms", "100", "--heartbeat-interval-ms", "500",
                              "--webhook-url", receiver.url("/dead") + "#events=dead", "--service-series-limit", "100")
    victim = start_service(server, "orders")
    survivor = start_service(server, "billing")
    try:
        wait_for(lambda: event(browser, "orders", "state", "IDLE") and event(browser, "billing", "state", "IDLE"),
                 15, "both services IDLE in the timeline")
        wait_for(lambda: any(s["nodes"] >= 2 for s in json.loads(server.get("/api/v1/history"))["samples"]),
                 10, "a history sample holding both services")
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=5)
        # STALE after 1 s of silence, DEAD after 1.5 s, then removed.
        wait_for(lambda: event(browser, "orders", "removed"), 10, "orders removed in the timeline")
        wait_for(lambda: "orders" not in nodes(browser) and alive_on_page(browser, "billing"), 10, "orders gone from the live graph")
        wait_for(lambda: receiver.alerts("orders") == ["dead"], 10, "the dead alert at the webhook")
        samples = wait_for(lambda: (lambda m: m if value(m, "topology_service_deaths_total", service="orders") == 1 else None)(
            scrape(server)), 10, "the death in the per-service series")
        # /metrics says what the history holds (scraped and read apart: a sample may come between).
        held = len(json.loads(server.get("/api/v1/history"))["samples"])
        assert value(samples, "topology_history_samples") > 0 and value(samples, "topology_history_bytes") > 0
        assert abs(value(samples, "topology_history_samples") - held) <= 2, (value(samples, "topology_history_samples"), held)
        assert value(samples, "topology_history_paused") == 0
        stale = event(browser, "orders", "state", "STALE")
        dead = event(browser, "orders", "state", "DEAD")
        assert stale and dead and stale["time"] <= dead["time"], (stale, dead)
        before = stale["time"] - 1

        # The server's answer at that time, and its bounds for a time it does not hold.
        past = json.loads(server.get(f"/api/v1/topology?at={before}"))
        assert {n["serviceName"] for n in past["nodes"]} == {"orders", "billing"}, past
        assert int(past["timestampMs"]) <= before
        try:
            server.get("/api/v1/topology?at=1000")
            raise AssertionError("a time before the history was answered")
        except urllib.error.HTTPError as error:
            assert error.code == 404
            body = json.loads(error.read())
            assert body["at"] == "1000" and int(body["startMs"]) <= before <= int(body["endMs"]), body

        # Scrubbed back: the range covers the time once the page has read the history's span.
        wait_for(lambda: (lambda s: not s["disabled"] and s["min"] <= before < s["max"])(scrubber(browser)),
                 10, "the scrubber to span the time before the death")
        scrub_to(browser, before)
        orders = wait_for(lambda: alive_on_page(browser, "orders"), 10, "orders drawn alive in the past graph")
        assert orders["state"] in ("IDLE", "ACTIVE", "REGISTERED"), orders
        state = scrubber(browser)
        assert state["pastAt"] == before and state["conn"] == "past" and state["bodyPast"], state
        assert browser.evaluate("document.getElementById('conn-text').textContent").startswith("viewing ")
        assert state["label"].startswith("viewing ") and not state["liveHidden"], state
        assert browser.evaluate("document.getElementById('scrub-live').textContent") == "back to live"
        assert browser.evaluate("document.getElementById('offline').hidden") is True  # the past is not an outage

        shot = REPO / ".build" / "dashboard" / "time-travel.png"
        browser.screenshot(shot)
        assert shot.stat().st_size > 10_000
        if os.environ.get("TOPOLOGY_UPDATE_SCREENSHOT") == "1":
            shutil.copyfile(shot, REPO / "docs" / "images" / "time-travel.png")

        # Back to live: the stream's fresh snapshot replaces the past graph; orders is gone again.
        browser.evaluate("document.getElementById('scrub-live').click()")
        wait_for(lambda: (lambda s: s["conn"] == "live" and s["pastAt"] is None)(scrubber(browser)), 10, "the page live again")
        wait_for(lambda: "orders" not in nodes(browser) and alive_on_page(browser, "billing"), 10, "orders gone once live")
        assert scrubber(browser)["label"] == "live" and scrubber(browser)["liveHidden"]

        # A click on the death in the timeline shows the graph just before it: orders still drawn.
        browser.evaluate("""Array.from(document.querySelectorAll('#timeline-list li'))
          .find(li => li.dataset.service === 'orders' && li.dataset.to === 'DEAD').click()""")
        orders = wait_for(lambda: alive_on_page(browser, "orders"), 10, "orders drawn when its death is clicked")
        assert orders["state"] in ("IDLE", "ACTIVE", "REGISTERED", "STALE"), orders
        browser.evaluate("document.getElementById('scrub-live').click()")
        wait_for(lambda: "orders" not in nodes(browser) and scrubber(browser)["conn"] == "live", 10, "live again after the click")
        # The death was counted once, however often the past brought the service back.
        assert wait_for(lambda: browser.evaluate(
            "document.querySelector('#totals span[data-state=\"DEAD\"]').textContent") == "dead 1", 5, "one death counted")
    finally:
        stop_process(victim)
        stop_process(survivor)
        receiver.close()


def test_with_history_off_at_says_so_and_metrics_hold_no_history_series() -> None:
    server = Server("--history-minutes", "0")
    try:
        index = json.loads(server.get("/api/v1/history"))
        assert index["startMs"] is None and index["samples"] == [] and index["retentionMs"] == "0", index
        try:
            server.get(f"/api/v1/topology?at={index['endMs']}")
            raise AssertionError("answered with the history off")
        except urllib.error.HTTPError as error:
            assert error.code == 404
            assert json.loads(error.read())["error"].startswith("the history is off (--history-minutes 0)")
        samples = scrape(server)
        assert ("TYPE", "topology_history_samples") not in samples and ("TYPE", "topology_revision") in samples
    finally:
        server.stop()
