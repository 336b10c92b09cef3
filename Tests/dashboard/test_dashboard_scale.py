"""The page at scale: 1,000 services in 8 teams and 2,000 edges, with activity flowing all the
while (edge and node updates on the stream), in headless Chromium. The frame rate is counted with
requestAnimationFrame over the DevTools protocol, in the fitted view, zoomed in, and grouped by team
and collapsed. The figures are printed (pytest -s) and written to .build/dashboard/scale.json;
docs/performance.md has them with the command. The asserted floor is far below what was measured:
this machine is shared and noisy, and a floor only catches the page falling back to seconds a frame
(the page before issue 17 ran at 2.5 frames per second here)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import threading
from typing import Iterator, List, Tuple

import pytest

from chromium import Browser, inspect
from dashboard_support import REPO, Server, wait_for

SERVICES, TEAMS = 1000, 8
FLOOR_FPS = 6  # the page before issue 17: 2.5; under a load average of 10 the slowest view measured 10

# Frames counted for a while; with panning, each frame also moves the view (as a drag does), so each
# one is drawn: the figure for a user moving around, not only for a picture taking updates.
COUNT_FRAMES_JS = """new Promise(done => {
  const applied = TopologyPage.model.applied(), start = performance.now(), panning = %s;
  let frames = 0;
  const tick = (t) => { frames++; if (panning) TopologyPage.pan(frames %% 120 < 60 ? 3 : -3, 0);
    if (t - start < %d) requestAnimationFrame(tick);
    else done({fps: frames * 1000 / (t - start), updates: TopologyPage.model.applied() - applied,
               frameMs: TopologyPage.frameMs()}); };
  requestAnimationFrame(tick);
})"""


class Fleet:
    """1,000 services registered over Connect (JSON, with team metadata), 2,000 edges reported over
    the reporter API on one kept-alive connection; a thread goes on reporting calls on every edge
    in turn (a report also counts as the caller's heartbeat)."""

    def __init__(self, server: Server) -> None:
        self.connection = http.client.HTTPConnection(server.http, timeout=10)
        self.ids: List[str] = []
        for i in range(SERVICES):
            team = f"team-{i % TEAMS}"
            body = {"serviceName": f"svc-{i:04d}", "serviceType": "SERVICE_TYPE_SERVER", "language": "SERVICE_LANGUAGE_GO",
                    "metadata": {"team": team, "environment": "prod", "region": f"region-{i % 3}"}}
            answer = self.post("/runtime.v1.TopologyService/RegisterService", body)
            self.ids.append(answer["handle"]["serviceId"])
        # Two calls from each service: one inside its team (i + 8 has the same i % 8), one across.
        self.edges: List[Tuple[int, int]] = sorted({(i, (i + TEAMS) % SERVICES) for i in range(SERVICES)} |
                                                   {(i, (i * 7 + 3) % SERVICES) for i in range(SERVICES)})
        assert len(self.edges) == 2 * SERVICES
        self.calls = 0
        self._stop = threading.Event()
        self.report_all()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def post(self, path: str, body: dict) -> dict:
        self.connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = self.connection.getresponse()
        data = response.read()
        assert response.status == 200, (path, response.status, data)
        return json.loads(data)

    def report_all(self) -> None:
        for source, target in self.edges:
            if self._stop.is_set():
                return
            self.post("/activity", {"serviceId": self.ids[source], "targetService": f"svc-{target:04d}",
                                    "type": "ACTIVITY_TYPE_REQUEST_SENT", "latencyMs": 2 + source % 9, "success": True})
            self.calls += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            self.report_all()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=20)
        self.connection.close()


@pytest.fixture
def fleet_page() -> Iterator[tuple]:
    # DEAD only after 100 s without a call: the reports keep all 1,000 alive however slow this machine.
    server = Server("--heartbeat-interval-ms", "5000", "--timeout-multiplier", "20", "--max-services", "5000")
    browser = fleet = None
    try:
        browser = Browser(server.base_url + "/")
        wait_for(lambda: browser.evaluate("document.getElementById('conn').dataset.state") == "live", 15, "the page to connect")
        # The floor, in the same run: the frame rate of this browser on this machine right now, with
        # the page empty and nothing flowing.
        idle = browser.evaluate_async(COUNT_FRAMES_JS % ("false", 3000), timeout=40)["fps"]
        fleet = Fleet(server)
        yield browser, fleet, idle
    finally:
        if fleet is not None:
            fleet.close()
        if browser is not None:
            browser.close()
        server.stop()


