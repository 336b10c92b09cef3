"""The timeline panel (Dashboard/timeline.js) in headless Chromium, and GET /api/v1/events behind it:
a service whose process is killed with SIGKILL (no unregister, no goodbye) shows in the timeline as
STALE, then DEAD, then removed, in the order the server recorded them. Its screenshot goes to
.build/dashboard/timeline.png; with TOPOLOGY_UPDATE_SCREENSHOT=1 also to docs/images/timeline.png."""

from __future__ import annotations

import json
import os
import shutil
import signal

from dashboard_support import REPO, Server, start_service, stop_process, wait_for
from test_browser import Browser

ROWS_JS = """JSON.stringify(Array.from(document.querySelectorAll('#timeline-list li')).map(li => ({
  type: li.dataset.type, service: li.dataset.service, to: li.dataset.to || '', revision: Number(li.dataset.revision),
  text: li.textContent, cls: li.className})))"""


def rows(browser: Browser) -> list:
    return json.loads(browser.evaluate(ROWS_JS))


def test_a_service_killed_with_sigkill_appears_in_the_timeline(browser_and_server) -> None:
    browser, server = browser_and_server
    victim = start_service(server, "orders")
    survivor = start_service(server, "billing")
    try:
        wait_for(lambda: {r["service"] for r in rows(browser) if r["type"] == "state" and r["to"] == "IDLE"} >= {"orders", "billing"},
                 15, "both services registered and IDLE in the timeline")
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=5)
        # Heartbeats every 200 ms: STALE after 400 ms of silence, DEAD after 600 ms; the panel reads every second.
        seen = wait_for(lambda: (lambda r: r if any(x["service"] == "orders" and x["type"] == "removed" for x in r) else None)(rows(browser)),
                        10, "orders removed in the timeline")
        orders = [r for r in seen if r["service"] == "orders"]
        # Newest on top: the order read bottom-up is the order of the log.
        assert [(r["type"], r["to"]) for r in reversed(orders)] == [
            ("registered", ""), ("state", "IDLE"), ("state", "STALE"), ("state", "DEAD"), ("removed", "")], orders
        dead = next(r for r in orders if r["to"] == "DEAD")
        assert "STALE \u2192 DEAD" in dead["text"] and dead["cls"] == "bad", dead
        revisions = [r["revision"] for r in seen]
        assert revisions == sorted(revisions, reverse=True), revisions
        assert not any(r["service"] == "billing" and r["to"] in ("STALE", "DEAD") for r in rows(browser))
        status = browser.evaluate("document.getElementById('timeline-status').textContent")
        assert status == f"{len(rows(browser))} events", status
        # The panel sits beside the graph, not over it: a service drawn under it could be neither
        # seen nor clicked (a click test once hit the panel's rows instead of a node).
        graph, panel = json.loads(browser.evaluate("JSON.stringify(['graph', 'timeline'].map(id => (r => [r.left, r.top, r.right, r.bottom])("
                                                   "document.getElementById(id).getBoundingClientRect())))"))
        overlap = min(graph[2], panel[2]) - max(graph[0], panel[0]), min(graph[3], panel[3]) - max(graph[1], panel[1])
        assert panel[3] > panel[1] and not (overlap[0] > 0 and overlap[1] > 0), (graph, panel)

        shot = REPO / ".build" / "dashboard" / "timeline.png"
        browser.screenshot(shot)
        assert shot.stat().st_size > 10_000
        if os.environ.get("TOPOLOGY_UPDATE_SCREENSHOT") == "1":
            shutil.copyfile(shot, REPO / "docs" / "images" / "timeline.png")

        # The same events through the API the panel reads.
        page = json.loads(server.get("/api/v1/events?since=0"))
        api = [(e["type"], e.get("to", "")) for e in page["events"] if e["serviceName"] == "orders"]
        assert api == [("registered", ""), ("state", "SERVICE_STATE_IDLE"), ("state", "SERVICE_STATE_STALE"),
                       ("state", "SERVICE_STATE_DEAD"), ("removed", "")], api
        assert page["serverEpoch"] == server.epoch and page["evicted"] == "0" and page["missed"] is False
    finally:
        stop_process(victim)
        stop_process(survivor)


def test_a_page_opened_after_evictions_says_older_events_are_gone() -> None:
    """With --event-limit 4 the server keeps four events; a page that opens later shows those four
    and says that older ones were evicted (a page that was open all along has seen them)."""
    server = Server("--event-limit", "4")
    services = [start_service(server, f"s{i}") for i in range(3)]
    browser = None
    try:
        page = wait_for(lambda: (lambda p: p if int(p["evicted"]) >= 2 else None)(json.loads(server.get("/api/v1/events"))),
                        15, "the log to evict")
        assert len(page["events"]) == 4 and page["missed"] is True
        browser = Browser(server.base_url + "/")
        status = wait_for(lambda: (lambda s: s if "evicted" in s else None)(
            browser.evaluate("document.getElementById('timeline-status').textContent")), 10, "the panel to say so")
        assert status == "4 events (older ones evicted)", status
        assert len(rows(browser)) == 4
    finally:
        for proc in services:
            stop_process(proc)
        if browser is not None:
            browser.close()
        server.stop()
