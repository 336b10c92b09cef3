"use strict";
// Where each node sits, in world coordinates: a force layout in which every node has its own heat.
// A node that arrives is hot and finds its place; its neighbours warm a little; everything else
// stays where it is, so the picture holds still as services come and go. Repulsion only between
// nodes in neighbouring grid cells, so a step is linear in the nodes, not quadratic.
TopologyPage.layout = (function () {
  const model = TopologyPage.model;
  const CELL = 160;            // repulsion reaches about one cell
  const REPEL = 70;            // the distance at which repulsion and a unit spring balance
  const SPRING = 130;          // an edge's rest length
  const COOLING = 0.975;      // a hot node settles in about 150 steps
  let groupField = "";
  let centres = new Map();     // group value -> {x, y, r}: where a group's nodes gather
  let centresKey = "";

  function warm(n, heat) { if (n) n.heat = Math.max(n.heat || 0, heat); }

  // A newcomer starts next to a neighbour or in its group, not in the middle of everything.
  model.onAdded((n, fromPlaceholder) => {
    if (fromPlaceholder) { n.heat = 0.3; return; }
    const c = centres.get(model.fieldValue(n, groupField));
    // Spread over a disc of about the area the layout will give them, so they start apart.
    const base = c || { x: 0, y: 0, r: 120 + Math.sqrt(model.nodes.size) * 60 };
    const angle = Math.random() * Math.PI * 2, r = Math.sqrt(Math.random()) * base.r;
    n.x = base.x + Math.cos(angle) * r; n.y = base.y + Math.sin(angle) * r;
  });
  // A node still settling that gets its first edge moves next to the other end at once (next to one
  // that had an edge already, if only one had): an edge's rest length away, on the side with the most
  // room. Dropped closer, repulsion would shove the settled end out of its place.
  const linked = new WeakSet();
  function moveNear(n, to) {
    const others = model.allNodes().filter((o) => o !== n && o !== to);
    let best = null, room = -1;
    const turn = Math.random() * Math.PI * 2;
    for (let i = 0; i < 12; i++) {
      const angle = turn + i * Math.PI / 6;
      const x = to.x + Math.cos(angle) * SPRING, y = to.y + Math.sin(angle) * SPRING;
      let nearest = Infinity;
      for (const o of others) nearest = Math.min(nearest, (o.x - x) * (o.x - x) + (o.y - y) * (o.y - y));
      if (nearest > room) { room = nearest; best = { x, y }; }
    }
    n.x = best.x; n.y = best.y;
  }
  model.onLinked((d) => {
    const a = model.nodes.get(d.sourceServiceId), b = model.nodeById(model.targetId(d));
    if (!a || !b) return;
    if (!linked.has(a) && a.heat > 0 && (linked.has(b) || !(b.heat > 0))) moveNear(a, b);
    else if (!linked.has(b) && b.heat > 0 && (linked.has(a) || !(a.heat > 0))) moveNear(b, a);
    else if (!linked.has(a) && !linked.has(b) && a.heat > 0) moveNear(a, b);
    linked.add(a); linked.add(b);
    warm(a, 0.3); warm(b, 0.3);
  });

  /// A new grouping is asked for: every node jumps into its group's disc and settles there.
  function setGroupField(field) {
    groupField = field;
    centresKey = "";
    const list = model.allNodes();
    placeGroups(list);
    for (const n of list) {
      const c = centres.get(model.fieldValue(n, groupField));
      if (c) { const angle = Math.random() * Math.PI * 2, r = Math.sqrt(Math.random()) * c.r; n.x = c.x + Math.cos(angle) * r; n.y = c.y + Math.sin(angle) * r; }
      n.heat = 1;
    }
  }

  /// Group centres on a grid, in the groups' sorted order, spaced by the largest group.
  function placeGroups(list) {
    const sizes = new Map();
    if (groupField) for (const n of list) { const v = model.fieldValue(n, groupField); sizes.set(v, (sizes.get(v) || 0) + 1); }
    const key = groupField + "\u0000" + Array.from(sizes.keys()).sort().join("\u0000");
    // A group's radius: about what its nodes take once repulsion has spread them.
    const radius = (v) => 40 + Math.sqrt(sizes.get(v) || 1) * 44;
    if (key === centresKey) { for (const [v, c] of centres) c.r = radius(v); return; }
    centresKey = key;
    centres = new Map();
    const names = Array.from(sizes.keys()).sort();
    if (!names.length) return;
    const columns = Math.ceil(Math.sqrt(names.length));
    const spacing = 2.5 * Math.max(...names.map(radius));
    names.forEach((v, i) => {
      const col = i % columns, row = Math.floor(i / columns);
      centres.set(v, { x: (col - (columns - 1) / 2) * spacing, y: (row - (Math.ceil(names.length / columns) - 1) / 2) * spacing, r: radius(v) });
    });
  }

  /// One step for the nodes still warm; true while any is.
  function step(list) {
    if (!list.some((n) => n.heat > 0)) return false;
    placeGroups(list);
    const grid = new Map();
    for (const n of list) {
      n.groupValue = model.fieldValue(n, groupField);  // read once a step, not once per force
      const key = Math.floor(n.x / CELL) * 65536 + Math.floor(n.y / CELL);
      let cell = grid.get(key);
      if (!cell) grid.set(key, cell = []);
      cell.push(n);
    }
    for (const a of list) {
      if (!(a.heat > 0)) continue;
      const cx = Math.floor(a.x / CELL), cy = Math.floor(a.y / CELL);
      for (let i = -1; i <= 1; i++) for (let j = -1; j <= 1; j++) {
        const cell = grid.get((cx + i) * 65536 + cy + j);
        if (!cell) continue;
        for (const b of cell) {
          if (b === a) continue;
          let dx = a.x - b.x, dy = a.y - b.y, d2 = dx * dx + dy * dy;
          if (d2 < 1) { dx = Math.random() - 0.5; dy = Math.random() - 0.5; d2 = 1; }
          if (d2 > CELL * CELL) continue;
          const f = REPEL * REPEL / d2 * 0.1;
          a.vx += dx * f; a.vy += dy * f;
        }
      }
      const c = centres.get(a.groupValue);
      const gx = c ? c.x : 0, gy = c ? c.y : 0, g = c ? 0.03 : 0.003;
      a.vx -= (a.x - gx) * g; a.vy -= (a.y - gy) * g;
    }
    for (const e of model.edges.values()) {
      const a = model.nodes.get(e.data.sourceServiceId), b = model.nodeById(model.targetId(e.data));
      if (!a || !b || !(a.heat > 0 || b.heat > 0)) continue;
      const dx = b.x - a.x, dy = b.y - a.y, d = Math.sqrt(dx * dx + dy * dy) || 1;
      // Edges across groups pull weakly: the groups keep their places.
      const across = a.groupValue !== b.groupValue;
      // Bounded, so that a web of long edges cannot crush the graph into a ball.
      const f = Math.max(-1.5, Math.min(1.5, (d - SPRING) * (across ? 0.002 : 0.02)));
      a.vx += dx / d * f; a.vy += dy / d * f; b.vx -= dx / d * f; b.vy -= dy / d * f;
    }
    for (const n of list) {
      if (!(n.heat > 0)) { n.vx = 0; n.vy = 0; continue; }
      n.vx *= 0.6; n.vy *= 0.6;
      n.x += Math.max(-20, Math.min(20, n.vx)) * n.heat; n.y += Math.max(-20, Math.min(20, n.vy)) * n.heat;
      n.heat *= COOLING;
      if (n.heat < 0.02) n.heat = 0;
    }
    return true;
  }

  return { step, setGroupField, groupField: () => groupField };
})();