def measure(browser: Browser, what: str, figures: dict, seconds: float = 5, panning: bool = False) -> dict:
    result = browser.evaluate_async(COUNT_FRAMES_JS % ("true" if panning else "false", int(seconds * 1000)), timeout=seconds + 30)
    frame_ms = sorted(result.pop("frameMs")) or [0.0]
    result["frame_ms_median"] = frame_ms[len(frame_ms) // 2]
    result["frame_ms_p90"] = frame_ms[int(len(frame_ms) * 0.9)]
    result["ratio to floor"] = result["fps"] / figures["empty page (floor)"]["fps"]
    figures[what] = result
    print(f"{what}: {result['fps']:.1f} frames/s ({result['ratio to floor']:.2f} of the floor), {result['updates']} updates applied, "
          f"work per frame drawn {result['frame_ms_median']:.1f} ms median, {result['frame_ms_p90']:.1f} ms p90")
    return result


def screenshot(browser: Browser, name: str) -> None:
    """To .build/dashboard; with TOPOLOGY_UPDATE_SCREENSHOT=1 also to docs/images (docs/dashboard.md shows them)."""
    shot = REPO / ".build" / "dashboard" / name
    browser.screenshot(shot)
    if os.environ.get("TOPOLOGY_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, REPO / "docs" / "images" / name)


def test_a_thousand_services_and_two_thousand_edges_stay_smooth(fleet_page) -> None:
    browser, fleet, idle = fleet_page
    counts = lambda: (lambda s: (len(s["nodes"]), len(s["edges"])))(inspect(browser))  # noqa: E731
    wait_for(lambda: counts() == (SERVICES, 2 * SERVICES), 60, "1,000 nodes and 2,000 edges on the page", interval=0.5)
    figures: dict = {"services": SERVICES, "edges": 2 * SERVICES, "empty page (floor)": {"fps": idle}}
    print(f"empty page (floor): {idle:.1f} frames/s")

    # The whole graph fitted to the window while the layout settles and updates flow.
    fitted = measure(browser, "fitted", figures)
    assert fitted["updates"] > 50, "no live updates flowed during the measurement"
    fitted_panned = measure(browser, "fitted, panning every frame", figures, panning=True)
    # Zoomed in (1.5:1) on one service: labels, badges and arrows drawn, what is off screen culled.
    browser.evaluate("(() => { const s = TopologyPage.scene; s.centreOn(TopologyPage.inspect().nodes[0].id); s.view.k = 1.5;"
                     " s.centreOn(TopologyPage.inspect().nodes[0].id); })()")
    zoomed = measure(browser, "zoomed in", figures)
    drawn = [n for n in inspect(browser)["nodes"] if n["drawn"]]
    figures["zoomed in"]["nodes drawn"] = len(drawn)
    panned = measure(browser, "zoomed in, panning every frame", figures, panning=True)
    assert 0 < len(drawn) < SERVICES, "zoomed in, what is off screen is not drawn"
    assert 0 < sum(n["labelDrawn"] for n in drawn) <= 150
    # Grouped by team and collapsed: 8 nodes, the edges between teams added up.
    browser.evaluate("(() => { const g = document.getElementById('group'); g.value = 'team'; g.dispatchEvent(new Event('change'));"
                     " const c = document.getElementById('collapse'); c.checked = true; c.dispatchEvent(new Event('change')); })()")
    grouped = wait_for(lambda: (lambda g: g if len(g) == TEAMS and all(x["collapsed"] for x in g) else None)(inspect(browser)["groups"]), 10,
                       "8 collapsed teams")
    assert sorted(g["count"] for g in grouped) == [SERVICES // TEAMS] * TEAMS
    # Each service has just jumped into its team's disc: measured while the layout settles, then after.
    settling = measure(browser, "grouped by team, collapsed, layout settling", figures)
    wait_for(lambda: browser.evaluate("TopologyPage.settled()"), 30, "the layout to settle", interval=0.5)
    collapsed = measure(browser, "grouped by team, collapsed", figures)
    screenshot(browser, "dashboard-1000-collapsed.png")
    # Expanded again, grouped: the halos and all 1,000 nodes.
    browser.evaluate("(() => { const c = document.getElementById('collapse'); c.checked = false; c.dispatchEvent(new Event('change')); })()")
    expanded = measure(browser, "grouped by team, expanded", figures)

    out = REPO / ".build" / "dashboard"
    out.mkdir(parents=True, exist_ok=True)
    figures["load average (1 min) at the end"] = os.getloadavg()[0]  # 2 cores, shared: the figures swing with it
    print(f"load average {figures['load average (1 min) at the end']:.1f}")
    (out / "scale.json").write_text(json.dumps(figures, indent=2))
    screenshot(browser, "dashboard-1000-teams.png")
    for what, result in (("fitted", fitted), ("fitted, panning", fitted_panned), ("zoomed in", zoomed), ("zoomed in, panning", panned),
                         ("settling", settling), ("collapsed", collapsed), ("expanded", expanded)):
        assert result["fps"] >= FLOOR_FPS, (what, result)
