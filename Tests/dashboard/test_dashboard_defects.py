"""The defects of issue 17, each in a real browser against a real server. Services are driven
through the seed reporter API (POST /register, /heartbeat, /activity, /unregister on the HTTP port),
so a test decides exactly when a service heartbeats, calls, falls silent or leaves."""

from __future__ import annotations

import json
import re
import threading
import time

from chromium import click_node, details, drawn_nodes, edges, nodes, total
from dashboard_support import Server, wait_for


def test_a_restarted_target_leaves_no_ghost_and_no_placeholder_outlives_the_services(page) -> None:
    browser, _, reporter = page()
    reporter.register("checkout")
    reporter.register("orders")
    reporter.call("checkout", "orders")
    wait_for(lambda: any(e["target"] == "orders" for e in edges(browser)), 10, "the checkout -> orders edge")

    # orders leaves (its edges with it) while checkout goes on calling it: the new edge names a
    # target nobody registered, drawn as a placeholder.
    reporter.unregister("orders")
    wait_for(lambda: not edges(browser), 10, "the edge to leave with orders")
    reporter.call("checkout", "orders")
    wait_for(lambda: [n["label"] for n in drawn_nodes(browser) if n["name"] == "orders"] == ["orders (unregistered)"], 10,
             "the placeholder for the unregistered orders")

    # orders comes back: one node for it, the placeholder gone (it was left drawn, a ghost).
    reporter.register("orders")
    wait_for(lambda: any(n["name"] == "orders" and n["label"] == "orders" for n in drawn_nodes(browser)), 10, "orders registered again")
    assert [n["label"] for n in drawn_nodes(browser) if n["name"] == "orders"] == ["orders"], drawn_nodes(browser)

    # Every service leaves: nothing is drawn at all.
    reporter.unregister("checkout")
    reporter.unregister("orders")
    wait_for(lambda: browser.evaluate("document.getElementById('total-services').textContent") == "0 services", 10, "0 services")
    wait_for(lambda: drawn_nodes(browser) == [], 5, "an empty graph, not " + json.dumps(drawn_nodes(browser)))


def test_the_edges_of_a_stale_service_say_no_data(page) -> None:
    browser, _, reporter = page("--timeout-multiplier", "100")  # STALE after 2 intervals, DEAD only after 100
    reporter.register("caller")
    reporter.register("callee")
    for _ in range(5):
        reporter.call("caller", "callee", latency_ms=7)
    edge = wait_for(lambda: next((e for e in edges(browser) if e["source"] == "caller" and e["rps"] > 0), None), 10, "the edge's rate")
    assert re.fullmatch(r"[0-9.]+ rps · p99 [0-9.]+ ms", edge["label"]), edge

    reporter.silence("caller")
    wait_for(lambda: nodes(browser)["caller"]["state"] == "STALE", 10, "caller STALE")
    wait_for(lambda: [e["label"] for e in edges(browser)] == ["no data"], 5,
             "the STALE caller's edge to say 'no data', not " + json.dumps([e["label"] for e in edges(browser)]))


def test_the_dead_counter_counts_the_deaths_seen_on_the_stream(page) -> None:
    browser, _, reporter = page()
    for name in ("first", "second", "survivor"):
        reporter.register(name)
    wait_for(lambda: len(nodes(browser)) == 3, 10, "three services")
    wait_for(lambda: total(browser, "DEAD") == "dead 0", 2, "dead 0 in the totals")

    # A dead service shows red, then leaves the graph; the counter keeps it.
    reporter.silence("first")
    wait_for(lambda: "first" not in nodes(browser), 10, "first to die and leave the graph")
    wait_for(lambda: total(browser, "DEAD") == "dead 1", 2, "dead 1 in the totals")
    reporter.silence("second")
    wait_for(lambda: "second" not in nodes(browser), 10, "second to die and leave the graph")
    wait_for(lambda: total(browser, "DEAD") == "dead 2", 2, "dead 2 in the totals")
    # One that unregisters did not die.
    reporter.unregister("survivor")
    wait_for(lambda: not nodes(browser), 10, "survivor to leave")
    wait_for(lambda: total(browser, "DEAD") == "dead 2", 2, "dead 2 in the totals")


def test_an_unreachable_server_greys_the_graph_says_so_and_reconnects(page) -> None:
    browser, server, reporter = page()
    reporter.register("lonely")
    wait_for(lambda: "lonely" in nodes(browser), 10, "the service")
    banner = "(() => { const b = document.getElementById('offline'); return b && !b.hidden ? b.textContent : ''; })()"
    assert browser.evaluate(banner) == ""
    assert browser.evaluate("document.body.dataset.live") == "true"

    reporter.close()
    server.stop()
    text = wait_for(lambda: browser.evaluate(banner), 10, "a visible 'unreachable' banner")
    assert "unreachable" in text and "last known" in text, text
    assert browser.evaluate("document.body.dataset.live") == "false"

    # The server comes back on the same port: the page reconnects and is live again.
    again = Server("--http-address", server.http)
    try:
        wait_for(lambda: browser.evaluate(banner) == "" and browser.evaluate("document.body.dataset.live") == "true", 20,
                 "the page live again")
        wait_for(lambda: not nodes(browser), 10, "the new server's empty graph")
    finally:
        again.stop()


def test_a_busy_services_last_activity_is_current(page) -> None:
    # Heartbeat-only node updates come at most every 10 s: the node's own lastActivityMs lags.
    browser, _, reporter = page("--node-update-throttle-ms", "10000")
    reporter.register("busy")
    reporter.register("backend")
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            reporter.call("busy", "backend")
            time.sleep(0.02)
    worker = threading.Thread(target=traffic, daemon=True)
    worker.start()
    try:
        wait_for(lambda: nodes(browser)["busy"]["state"] == "ACTIVE", 10, "busy ACTIVE")
        click_node(browser, "busy")
        started = time.monotonic()
        ages = []
        # Sampled for 4 s of steady traffic: each reading is a call made a moment ago.
        while time.monotonic() - started < 4:
            row = details(browser).get("last activity", "")
            match = re.fullmatch(r"([0-9.]+) s ago", row)
            assert match, row
            ages.append(float(match.group(1)))
            time.sleep(0.25)
        assert max(ages) < 1.5, ages
    finally:
        stop.set()
        worker.join(timeout=5)
