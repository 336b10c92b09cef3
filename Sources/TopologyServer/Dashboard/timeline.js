"use strict";
// The timeline panel: the server's event log (GET /api/v1/events, docs/dashboard.md) read every
// second from the last revision seen, newest event on top. A file of its own, apart from the graph
// script: it shares nothing with it but the page's token and colours.
(function () {
  const POLL_MS = 1000;
  const MAX_ROWS = 500;   // the DOM holds at most this many; the server keeps more (--event-limit)
  const TOKEN = new URLSearchParams(location.search).get("access_token");
  const withToken = (url) => TOKEN === null ? url : url + "&access_token=" + encodeURIComponent(TOKEN);
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
    if (event.to) li.dataset.to = strip(event.to);
    li.className = severity(event);
    const time = document.createElement("time");
    time.textContent = new Date(Number(event.timeMs)).toLocaleTimeString([], { hour12: false });
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

  document.getElementById("timeline-toggle").addEventListener("click", () => {
    document.getElementById("timeline").classList.toggle("collapsed");
  });
  poll();
})();
