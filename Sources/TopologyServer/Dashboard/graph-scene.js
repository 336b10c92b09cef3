"use strict";
// What one frame shows, in screen coordinates: the view (zoom and pan), which nodes pass the
// filter and the focus, groups (expanded as halos, collapsed as one node each), level of detail
// (badges, labels and arrows only when there is room) and culling (nothing outside the canvas).
// The canvas painter and the SVG export both draw this scene; clicks are hit-tested against it.
TopologyPage.scene = (function () {
  const model = TopologyPage.model, layout = TopologyPage.layout;
  const view = { x: 0, y: 0, k: 1, fit: true };  // fit: follow the graph until the user zooms or pans
  const options = { filter: "", focus: null, selected: null, collapseAll: false, toggled: new Set() };
  const NODE_R = 13, MIN_K = 0.02, MAX_K = 4;
  // Labels a frame draws at most (text is the dearest thing to draw): the rest wait for a zoom.
  const NODE_LABELS = 150, EDGE_LABELS = 50;
  let last = null;

  const collapsed = (value) => options.collapseAll !== options.toggled.has(value);

  function matchesFilter(n) {
    const text = options.filter;
    if (!text) return true;
    const d = n.data, md = d.metadata || {};
    return (d.serviceName || "").toLowerCase().includes(text) || (md.environment || "").toLowerCase().includes(text);
  }

  let focusCache = { key: "", ids: null };
  function inFocus(n) {
    const f = options.focus;
    if (!f) return true;
    const key = f.id + "/" + f.hops + "/" + model.structure();
    if (focusCache.key !== key) focusCache = { key, ids: model.neighbourhood(f.id, f.hops) };
    return focusCache.ids.has(n.id);
  }

  const visible = (n) => matchesFilter(n) && inFocus(n);

  function fitTo(list, width, height) {
    if (!list.length) return;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const n of list) { x0 = Math.min(x0, n.x); y0 = Math.min(y0, n.y); x1 = Math.max(x1, n.x); y1 = Math.max(y1, n.y); }
    const k = Math.max(MIN_K, Math.min(1, (width - 80) / (x1 - x0 + 120), (height - 80) / (y1 - y0 + 120)));
    view.k = k; view.x = -(x0 + x1) / 2 * k; view.y = -(y0 + y1) / 2 * k;
  }

  /// Rectangles taken by labels, in 64 px cells: a label that would cover another is left out.
  function occupancy() {
    const cells = new Map();
    const keys = (r, f) => {
      for (let i = Math.floor(r.x0 / 64); i <= Math.floor(r.x1 / 64); i++)
        for (let j = Math.floor(r.y0 / 64); j <= Math.floor(r.y1 / 64); j++) f(i * 65536 + j);
    };
    return {
      take(r) {
        let free = true;
        keys(r, (key) => { for (const o of cells.get(key) || []) if (o.x0 < r.x1 && r.x0 < o.x1 && o.y0 < r.y1 && r.y0 < o.y1) free = false; });
        if (free) keys(r, (key) => { if (!cells.has(key)) cells.set(key, []); cells.get(key).push(r); });
        return free;
      },
    };
  }
  const textBox = (text, x, y, size) => { const w = text.length * size * 0.58 / 2; return { x0: x - w - 2, x1: x + w + 2, y0: y - size / 2 - 1, y1: y + size / 2 + 1 }; };

  function build(width, height) {
    const all = model.allNodes();
    const shown = all.filter(visible);
    if (view.fit) fitTo(shown, width, height);
    const { k } = view, ox = view.x + width / 2, oy = view.y + height / 2;
    const sx = (x) => x * k + ox, sy = (y) => y * k + oy;
    const field = layout.groupField();
    const scene = { width, height, k, nodes: [], edges: [], groups: [], detail: k >= 0.45, nodeLabels: 0, edgeLabels: 0 };
    const onScreen = (x, y, r) => x > -r && y > -r && x < width + r && y < height + r;
    const labels = occupancy();
    const sel = options.selected;

    // Groups: a halo around the members of an expanded one, one node for a collapsed one.
    const groups = new Map(), drawnAs = new Map();
    if (field) {
      for (const n of shown) {
        const v = model.fieldValue(n, field);
        let g = groups.get(v);
        if (!g) groups.set(v, g = { value: v, members: [], x: 0, y: 0, collapsed: collapsed(v), worst: "" });
        g.members.push(n); g.x += n.x; g.y += n.y;
      }
      for (const g of groups.values()) {
        g.x /= g.members.length; g.y /= g.members.length;
        let reach = 0;
        for (const n of g.members) reach = Math.max(reach, Math.hypot(n.x - g.x, n.y - g.y));
        const x = sx(g.x), y = sy(g.y), name = (g.value || "(none)") + " · " + g.members.length;
        const bad = g.members.filter((n) => ["DEAD", "STALE"].includes(model.shownState(n)) || model.healthOf(n.data) === "UNHEALTHY").length;
        const states = new Map();
        for (const n of g.members) { const s = model.shownState(n); states.set(s, (states.get(s) || 0) + 1); }
        const most = Array.from(states).sort((p, q) => q[1] - p[1])[0][0];
        const record = { group: g.value, name, x, y, count: g.members.length, bad, collapsed: g.collapsed, state: most };
        if (g.collapsed) {
          record.r = Math.max(8, Math.min(60, Math.sqrt(g.members.length) * 7 * Math.max(k, 0.3)));
          for (const n of g.members) drawnAs.set(n.id, record);
        } else {
          record.r = reach * k + Math.max(18, NODE_R * k * 2.5);
        }
        if (!onScreen(x, y, record.r + 100)) continue;
        if (g.collapsed) labels.take({ x0: x - record.r, x1: x + record.r, y0: y - record.r, y1: y + record.r });
        record.labelY = g.collapsed ? y + record.r + 14 : y - record.r - 8;
        record.label = labels.take(textBox(name, x, record.labelY, 13)) ? name : "";
        (record.collapsed ? scene.nodes : scene.groups).push(record);
      }
    }

    // Nodes: culled, badges and labels only when they fit.
    const r = Math.max(2.5, Math.min(20, NODE_R * k));
    const places = new Map();
    for (const n of shown) {
      const group = drawnAs.get(n.id);
      if (group) { places.set(n.id, group); continue; }
      const x = sx(n.x), y = sy(n.y);
      const record = { id: n.id, name: n.data.serviceName, x, y, r, node: n, state: model.shownState(n),
                       selected: !!(sel && sel.kind === "node" && sel.key === n.id) };
      places.set(n.id, record);
      if (!onScreen(x, y, r + 60)) continue;
      const text = n.data.serviceName + (n.phantom ? " (unregistered)" : "");
      const emphasised = record.selected || (options.focus && options.focus.id === n.id) || (options.filter && k < 0.45);
      record.badge = r >= 9 && !n.phantom ? model.langOf(n.data)[0] : "";
      const room = scene.nodeLabels < NODE_LABELS || emphasised;
      record.label = (scene.detail || emphasised) && room && labels.take(textBox(text, x, y + r + 10, 12)) ? text : "";
      if (record.label) scene.nodeLabels++;
      if (scene.detail) labels.take({ x0: x - r, x1: x + r, y0: y - r - 17, y1: y + r });  // edge labels keep off the node and its badge
      scene.nodes.push(record);
    }

    // Edges: between what the two ends are drawn as; into a collapsed group, one edge per pair of
    // groups with the rates added up.
    const merged = new Map();
    for (const e of model.edges.values()) {
      const d = e.data, a = places.get(d.sourceServiceId), b = places.get(model.targetId(d));
      if (!a || !b || a === b) continue;
      if (a.group !== undefined || b.group !== undefined) {
        const key = (a.group !== undefined ? "g:" + a.group : a.id) + "\u0000" + (b.group !== undefined ? "g:" + b.group : b.id);
        let m = merged.get(key);
        if (!m) merged.set(key, m = { a, b, rps: 0, errors: 0, active: false, count: 0 });
        m.rps += model.num(d.rps); m.errors += model.num(d.rps) * model.num(d.errorRate); m.count++;
        m.active = m.active || d.state === "CONNECTION_STATE_ACTIVE";
        continue;
      }
      const style = model.num(d.errorRate) > 0.05 ? "errors" : d.state === "CONNECTION_STATE_ACTIVE" ? "active" : d.state === "CONNECTION_STATE_IDLE" ? "idle" : "plain";
      addEdge(scene, labels, a, b, { key: e.key, source: a.name, target: d.targetService, state: d.state || "CONNECTION_STATE_UNSPECIFIED",
        rps: model.num(d.rps), style, text: () => model.edgeLabel(d), selected: !!(sel && sel.kind === "edge" && sel.key === e.key) });
    }
    for (const m of merged.values()) {
      addEdge(scene, labels, m.a, m.b, { source: m.a.name, target: m.b.name, rps: m.rps, count: m.count,
        style: m.rps && m.errors / m.rps > 0.05 ? "errors" : m.active ? "active" : "plain",
        text: () => m.count + (m.count === 1 ? " edge · " : " edges · ") + model.fmt(m.rps) + " rps" });
    }
    last = scene;
    return scene;
  }

  function addEdge(scene, labels, a, b, record) {
    const dx = b.x - a.x, dy = b.y - a.y, len = Math.sqrt(dx * dx + dy * dy) || 1;
    const ux = dx / len, uy = dy / len;
    record.x1 = a.x + ux * (a.r + 3); record.y1 = a.y + uy * (a.r + 3);
    record.x2 = b.x - ux * (b.r + 4); record.y2 = b.y - uy * (b.r + 4);
    // Off screen on one side entirely: culled. Zoomed in, so is an edge with neither end on screen:
    // a thousand lines crossing the view say nothing about the services in it.
    const w = scene.width, h = scene.height;
    if ((record.x1 < 0 && record.x2 < 0) || (record.y1 < 0 && record.y2 < 0) || (record.x1 > w && record.x2 > w) || (record.y1 > h && record.y2 > h)) return;
    const inside = (x, y) => x >= 0 && y >= 0 && x <= w && y <= h;
    if (scene.detail && !inside(record.x1, record.y1) && !inside(record.x2, record.y2) && !record.selected) return;
    // A slight curve, so that A->B and B->A do not overlap.
    const bend = Math.min(14, len * 0.12);
    record.cx = (record.x1 + record.x2) / 2 - uy * bend; record.cy = (record.y1 + record.y2) / 2 + ux * bend;
    record.arrow = scene.detail && len > 30;
    // The label beside the curve, on the outside of its bend, never on the line itself.
    // Pushed out along the normal by the box's own extent that way, so no corner touches the line.
    // The text is made only for an edge that has room for it: thousands of edges, a few labels.
    record.label = "";
    const grouped = a.group !== undefined || b.group !== undefined;
    if (((scene.detail || grouped) && len > 70 && scene.edgeLabels < EDGE_LABELS) || record.selected) {
      const text = record.text();
      const mx = 0.25 * record.x1 + 0.5 * record.cx + 0.25 * record.x2, my = 0.25 * record.y1 + 0.5 * record.cy + 0.25 * record.y2;
      const box = textBox(text, 0, 0, 11), away = 5 + Math.abs(uy) * box.x1 + Math.abs(ux) * box.y1;
      record.lx = mx - uy * away; record.ly = my + ux * away;
      if (labels.take(textBox(text, record.lx, record.ly, 11))) { record.label = text; scene.edgeLabels++; }
    }
    scene.edges.push(record);
  }

  /// What is at (x, y) on the canvas: a node, a collapsed group, a group's label, an edge, or null.
  function hit(x, y) {
    if (!last) return null;
    for (let i = last.nodes.length - 1; i >= 0; i--) {
      const n = last.nodes[i];
      if (Math.hypot(n.x - x, n.y - y) <= n.r + 3) return n.group !== undefined ? { kind: "group", key: n.group } : { kind: "node", key: n.id };
    }
    for (const g of last.groups) {
      if (g.label && Math.abs(g.labelY - y) < 9 && Math.abs(g.x - x) < g.label.length * 3.8 + 4) return { kind: "group", key: g.group };
    }
    let best = null, bestD = 6;
    for (const e of last.edges) {
      if (e.key === undefined) continue;
      for (let t = 0; t <= 1.0001; t += 0.125) {
        const u = 1 - t, px = u * u * e.x1 + 2 * u * t * e.cx + t * t * e.x2, py = u * u * e.y1 + 2 * u * t * e.cy + t * t * e.y2;
        const d = Math.hypot(px - x, py - y);
        if (d < bestD) { bestD = d; best = { kind: "edge", key: e.key }; }
      }
    }
    return best;
  }

  /// Zoom by `factor` about the canvas point (x, y), which stays where it is.
  function zoom(factor, x, y, width, height) {
    const k = Math.max(MIN_K, Math.min(MAX_K, view.k * factor));
    const cx = x - width / 2, cy = y - height / 2;
    view.x = cx - (cx - view.x) * k / view.k; view.y = cy - (cy - view.y) * k / view.k;
    view.k = k; view.fit = false;
  }

  /// Centre the view on node `id` at a zoom where its label shows.
  function centreOn(id) {
    const n = model.nodeById(id);
    if (!n) return;
    view.k = Math.max(view.k, 1); view.x = -n.x * view.k; view.y = -n.y * view.k; view.fit = false;
  }

  return { view, options, build, hit, zoom, centreOn, visible, last: () => last };
})();
