"use strict";
// The page itself: the event stream into the model, the frame loop (layout step, scene, paint, at
// most once per animation frame and only when something changed), the controls, the side panel,
// the totals and the downloads. graph-model.js, graph-layout.js, graph-scene.js and graph-paint.js
// come before this file.
(function () {
  const { model, layout, scene, paint } = TopologyPage;
  const { STATES, num, fmt, strip, healthOf, langOf } = model;
  const STATE_COLOR = { REGISTERED: "var(--registered)", IDLE: "var(--idle)", ACTIVE: "var(--active)", STALE: "var(--stale)", DEAD: "var(--dead)" };
  let lastEventId = "";
  let lostAt = 0;             // when the stream was lost (Date.now()), 0 while live
  let revision = "";          // of the last update: shown with the totals, not per event
  let source = null;
  // The token this page was opened with (/?access_token=..., docs/security.md). EventSource cannot
  // send an Authorization header, so the page's own requests carry it in their query too.
  const ACCESS_TOKEN = new URLSearchParams(location.search).get("access_token");
  const withToken = (url) => ACCESS_TOKEN === null ? url
    : url + (url.includes("?") ? "&" : "?") + "access_token=" + encodeURIComponent(ACCESS_TOKEN);

  const $ = (id) => document.getElementById(id);
  const canvas = $("graph"), ctx = canvas.getContext("2d");

  // ---- the stream -------------------------------------------------------------------------
  function setConnection(state, text) {
    if ($("conn").dataset.state === state && $("conn-text").textContent === text) return;  // every event says "live"
    $("conn").dataset.state = state;
    $("conn-text").textContent = text;
    // Off the stream the figures are frozen: grey the graph and say since when, so that nobody
    // reads a green graph as a healthy fleet. The past (the scrubber's) is marked apart.
    const live = state === "live" || state === "past";
    if (live) lostAt = 0; else if (!lostAt) lostAt = Date.now();
    if (document.body.dataset.live !== String(live)) { document.body.dataset.live = String(live); redraw = true; }
    const banner = $("offline");
    banner.hidden = live;
    if (!live) banner.textContent = "No live data since " + new Date(lostAt).toLocaleTimeString() + " (" + text +
      "): showing the last known graph, greyed out.";
  }

  function connect() {
    if (pastAt !== null) return;  // a retry that came due while the page shows the past
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
      model.apply(update);  // drawn at the next animation frame: a burst of updates costs one frame
      if (update.revision) revision = update.revision;
      setConnection("live", "live");
    };
  }

  // ---- frames -----------------------------------------------------------------------------
  let redraw = true, animating = false, totalsAt = 0, totalsDue = true, drawnAt = 0;
  // The canvas size, kept by an observer: reading clientWidth in a frame would force a layout of
  // the page after every change to the totals (measured: a fifth of the main thread at scale).
  let size = { w: canvas.clientWidth, h: canvas.clientHeight };
  new ResizeObserver(() => { size = { w: canvas.clientWidth, h: canvas.clientHeight }; redraw = true; }).observe(canvas);
  const frameMs = [];         // how long the last frames took to lay out, build and paint (newest last)

  function frame(t) {
    const started = performance.now();
    const hot = layout.step(model.allNodes());
    // New figures from the stream are drawn at most ten times a second (at scale they come every
    // frame); panning, zooming and a settling layout are drawn at every frame.
    const changed = t - drawnAt >= 100 && model.takeChanged();
    if (hot || changed || redraw || animating) {
      redraw = false;
      drawnAt = t;
      const dpr = window.devicePixelRatio || 1, { w, h } = size;
      if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); }
      const built = scene.build(w, h);
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      paint.paint(built, paint.canvasSink(ctx, w, h), -(t / 80) % 10);
      // Moving dashes only while few edges are drawn (paint.dashed): at scale a still picture is cheaper.
      animating = paint.dashed(built) && built.edges.some((e) => e.style === "active");
      frameMs.push(performance.now() - started);
      if (frameMs.length > 120) frameMs.shift();
    }
    // The totals and the side panel are DOM: at most four times a second, however fast updates come.
    totalsDue = totalsDue || changed;
    if ((totalsDue && t - totalsAt > 250) || t - totalsAt > 1000) { drawTotals(); totalsAt = t; totalsDue = false; }
    requestAnimationFrame(frame);
  }

  function drawTotals() {
    const counts = {};
    for (const s of STATES) counts[s] = 0;
    for (const n of model.nodes.values()) { const s = model.shownState(n); if (s in counts) counts[s]++; }
    counts.DEAD = model.deaths();  // dead services leave the graph: count every death seen instead
    let rps = 0;
    for (const e of model.edges.values()) rps += num(e.data.rps);
    const box = $("totals");
    box.textContent = "";
    const total = document.createElement("span");
    total.id = "total-services";
    total.textContent = model.nodes.size + " services";
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
    if (revision && $("conn").dataset.state === "live") $("conn-text").textContent = "live · rev " + revision;
    const r = document.createElement("span");
    r.id = "total-rps";
    r.textContent = fmt(rps) + " rps total";
    box.appendChild(r);
    if (scene.options.selected) showDetails();
  }

  // ---- time travel: timeline.js's scrubber shows the graph as it was -------------------------
  // The past replaces the model as a SNAPSHOT would, with the stream closed so that nothing live is
  // drawn over it. Back to live, the stream opens afresh without a resume point: its first update
  // is a SNAPSHOT of the present, which replaces the past graph (dropped nodes count no deaths).
  let pastAt = null;          // the time shown (Unix ms), null while live
  const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });
  // `at`: the time asked for; the snapshot is the server's latest sample at or before it.
  TopologyPage.showPast = (snapshot, at) => {
    if (source) { source.close(); source = null; }
    pastAt = at;
    model.apply({ type: "UPDATE_TYPE_SNAPSHOT", snapshot });
    revision = snapshot.revision || "0";
    document.body.dataset.past = "true";
    setConnection("past", "viewing " + clock(at) + " · rev " + revision + " (sampled " + clock(Number(snapshot.timestampMs)) + ")");
    totalsDue = true;
  };
  TopologyPage.goLive = () => {
    if (pastAt === null) return;
    pastAt = null;
    lastEventId = "";
    delete document.body.dataset.past;
    setConnection("connecting", "back to live…");
    connect();
  };
  TopologyPage.pastAt = () => pastAt;

  // ---- details ----------------------------------------------------------------------------
  const HINT = '<p class="hint">Click a service or an edge for its details, a group\'s name to collapse it. Wheel: zoom; drag: pan; double-click: fit.</p>';
  function select(sel) {
    scene.options.selected = sel;
    redraw = true;
    if (sel) showDetails(); else $("details").innerHTML = HINT;
  }

  function age(ms) {
    const t = num(ms);
    if (!t) return "never";
    const s = Math.max(0, (Date.now() - t) / 1000);
    return s < 120 ? s.toFixed(1) + " s ago" : (s / 60).toFixed(0) + " min ago";
  }

  function bytes(v) {
    let n = num(v), u = 0;
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    while (n >= 1024 && u < units.length - 1) { n /= 1024; u++; }
    return n.toFixed(u ? 1 : 0) + " " + units[u];
  }

  function table(title, rows, actions) {
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
    for (const [label, id, action] of actions || []) {
      const button = document.createElement("button");
      button.id = id; button.textContent = label; button.addEventListener("click", action);
      aside.appendChild(button);
    }
  }

  function focusOn(id) {
    scene.options.focus = id ? { id, hops: Math.max(1, Math.min(9, num($("hops").value) || 1)) } : null;
    $("focus-clear").hidden = !id;
    scene.view.fit = true;
    redraw = true;
    if (scene.options.selected) showDetails();
  }

  function showDetails() {
    const sel = scene.options.selected;
    if (sel.kind === "node") {
      const n = model.nodeById(sel.key);
      if (!n) return;
      const d = n.data, md = d.metadata || {}, m = d.metrics || {}, hd = d.healthDetail || {};
      const focus = scene.options.focus && scene.options.focus.id === n.id
        ? [["Clear focus", "focus-node", () => focusOn(null)]] : [["Focus: this service and its neighbours", "focus-node", () => focusOn(n.id)]];
      if (n.phantom) { table(d.serviceName, [["status", "called, but not registered"]], focus); return; }
      let calls = 0, errors = 0;
      for (const e of model.edges.values()) if (e.data.sourceServiceId === d.serviceId) { calls += num(e.data.totalRequests); errors += num(e.data.totalErrors); }
      const labels = Object.entries(d.labels || {}).map(([k, v]) => ["label " + k, v]);
      table(d.serviceName, [
        ["state", model.shownState(n)], ["health", healthOf(d)], ["health message", hd.message], ["error count", hd.errorCount],
        ["observed", d.observed === true ? "in traces only (never registered)" : ""],
        ["language", langOf(d)[1]], ["type", strip(d.serviceType, "SERVICE_TYPE_")], ["version", d.version],
        ["host", d.host], ["address", d.address], ["service id", d.serviceId],
        ["last heartbeat", age(d.lastHeartbeatMs)], ["last activity", age(model.lastActivity(d))],
        ["cpu", m.cpuPercent !== undefined ? fmt(m.cpuPercent) + " %" : ""], ["memory", m.memoryBytes !== undefined ? bytes(m.memoryBytes) : ""],
        ["calls sent", calls], ["errors", errors],
        ["environment", md.environment], ["region", md.region], ["team", md.team], ["version hash", md.versionHash],
        ["interface", md.serviceInterface], ["role", md.serviceRole], ["program", md.programName],
      ].concat(labels), focus);
    } else if (sel.kind === "edge") {
      const e = model.edges.get(sel.key);
      if (!e) return;
      const d = e.data, src = model.nodes.get(d.sourceServiceId);
      table((src ? src.data.serviceName : d.sourceServiceId) + " → " + d.targetService, [
        ["state", strip(d.state, "CONNECTION_STATE_")], ["rps", fmt(d.rps, 2)], ["error rate", (num(d.errorRate) * 100).toFixed(1) + " %"],
        ["latency p50", fmt(d.latencyP50Ms) + " ms"], ["latency p95", fmt(d.latencyP95Ms) + " ms"], ["latency p99", fmt(d.latencyP99Ms) + " ms"],
        ["average latency", fmt(d.avgLatencyMs) + " ms"], ["total requests", num(d.totalRequests)], ["total errors", num(d.totalErrors)],
        ["last activity", age(d.lastActivityMs)], ["target id", d.targetServiceId || "(unresolved)"],
      ]);
    }
  }

  // ---- controls: zoom, pan, fit, group, focus, search, downloads ----------------------------
  const point = (ev) => { const r = canvas.getBoundingClientRect(); return { x: ev.clientX - r.left, y: ev.clientY - r.top }; };
  canvas.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const p = point(ev);
    scene.zoom(ev.deltaY < 0 ? 1.15 : 1 / 1.15, p.x, p.y, size.w, size.h);
    redraw = true;
  }, { passive: false });
  let press = null;
  canvas.addEventListener("mousedown", (ev) => { press = { x: ev.clientX, y: ev.clientY, vx: scene.view.x, vy: scene.view.y, moved: false }; });
  window.addEventListener("mousemove", (ev) => {
    if (!press) return;
    const dx = ev.clientX - press.x, dy = ev.clientY - press.y;
    if (!press.moved && Math.hypot(dx, dy) < 4) return;
    press.moved = true; canvas.classList.add("panning");
    TopologyPage.pan(press.vx + dx - scene.view.x, press.vy + dy - scene.view.y);
  });
  window.addEventListener("mouseup", (ev) => {
    const was = press;
    press = null; canvas.classList.remove("panning");
    if (!was || was.moved || ev.target !== canvas) return;
    const p = point(ev), target = scene.hit(p.x, p.y);
    if (target && target.kind === "group") {
      const t = scene.options.toggled;
      if (t.has(target.key)) t.delete(target.key); else t.add(target.key);
      redraw = true;
    } else select(target);
  });
  canvas.addEventListener("dblclick", () => { scene.view.fit = true; redraw = true; });
  const zoomCentre = (factor) => { scene.zoom(factor, size.w / 2, size.h / 2, size.w, size.h); redraw = true; };
  $("zoom-in").addEventListener("click", () => zoomCentre(1.4));
  $("zoom-out").addEventListener("click", () => zoomCentre(1 / 1.4));
  $("fit").addEventListener("click", () => { scene.view.fit = true; redraw = true; });
  $("group").addEventListener("change", (ev) => { layout.setGroupField(ev.target.value); scene.options.toggled.clear(); scene.view.fit = true; redraw = true; });
  $("collapse").addEventListener("change", (ev) => { scene.options.collapseAll = ev.target.checked; scene.options.toggled.clear(); redraw = true; });
  $("hops").addEventListener("change", () => { if (scene.options.focus) focusOn(scene.options.focus.id); });
  $("focus-clear").addEventListener("click", () => focusOn(null));
  // The search box filters as you type; Enter goes to the first match and opens it.
  $("filter").addEventListener("input", (ev) => { scene.options.filter = ev.target.value.trim().toLowerCase(); redraw = true; });
  $("filter").addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter") return;
    const match = model.allNodes().filter(scene.visible).sort((a, b) => (a.data.serviceName || "").localeCompare(b.data.serviceName || ""))[0];
    if (match) { scene.centreOn(match.id); select({ kind: "node", key: match.id }); }
  });

  /// The label keys of the services join the grouping choices as they appear.
  function refreshGroupChoices() {
    const select = $("group"), have = new Set(Array.from(select.options).map((o) => o.value));
    for (const key of model.labelKeys()) {
      if (have.has("label:" + key)) continue;
      const option = document.createElement("option");
      option.value = "label:" + key; option.textContent = "label " + key;
      select.appendChild(option);
    }
  }

  function download(blob, name) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob); a.download = name;
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }
  const stamp = () => new Date().toISOString().replace(/[:.]/g, "-");
  const currentSVG = () => paint.toSVG(scene.last() || scene.build(size.w, size.h));
  $("export-svg").addEventListener("click", () => download(new Blob([currentSVG()], { type: "image/svg+xml" }), "topology-" + stamp() + ".svg"));
  $("export-png").addEventListener("click", () => canvas.toBlob((blob) => download(blob, "topology-" + stamp() + ".png"), "image/png"));

  // ---- for tests and the curious: what the last frame drew ------------------------------------
  TopologyPage.inspect = () => {
    const last = scene.last() || { nodes: [], edges: [] };
    const drawn = new Map(last.nodes.map((n) => [n.id, n]));
    const drawnEdges = new Map(last.edges.filter((e) => e.key !== undefined).map((e) => [e.key, e]));
    const nodes = model.allNodes().map((n) => {
      const d = drawn.get(n.id);
      return { id: n.id, name: n.data.serviceName, state: model.shownState(n), language: n.phantom ? "unknown" : langOf(n.data)[1],
               health: n.phantom ? "" : healthOf(n.data), badge: n.phantom ? "" : langOf(n.data)[0], observed: n.data.observed === true,
               label: n.data.serviceName + (n.phantom ? " (unregistered)" : ""), hidden: !scene.visible(n), drawn: !!d,
               labelDrawn: !!(d && d.label), badgeDrawn: !!(d && d.badge), x: d ? d.x : null, y: d ? d.y : null, wx: n.x, wy: n.y };
    });
    const edges = Array.from(model.edges.values()).map((e) => {
      const src = model.nodes.get(e.data.sourceServiceId), d = drawnEdges.get(e.key);
      return { source: src ? src.data.serviceName : "", target: e.data.targetService, rps: num(e.data.rps), state: e.data.state || "CONNECTION_STATE_UNSPECIFIED",
               label: model.edgeLabel(e.data), drawn: !!d, labelDrawn: !!(d && d.label), hidden: !d && !(src && scene.visible(src)),
               line: d ? [d.x1, d.y1, d.cx, d.cy, d.x2, d.y2] : null, labelAt: d && d.label ? [d.lx, d.ly] : null };
    });
    return { nodes, edges, groups: last.groups.concat(last.nodes.filter((n) => n.group !== undefined)).map((g) =>
      ({ group: g.group, name: g.name, count: g.count, collapsed: g.collapsed, x: g.x, y: g.y, labelY: g.labelY })), view: Object.assign({}, scene.view) };
  };
  TopologyPage.frameMs = () => frameMs.slice();
  TopologyPage.pan = (dx, dy) => { scene.view.fit = false; scene.view.x += dx; scene.view.y += dy; redraw = true; };
  TopologyPage.settled = () => !model.allNodes().some((n) => n.heat > 0);
  TopologyPage.svg = currentSVG;

  select(null);
  connect();
  requestAnimationFrame(frame);
  setInterval(refreshGroupChoices, 1000);
})();
