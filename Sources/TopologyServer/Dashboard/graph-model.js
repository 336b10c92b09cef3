"use strict";
// The page's copy of the topology, fed by the watch stream: services, edges, placeholders for
// called targets nobody registered, and the deaths seen. No drawing and no DOM here: the canvas,
// the layout and the side panel read it.
window.TopologyPage = window.TopologyPage || {};
TopologyPage.model = (function () {
  const STATES = ["REGISTERED", "IDLE", "ACTIVE", "STALE", "DEAD"];
  const LANG = { TYPESCRIPT: ["TS", "TypeScript"], RUST: ["RS", "Rust"], CPP: ["C++", "C++"], GO: ["GO", "Go"], PYTHON: ["PY", "Python"],
                 JAVA: ["JV", "Java"], CSHARP: ["C#", "C#"], C: ["C", "C"], SWIFT: ["SW", "Swift"], UNSPECIFIED: ["?", "unspecified"] };
  const DEAD_LINGER_MS = 1500;
  const PHANTOM = "phantom:";

  const nodes = new Map();    // service id -> {id, data, x, y, vx, vy, heat, dying, removed}
  const edges = new Map();    // "source\u0000target" -> {key, data}
  const phantoms = new Map(); // unresolved target name -> node-like record {id: "phantom:name", phantom: true, ...}
  // Services seen to die on the stream (they leave the graph): a count, not a set of ids, so that a
  // page left open for weeks holds no more for it than on its first day.
  let deaths = 0;
  // Bumped on every change of what exists or how it connects (not on metric updates): the layout
  // and the neighbourhood cache key on it.
  let structure = 0;
  let changed = true;         // anything at all changed since the last frame took it
  let applied = 0;            // updates applied since the page opened
  const listeners = { added: [], linked: [] };

  const strip = (value, prefix) => (value || "").startsWith(prefix) ? value.slice(prefix.length) : (value || "");
  const stateOf = (data) => strip(data.state, "SERVICE_STATE_") || "UNSPECIFIED";
  const healthOf = (data) => strip(data.health, "HEALTH_STATE_") || "UNKNOWN";
  const langOf = (data) => LANG[strip(data.language, "SERVICE_LANGUAGE_") || "UNSPECIFIED"] || LANG.UNSPECIFIED;
  const num = (v) => (v === undefined || v === null || v === "") ? 0 : Number(v);
  const fmt = (v, digits) => { const n = num(v); return n >= 100 ? n.toFixed(0) : n.toFixed(digits === undefined ? 1 : digits); };
  const edgeKey = (e) => e.sourceServiceId + "\u0000" + e.targetService;
  const targetId = (e) => e.targetServiceId || (PHANTOM + e.targetService);

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
    applied++;
    changed = true;
  }

  function applySnapshot(s) {
    const keepNodes = new Set((s.nodes || []).map((n) => n.serviceId));
    for (const id of Array.from(nodes.keys())) if (!keepNodes.has(id)) dropNode(id);
    const keepEdges = new Set((s.edges || []).map(edgeKey));
    for (const key of Array.from(edges.keys())) if (!keepEdges.has(key)) removeEdge(key);
    for (const n of s.nodes || []) upsertNode(n);
    for (const e of s.edges || []) upsertEdge(e);
  }

  function upsertNode(data) {
    let n = nodes.get(data.serviceId);
    if (!n) {
      n = { id: data.serviceId, data, x: 0, y: 0, vx: 0, vy: 0, heat: 1, dying: 0 };
      const placeholder = phantoms.get(data.serviceName);
      if (placeholder) { n.x = placeholder.x; n.y = placeholder.y; phantoms.delete(data.serviceName); }
      nodes.set(data.serviceId, n);
      structure++;
      for (const f of listeners.added) f(n, !!placeholder);
    }
    n.data = data;
    if (stateOf(data) === "DEAD" && !n.dying) { n.dying = Date.now(); deaths++; }
    // Alive again: only the past does that (the scrubber's snapshot of a service that died since).
    else if (stateOf(data) !== "DEAD" && n.dying) { n.dying = 0; n.removed = false; }
  }

  function removeNode(removed) {
    const id = removed.serviceId, n = nodes.get(id);
    // Counted once: as it went DEAD, or here if the stream (coalesced) carried only its removal.
    if (stateOf(removed) === "DEAD" && !(n && n.dying)) deaths++;
    if (!n) return;
    // A DEAD node shows red briefly before it leaves; an unregistered one leaves at once.
    if (!n.dying && stateOf(removed) !== "DEAD") { dropNode(id); return; }
    if (!n.dying) n.dying = Date.now();
    n.data = Object.assign({}, n.data, { state: "SERVICE_STATE_DEAD" });
    n.removed = true;
    setTimeout(() => { if (nodes.get(id) === n && n.removed) { dropNode(id); changed = true; } }, DEAD_LINGER_MS);
  }

  function dropNode(id) {
    if (nodes.delete(id)) structure++;
  }

  function upsertEdge(data) {
    const key = edgeKey(data);
    let e = edges.get(key);
    if (!e) { e = { key, data }; edges.set(key, e); structure++; for (const f of listeners.linked) f(data); }
    if ((e.data.targetServiceId || "") !== (data.targetServiceId || "")) structure++;
    e.data = data;
    if (!data.targetServiceId && !phantoms.has(data.targetService)) {
      const src = nodes.get(data.sourceServiceId);
      const p = { id: PHANTOM + data.targetService, phantom: true, data: { serviceId: PHANTOM + data.targetService, serviceName: data.targetService },
                  x: (src ? src.x : 0) + 60, y: (src ? src.y : 0) + 60, vx: 0, vy: 0, heat: 1 };
      phantoms.set(data.targetService, p);
      for (const f of listeners.added) f(p, false);
    }
  }

  function removeEdge(key) {
    if (edges.delete(key)) structure++;
  }

  /// Services and the placeholders still called; a placeholder nothing calls any more is dropped.
  function allNodes() {
    const list = Array.from(nodes.values());
    const used = new Set();
    for (const e of edges.values()) if (!e.data.targetServiceId) used.add(e.data.targetService);
    for (const [name, p] of phantoms) {
      if (used.has(name)) list.push(p); else { phantoms.delete(name); structure++; }
    }
    return list;
  }

  function nodeById(id) { return nodes.get(id) || (id.startsWith(PHANTOM) ? phantoms.get(id.slice(PHANTOM.length)) : undefined); }

  /// The state shown: a service seen to die stays DEAD until it leaves.
  function shownState(n) { return n.phantom ? "UNRESOLVED" : (n.dying ? "DEAD" : stateOf(n.data)); }

  // A silent caller's figures are not zeros but unknown; an edge without calls in the window has
  // no latency to show either.
  function edgeLabel(d) {
    const source = nodes.get(d.sourceServiceId);
    const state = source ? shownState(source) : "";
    if (state === "STALE" || state === "DEAD" || (!num(d.rps) && d.latencyP99Ms === undefined)) return "no data";
    return fmt(d.rps) + " rps · p99 " + fmt(d.latencyP99Ms) + " ms";
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

  /// The value a node is grouped by: a metadata field ("team") or a label ("label:tier").
  function fieldValue(n, field) {
    if (!field || n.phantom) return "";
    const d = n.data;
    if (field.startsWith("label:")) { const labels = d.labels || {}; return labels[field.slice(6)] || ""; }
    return (d.metadata || {})[field] || "";
  }

  /// The label keys the services carry (JSON "labels", an object), sorted.
  function labelKeys() {
    const keys = new Set();
    for (const n of nodes.values()) for (const k of Object.keys(n.data.labels || {})) keys.add(k);
    return Array.from(keys).sort();
  }

  /// Ids within `hops` edges of `id`, either direction.
  function neighbourhood(id, hops) {
    const adjacent = new Map();
    const link = (a, b) => { if (!adjacent.has(a)) adjacent.set(a, []); adjacent.get(a).push(b); };
    for (const e of edges.values()) { link(e.data.sourceServiceId, targetId(e.data)); link(targetId(e.data), e.data.sourceServiceId); }
    const seen = new Set([id]);
    let frontier = [id];
    for (let h = 0; h < hops && frontier.length; h++) {
      const next = [];
      for (const a of frontier) for (const b of adjacent.get(a) || []) if (!seen.has(b)) { seen.add(b); next.push(b); }
      frontier = next;
    }
    return seen;
  }

  function takeChanged() { const c = changed; changed = false; return c; }

  return { STATES, nodes, edges, phantoms, deaths: () => deaths, apply, allNodes, nodeById, shownState, edgeLabel, lastActivity,
           fieldValue, labelKeys, neighbourhood, takeChanged, targetId, healthOf, langOf, strip, num, fmt,
           structure: () => structure, applied: () => applied, onAdded: (f) => listeners.added.push(f), onLinked: (f) => listeners.linked.push(f) };
})();
