"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const STATES = ["REGISTERED", "IDLE", "ACTIVE", "STALE", "DEAD"];
  const STATE_COLOR = { REGISTERED: "var(--registered)", IDLE: "var(--idle)", ACTIVE: "var(--active)", STALE: "var(--stale)", DEAD: "var(--dead)" };
  const HEALTH_COLOR = { HEALTHY: "#3fb950", DEGRADED: "#d29922", UNHEALTHY: "#f85149", STARTING: "#7aa2f7", UNKNOWN: "#57606a" };
  const LANG = { TYPESCRIPT: ["TS", "TypeScript"], RUST: ["RS", "Rust"], CPP: ["C++", "C++"], GO: ["GO", "Go"], PYTHON: ["PY", "Python"],
                 JAVA: ["JV", "Java"], CSHARP: ["C#", "C#"], C: ["C", "C"], SWIFT: ["SW", "Swift"], UNSPECIFIED: ["?", "unspecified"] };
  const HIGH_ERROR_RATE = 0.05;
  const DEAD_LINGER_MS = 1500;

  const nodes = new Map();   // service id -> {data, x, y, vx, vy, el, dying}
  const edges = new Map();   // "source\u0000target" -> {data, el}
  const phantoms = new Map(); // unresolved target name -> node-like record
  const deaths = new Set();   // ids of the services seen to die on the stream (they leave the graph)
  let selected = null;        // {kind: "node"|"edge", key}
  let lastEventId = "";
  let lostAt = 0;             // when the stream was lost (Date.now()), 0 while live
  let source = null;
  // The token this page was opened with (/?access_token=..., docs/security.md). EventSource cannot
  // send an Authorization header, so the page's own requests carry it in their query too.
  const ACCESS_TOKEN = new URLSearchParams(location.search).get("access_token");
  const withToken = (url) => ACCESS_TOKEN === null ? url
    : url + (url.includes("?") ? "&" : "?") + "access_token=" + encodeURIComponent(ACCESS_TOKEN);
  let alpha = 1;
  let dirty = true;
  let filterText = "";
  const view = { x: 0, y: 0, k: 1, fit: true };  // fit: follow the graph until the user zooms or pans

  const $ = (id) => document.getElementById(id);
  const svg = $("graph"), viewport = $("viewport"), edgeLayer = $("edges"), nodeLayer = $("nodes");
  const strip = (value, prefix) => (value || "").startsWith(prefix) ? value.slice(prefix.length) : (value || "");
  const stateOf = (node) => strip(node.state, "SERVICE_STATE_") || "UNSPECIFIED";
  const healthOf = (node) => strip(node.health, "HEALTH_STATE_") || "UNKNOWN";
  const langOf = (node) => LANG[strip(node.language, "SERVICE_LANGUAGE_") || "UNSPECIFIED"] || LANG.UNSPECIFIED;
  const num = (v) => (v === undefined || v === null || v === "") ? 0 : Number(v);
  const fmt = (v, digits) => { const n = num(v); return n >= 100 ? n.toFixed(0) : n.toFixed(digits === undefined ? 1 : digits); };
  const edgeKey = (e) => e.sourceServiceId + "\u0000" + e.targetService;
  function el(tag, attrs, parent) {
    const e = document.createElementNS(SVG, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  // ---- the stream -------------------------------------------------------------------------
  function setConnection(state, text) {
    $("conn").dataset.state = state;
    $("conn-text").textContent = text;
    // Off the stream the figures are frozen: grey the graph and say since when, so that nobody
    // reads a green graph as a healthy fleet.
    const live = state === "live";
    if (live) lostAt = 0; else if (!lostAt) lostAt = Date.now();
    document.body.dataset.live = String(live);
    const banner = $("offline");
    banner.hidden = live;
    if (!live) banner.textContent = "No live data since " + new Date(lostAt).toLocaleTimeString() + " (" + text +
      "): showing the last known graph, greyed out.";
  }

  function connect() {
    const url = "/api/v1/watch" + (lastEventId ? "?last_event_id=" + encodeURIComponent(lastEventId) : "");
    source = new EventSource(withToken(url));
    source.onopen = () => setConnection("live", "live");
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. the server answered with an error): try again ourselves,
        // resuming from the last event id we saw.
        setConnection("offline", "server unreachable, retrying…");
        source.close();
        // To EventSource a refused token is an error like any other: ask once more, to say so.
        fetch(withToken("/api/v1/watch"), { method: "HEAD", cache: "no-store" }).then((r) => {
          if (r.status === 401) {
            setConnection("offline", ACCESS_TOKEN === null ? "this server needs a token: open the page as /?access_token=…"
              : "token refused by the server, retrying…");
          }
        }).catch(() => {});
        setTimeout(connect, 2000);
      } else {
        setConnection("connecting", "server unreachable, reconnecting…");  // EventSource resends Last-Event-ID itself
      }
    };
    source.onmessage = (event) => {
      if (event.lastEventId) lastEventId = event.lastEventId;
      let update;
      try { update = JSON.parse(event.data); } catch (e) { return; }
      apply(update);
      setConnection("live", "live · rev " + (update.revision || "0"));
    };
  }

  function apply(u) {
    switch (u.type) {
      case "UPDATE_TYPE_SNAPSHOT": applySnapshot(u.snapshot || {}); break;
      case "UPDATE_TYPE_NODE_ADDED":
      case "UPDATE_TYPE_NODE_UPDATED": if (u.node) upsertNode(u.node); break;
      case "UPDATE_TYPE_NODE_REMOVED": if (u.node) removeNode(u.node); break;
      case "UPDATE_TYPE_EDGE_ADDED":
      case "UPDATE_TYPE_EDGE_UPDATED": if (u.edge) upsertEdge(u.edge); break;
      case "UPDATE_TYPE_EDGE_REMOVED": if (u.edge) removeEdge(edgeKey(u.edge)); break;
      default: return;  // PROGRESS and types this page does not know
    }
    dirty = true;  // drawn at the next animation frame: a burst of updates costs one render
  }

  function applySnapshot(s) {
    const keepNodes = new Set((s.nodes || []).map((n) => n.serviceId));
    for (const id of Array.from(nodes.keys())) if (!keepNodes.has(id)) dropNode(id);
    const keepEdges = new Set((s.edges || []).map(edgeKey));
    for (const key of Array.from(edges.keys())) if (!keepEdges.has(key)) removeEdge(key);
    for (const n of s.nodes || []) upsertNode(n);
    for (const e of s.edges || []) upsertEdge(e);
  }

  // ---- the model --------------------------------------------------------------------------
  function placeNear(id) {
    // A new node starts next to a node it has an edge with, else on a ring around the centre:
    // the layout settles locally instead of jumping.
    for (const e of edges.values()) {
      const other = e.data.sourceServiceId === id ? targetId(e.data) : (targetId(e.data) === id ? e.data.sourceServiceId : null);
      const n = other && nodes.get(other);
      if (n) return { x: n.x + (Math.random() - 0.5) * 80, y: n.y + (Math.random() - 0.5) * 80 };
    }
    const angle = Math.random() * Math.PI * 2, r = 120 + Math.sqrt(nodes.size) * 30;
    return { x: Math.cos(angle) * r, y: Math.sin(angle) * r };
  }

  function upsertNode(data) {
    let n = nodes.get(data.serviceId);
    if (!n) {
      const p = placeNear(data.serviceId);
      n = { data, x: p.x, y: p.y, vx: 0, vy: 0, el: null, dying: 0 };
      nodes.set(data.serviceId, n);
      const placeholder = phantoms.get(data.serviceName);
      if (placeholder) { if (placeholder.el) placeholder.el.remove(); phantoms.delete(data.serviceName); }
      alpha = Math.max(alpha, 0.5);
    }
    n.data = data;
    if (stateOf(data) === "DEAD" && !n.dying) { n.dying = Date.now(); deaths.add(data.serviceId); }
  }

  function removeNode(removed) {
    const id = removed.serviceId, n = nodes.get(id);
    // A coalesced stream may carry only the removal: its node says that it died.
    if (stateOf(removed) === "DEAD") deaths.add(id);
    if (!n) return;
    // A DEAD node shows red briefly before it leaves; an unregistered one leaves at once.
    if (!n.dying) { dropNode(id); return; }
    n.data = Object.assign({}, n.data, { state: "SERVICE_STATE_DEAD" });
    n.removed = true;
    setTimeout(() => { if (nodes.get(id) === n && n.removed) { dropNode(id); render(); } }, DEAD_LINGER_MS);
  }

  function dropNode(id) {
    const n = nodes.get(id);
    if (!n) return;
    if (n.el) n.el.remove();
    nodes.delete(id);
    if (selected && selected.kind === "node" && selected.key === id) select(null);
    alpha = Math.max(alpha, 0.3);
  }

  function targetId(e) { return e.targetServiceId || ("phantom:" + e.targetService); }

  function upsertEdge(data) {
    let e = edges.get(edgeKey(data));
    if (!e) { e = { data, el: null }; edges.set(edgeKey(data), e); alpha = Math.max(alpha, 0.4); }
    e.data = data;
    if (!data.targetServiceId && !phantoms.has(data.targetService)) {
      const src = nodes.get(data.sourceServiceId);
      phantoms.set(data.targetService, { data: { serviceId: "phantom:" + data.targetService, serviceName: data.targetService },
        x: (src ? src.x : 0) + 60, y: (src ? src.y : 0) + 60, vx: 0, vy: 0, el: null, phantom: true });
    }
  }

  function removeEdge(key) {
    const e = edges.get(key);
    if (!e) return;
    if (e.el) e.el.remove();
    edges.delete(key);
    if (selected && selected.kind === "edge" && selected.key === key) select(null);
  }

  function allNodes() {
    const list = Array.from(nodes.values());
    const used = new Set();
    for (const e of edges.values()) if (!e.data.targetServiceId) used.add(e.data.targetService);
    for (const [name, p] of phantoms) {
      if (used.has(name)) list.push(p); else { if (p.el) p.el.remove(); phantoms.delete(name); }
    }
    return list;
  }

  function nodeById(id) { return nodes.get(id) || phantoms.get(id.startsWith("phantom:") ? id.slice(8) : ""); }

  function matchesFilter(n) {
    if (!filterText) return true;
    const d = n.data, md = d.metadata || {};
    return (d.serviceName || "").toLowerCase().includes(filterText) || (md.environment || "").toLowerCase().includes(filterText);
  }

  // ---- layout: a force simulation that cools down and only reheats on structural changes ------
  function tick() {
    const list = allNodes();
    if (alpha > 0.005 && list.length) {
      const k = 90;
      for (let i = 0; i < list.length; i++) {
        const a = list[i];
        for (let j = i + 1; j < list.length; j++) {
          const b = list[j];
          let dx = a.x - b.x, dy = a.y - b.y, d2 = dx * dx + dy * dy;
          if (d2 < 1) { dx = Math.random() - 0.5; dy = Math.random() - 0.5; d2 = 1; }
          if (d2 > 250000) continue;
          const f = (k * k) / d2 * alpha;
          a.vx += dx * f / 10; a.vy += dy * f / 10; b.vx -= dx * f / 10; b.vy -= dy * f / 10;
        }
        a.vx -= a.x * 0.012 * alpha; a.vy -= a.y * 0.012 * alpha;  // gravity to the centre
      }
      for (const e of edges.values()) {
        const a = nodes.get(e.data.sourceServiceId), b = nodeById(targetId(e.data));
        if (!a || !b) continue;
        const dx = b.x - a.x, dy = b.y - a.y, d = Math.sqrt(dx * dx + dy * dy) || 1;
        const f = (d - 160) * 0.02 * alpha;
        a.vx += dx / d * f; a.vy += dy / d * f; b.vx -= dx / d * f; b.vy -= dy / d * f;
      }
      for (const n of list) {
        n.vx *= 0.6; n.vy *= 0.6;
        n.x += Math.max(-20, Math.min(20, n.vx)); n.y += Math.max(-20, Math.min(20, n.vy));
      }
      alpha *= 0.985;
      dirty = true;
    }
    if (dirty) { dirty = false; render(); }
    requestAnimationFrame(tick);
  }

  // ---- rendering --------------------------------------------------------------------------
  function render() {
    const list = allNodes();
    for (const n of list) drawNode(n);
    for (const [key, e] of edges) drawEdge(key, e);
    if (view.fit) fitView(list);
    drawTotals();
    if (selected) showDetails();
  }

  function drawNode(n) {
    const d = n.data;
    if (!n.el) {
      n.el = el("g", { class: "node" }, nodeLayer);
      el("circle", { class: "ring", r: 17 }, n.el);
      el("circle", { class: "body", r: 13 }, n.el);
      el("rect", { class: "badge", x: -12, y: -30, width: 24, height: 12, rx: 3 }, n.el);
      el("text", { class: "badge", y: -21 }, n.el);
      el("text", { class: "label", y: 32 }, n.el);
      n.el.addEventListener("click", (ev) => { ev.stopPropagation(); select({ kind: "node", key: d.serviceId }); });
    }
    const g = n.el;
    const state = n.phantom ? "UNRESOLVED" : (n.dying ? "DEAD" : stateOf(d));
    const lang = n.phantom ? ["?", "unknown"] : langOf(d);
    g.setAttribute("transform", "translate(" + n.x.toFixed(1) + "," + n.y.toFixed(1) + ")");
    g.dataset.id = d.serviceId;
    g.dataset.name = d.serviceName;
    g.dataset.state = state;
    g.dataset.language = lang[1];
    g.dataset.health = n.phantom ? "" : healthOf(d);
    g.classList.toggle("phantom", !!n.phantom);
    g.classList.toggle("dying", !!n.dying);
    g.classList.toggle("selected", !!(selected && selected.kind === "node" && selected.key === d.serviceId));
    g.classList.toggle("hidden", !matchesFilter(n));
    g.children[0].setAttribute("stroke", n.phantom ? "none" : (HEALTH_COLOR[healthOf(d)] || HEALTH_COLOR.UNKNOWN));
    g.children[1].setAttribute("fill", STATE_COLOR[state] || "var(--unknown)");
    g.children[2].classList.toggle("hidden", !!n.phantom);
    g.children[3].textContent = n.phantom ? "" : lang[0];
    g.children[4].textContent = d.serviceName + (n.phantom ? " (unregistered)" : "");
  }

  function drawEdge(key, e) {
    const d = e.data;
    const a = nodes.get(d.sourceServiceId), b = nodeById(targetId(d));
    if (!e.el) {
      e.el = el("g", { class: "edge" }, edgeLayer);
      el("path", { class: "hit" }, e.el);
      el("path", { class: "line", "marker-end": "url(#arrow)" }, e.el);
      el("text", {}, e.el);
      e.el.addEventListener("click", (ev) => { ev.stopPropagation(); select({ kind: "edge", key }); });
    }
    const g = e.el;
    if (!a || !b) { g.classList.add("hidden"); return; }
    const dx = b.x - a.x, dy = b.y - a.y, len = Math.sqrt(dx * dx + dy * dy) || 1;
    const x1 = a.x + dx / len * 18, y1 = a.y + dy / len * 18, x2 = b.x - dx / len * 20, y2 = b.y - dy / len * 20;
    // A slight curve, so A->B and B->A do not overlap.
    const mx = (x1 + x2) / 2 - dy / len * 14, my = (y1 + y2) / 2 + dx / len * 14;
    const path = "M" + x1.toFixed(1) + "," + y1.toFixed(1) + " Q" + mx.toFixed(1) + "," + my.toFixed(1) + " " + x2.toFixed(1) + "," + y2.toFixed(1);
    g.children[0].setAttribute("d", path);
    g.children[1].setAttribute("d", path);
    const label = edgeLabel(d, a);
    const t = g.children[2];
    t.setAttribute("x", ((x1 + x2) / 2 * 0.5 + mx * 0.5).toFixed(1));
    t.setAttribute("y", ((y1 + y2) / 2 * 0.5 + my * 0.5 - 4).toFixed(1));
    t.textContent = label;
    g.dataset.source = a.data.serviceName;
    g.dataset.target = d.targetService;
    g.dataset.rps = String(num(d.rps));
    g.dataset.state = d.state || "CONNECTION_STATE_UNSPECIFIED";
    g.classList.toggle("errors", num(d.errorRate) > HIGH_ERROR_RATE);
    g.classList.toggle("selected", !!(selected && selected.kind === "edge" && selected.key === key));
    g.classList.toggle("hidden", !matchesFilter(a) && !matchesFilter(b));
  }

  // A silent caller's figures are not zeros but unknown; an edge without calls in the window has
  // no latency to show either.
  function edgeLabel(d, source) {
    const state = source.dying ? "DEAD" : stateOf(source.data);
    if (state === "STALE" || state === "DEAD" || (!num(d.rps) && d.latencyP99Ms === undefined)) return "no data";
    return fmt(d.rps) + " rps · p99 " + fmt(d.latencyP99Ms) + " ms";
  }

  function drawTotals() {
    const counts = {};
    for (const s of STATES) counts[s] = 0;
    for (const n of nodes.values()) { const s = n.dying ? "DEAD" : stateOf(n.data); if (s in counts) counts[s]++; }
    counts.DEAD = deaths.size;  // dead services leave the graph: count every death seen instead
    let rps = 0;
    for (const e of edges.values()) rps += num(e.data.rps);
    const box = $("totals");
    box.textContent = "";
    const total = document.createElement("span");
    total.id = "total-services";
    total.textContent = nodes.size + " services";
    box.appendChild(total);
    for (const s of STATES) {
      const span = document.createElement("span");
      span.dataset.state = s;
      if (s === "DEAD") span.title = "services seen to die since this page opened";
      const dot = document.createElement("i");
      dot.style.background = STATE_COLOR[s];
      span.appendChild(dot);
      span.appendChild(document.createTextNode(s.toLowerCase() + " " + counts[s]));
      box.appendChild(span);
    }
    const r = document.createElement("span");
    r.id = "total-rps";
    r.textContent = fmt(rps) + " rps total";
    box.appendChild(r);
  }

  // ---- details ----------------------------------------------------------------------------
  function select(sel) { selected = sel; render(); if (!sel) $("details").innerHTML = '<p class="hint">Click a service or an edge for its details.</p>'; }

  function age(ms) {
    const t = num(ms);
    if (!t) return "never";
    const s = Math.max(0, (Date.now() - t) / 1000);
    return s < 120 ? s.toFixed(1) + " s ago" : (s / 60).toFixed(0) + " min ago";
  }

  // The node's own lastActivityMs comes with throttled node updates (every --node-update-throttle-ms
  // for a busy service), its edges' with every activity flush: the latest of them is the truth.
  function lastActivity(d) {
    let last = num(d.lastActivityMs);
    for (const e of edges.values()) {
      if (e.data.sourceServiceId === d.serviceId || e.data.targetServiceId === d.serviceId) last = Math.max(last, num(e.data.lastActivityMs));
    }
    return last;
  }

  function bytes(v) {
    let n = num(v), u = 0;
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    while (n >= 1024 && u < units.length - 1) { n /= 1024; u++; }
    return n.toFixed(u ? 1 : 0) + " " + units[u];
  }

  function table(title, rows) {
    const aside = $("details");
    aside.textContent = "";
    const h = document.createElement("h2");
    h.textContent = title;
    aside.appendChild(h);
    const t = document.createElement("table");
    for (const [k, v] of rows) {
      if (v === undefined || v === null || v === "") continue;
      const tr = document.createElement("tr");
      const a = document.createElement("td"), b = document.createElement("td");
      a.textContent = k; b.textContent = String(v);
      tr.appendChild(a); tr.appendChild(b); t.appendChild(tr);
    }
    aside.appendChild(t);
  }

  function showDetails() {
    if (selected.kind === "node") {
      const n = nodeById(selected.key);
      if (!n) return;
      const d = n.data, md = d.metadata || {}, m = d.metrics || {}, hd = d.healthDetail || {};
      if (n.phantom) { table(d.serviceName, [["status", "called, but not registered"]]); return; }
      let calls = 0, errors = 0;
      for (const e of edges.values()) if (e.data.sourceServiceId === d.serviceId) { calls += num(e.data.totalRequests); errors += num(e.data.totalErrors); }
      table(d.serviceName, [
        ["state", n.dying ? "DEAD" : stateOf(d)], ["health", healthOf(d)], ["health message", hd.message], ["error count", hd.errorCount],
        ["language", langOf(d)[1]], ["type", strip(d.serviceType, "SERVICE_TYPE_")], ["version", d.version],
        ["host", d.host], ["address", d.address], ["service id", d.serviceId],
        ["last heartbeat", age(d.lastHeartbeatMs)], ["last activity", age(lastActivity(d))],
        ["cpu", m.cpuPercent !== undefined ? fmt(m.cpuPercent) + " %" : ""], ["memory", m.memoryBytes !== undefined ? bytes(m.memoryBytes) : ""],
        ["calls sent", calls], ["errors", errors],
        ["environment", md.environment], ["region", md.region], ["team", md.team], ["version hash", md.versionHash],
        ["interface", md.serviceInterface], ["role", md.serviceRole], ["program", md.programName],
      ]);
    } else {
      const e = edges.get(selected.key);
      if (!e) return;
      const d = e.data, src = nodes.get(d.sourceServiceId);
      table((src ? src.data.serviceName : d.sourceServiceId) + " → " + d.targetService, [
        ["state", strip(d.state, "CONNECTION_STATE_")], ["rps", fmt(d.rps, 2)], ["error rate", (num(d.errorRate) * 100).toFixed(1) + " %"],
        ["latency p50", fmt(d.latencyP50Ms) + " ms"], ["latency p95", fmt(d.latencyP95Ms) + " ms"], ["latency p99", fmt(d.latencyP99Ms) + " ms"],
        ["average latency", fmt(d.avgLatencyMs) + " ms"], ["total requests", num(d.totalRequests)], ["total errors", num(d.totalErrors)],
        ["last activity", age(d.lastActivityMs)], ["target id", d.targetServiceId || "(unresolved)"],
      ]);
    }
  }

  // ---- pan and zoom -----------------------------------------------------------------------
  function fitView(list) {
    if (!list.length) return;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const n of list) { x0 = Math.min(x0, n.x); y0 = Math.min(y0, n.y); x1 = Math.max(x1, n.x); y1 = Math.max(y1, n.y); }
    const r = svg.getBoundingClientRect();
    const k = Math.max(0.1, Math.min(1, (r.width - 80) / (x1 - x0 + 120), (r.height - 80) / (y1 - y0 + 120)));
    view.k = k; view.x = -(x0 + x1) / 2 * k; view.y = -(y0 + y1) / 2 * k;
    applyView();
  }

  function applyView() {
    const r = svg.getBoundingClientRect();
    viewport.setAttribute("transform", "translate(" + (r.width / 2 + view.x).toFixed(1) + "," + (r.height / 2 + view.y).toFixed(1) + ") scale(" + view.k.toFixed(3) + ")");
  }
  svg.addEventListener("wheel", (ev) => { ev.preventDefault(); view.fit = false; view.k = Math.max(0.1, Math.min(4, view.k * (ev.deltaY < 0 ? 1.1 : 1 / 1.1))); applyView(); }, { passive: false });
  let pan = null;
  svg.addEventListener("mousedown", (ev) => { pan = { x: ev.clientX - view.x, y: ev.clientY - view.y }; svg.classList.add("panning"); });
  window.addEventListener("mousemove", (ev) => { if (pan) { view.fit = false; view.x = ev.clientX - pan.x; view.y = ev.clientY - pan.y; applyView(); } });
  window.addEventListener("mouseup", () => { pan = null; svg.classList.remove("panning"); });
  svg.addEventListener("click", () => select(null));
  window.addEventListener("resize", () => { if (view.fit) fitView(allNodes()); else applyView(); });
  svg.addEventListener("dblclick", () => { view.fit = true; render(); });  // back to fitting the graph
  $("filter").addEventListener("input", (ev) => { filterText = ev.target.value.trim().toLowerCase(); render(); });

  applyView();
  render();
  connect();
  requestAnimationFrame(tick);
  setInterval(() => { if (selected) showDetails(); }, 1000);
})();
