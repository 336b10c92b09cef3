"use strict";
// The timeline panel: the server's event log (GET /api/v1/events, docs/dashboard.md) read every
// second from the last revision seen, newest event on top; and the scrubber over the server's
// history of the graph (GET /api/v1/history, /api/v1/topology?at=). A file of its own, apart from
// the graph script: it shares with it the page's token and colours, and hands it a past graph to
// show (TopologyPage.showPast) or asks it back to live (TopologyPage.goLive).
(function () {
  const POLL_MS = 1000;
  const MAX_ROWS = 500;   // the DOM holds at most this many; the server keeps more (--event-limit)
  const TOKEN = new URLSearchParams(location.search).get("access_token");
  const withToken = (url) => TOKEN === null ? url : url + (url.includes("?") ? "&" : "?") + "access_token=" + encodeURIComponent(TOKEN);
  const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });
  const strip = (value) => (value || "").replace(/^(SERVICE_STATE_|HEALTH_STATE_)/, "");
  const list = document.getElementById("timeline-list");
  const status = document.getElementById("timeline-status");
  let since = "0";
  let epoch = null;
  let missed = false;

  // What a row says after the service's name.
  function describe(event) {
    switch (event.type) {
      case "state": return strip(event.from) + " \u2192 " + strip(event.to);
      case "health": return "health " + strip(event.from) + " \u2192 " + strip(event.to);
      case "edge_added": return "calls " + event.target;
      case "edge_failing": return "\u2192 " + event.target + " failing, " + (event.errorRate * 100).toFixed(0) + " % errors";
      case "edge_recovered": return "\u2192 " + event.target + " recovered";
      case "edge_removed": return "\u2192 " + event.target + " gone";
      default: return event.type;
    }
  }

  // The colour class of a row: what an operator should notice.
  function severity(event) {
    if (event.type === "state") return strip(event.to) === "DEAD" ? "bad" : strip(event.to) === "STALE" ? "warn" : "";
    if (event.type === "health") return strip(event.to) === "UNHEALTHY" ? "bad" : strip(event.to) === "DEGRADED" ? "warn" : "";
    if (event.type === "edge_failing") return "bad";
    if (event.type === "removed") return "warn";
    return "";
  }

  function row(event) {
    const li = document.createElement("li");
    li.dataset.type = event.type;
    li.dataset.service = event.serviceName;
    li.dataset.revision = event.revision;
    li.dataset.time = event.timeMs;
    li.title = "show the graph just before this";
    if (event.to) li.dataset.to = strip(event.to);
    li.className = severity(event);
    const time = document.createElement("time");
    time.textContent = clock(Number(event.timeMs));
    const name = document.createElement("b");
    name.textContent = event.serviceName;
    const what = document.createElement("span");
    what.textContent = " " + describe(event);
    li.append(time, " ", name, what);
    return li;
  }

  function show(page) {
    if (epoch !== page.serverEpoch) {
      // Another server process: its revisions start again from 1.
      if (epoch !== null) list.replaceChildren();
      epoch = page.serverEpoch;
      if (since !== "0") { since = "0"; return true; }
    }
    missed = missed || page.missed;
    for (const event of page.events) list.prepend(row(event));
    while (list.childElementCount > MAX_ROWS) list.lastElementChild.remove();
    if (page.events.length > 0) since = page.events[page.events.length - 1].revision;
    status.textContent = list.childElementCount + " events" + (missed ? " (older ones evicted)" : "");
    status.dataset.state = "live";
    return page.more;
  }

  async function poll() {
    let again = false;
    try {
      const response = await fetch(withToken("/api/v1/events?limit=" + MAX_ROWS + "&since=" + since), { cache: "no-store" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      again = show(await response.json());
    } catch (error) {
      status.textContent = "events unavailable: " + error.message;
      status.dataset.state = "offline";
    }
    setTimeout(poll, again ? 0 : POLL_MS);
  }

  // ---- the scrubber: a range over the history's span; live keeps the thumb at its end ----------
  const scrubber = document.getElementById("scrubber");
  const scrub = document.getElementById("scrub");
  const label = document.getElementById("scrub-label");
  const liveButton = document.getElementById("scrub-live");
  let shown = 0;              // requests for a past graph made, so that only the latest one is shown

  // The span the history holds: the range's ends, read every second.
  async function pollHistory() {
    try {
      const response = await fetch(withToken("/api/v1/history"), { cache: "no-store" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const history = await response.json();
      const usable = history.startMs !== null && !history.paused;
      scrub.disabled = !usable;
      scrub.title = history.paused || (usable ? "" : "no history yet (docs/dashboard.md, --history-minutes)");
      if (usable) {
        scrub.min = history.startMs;
        scrub.max = history.endMs;
        if (TopologyPage.pastAt() === null) scrub.value = history.endMs;
      }
    } catch (error) {
      scrub.disabled = true;
      scrub.title = "history unavailable: " + error.message;
    }
    setTimeout(pollHistory, POLL_MS);
  }

  // The graph at `at` (Unix ms): the server's latest sample at or before it.
  async function showAt(at) {
    const request = ++shown;
    label.textContent = "loading " + clock(at) + "…";
    try {
      const response = await fetch(withToken("/api/v1/topology?at=" + Math.round(at)), { cache: "no-store" });
      const body = await response.json();
      if (request !== shown) return;
      if (!response.ok) { label.textContent = body.error || "HTTP " + response.status; return; }
      TopologyPage.showPast(body, at);
      scrub.value = at;
      scrubber.dataset.past = "true";
      label.textContent = "viewing " + clock(at) + " \u2014";
      liveButton.hidden = false;
    } catch (error) {
      if (request === shown) label.textContent = "history unavailable: " + error.message;
    }
  }

  function backToLive() {
    shown++;
    TopologyPage.goLive();
    delete scrubber.dataset.past;
    label.textContent = "live";
    liveButton.hidden = true;
    scrub.value = scrub.max;
  }

  scrub.addEventListener("input", () => { label.textContent = clock(Number(scrub.value)) + "?"; });
  scrub.addEventListener("change", () => {
    // At the right end the range means now: back to the stream rather than a frozen sample.
    if (Number(scrub.value) >= Number(scrub.max)) backToLive(); else showAt(Number(scrub.value));
  });
  liveButton.addEventListener("click", backToLive);
  // An event's row: the graph just before it (a death shows the service still drawn).
  list.addEventListener("click", (ev) => {
    const li = ev.target.closest("li[data-time]");
    if (li) showAt(Number(li.dataset.time) - 1);
  });

  document.getElementById("timeline-toggle").addEventListener("click", () => {
    document.getElementById("timeline").classList.toggle("collapsed");
  });
  poll();
  pollHistory();
})();
