"use strict";
// A scene drawn by one function, `paint`, into either of two sinks: the canvas (shapes of one style
// batched into one path: a few fills and strokes a frame, however many nodes) or SVG markup (the
// "SVG" download, the same picture as the canvas).
TopologyPage.paint = (function () {
  const css = getComputedStyle(document.documentElement);
  const v = (name) => css.getPropertyValue(name).trim();
  const BG = v("--bg"), TEXT = v("--text"), DIM = v("--dim");
  const STATE = { REGISTERED: v("--registered"), IDLE: v("--idle"), ACTIVE: v("--active"), STALE: v("--stale"), DEAD: v("--dead") };
  const HEALTH = { HEALTHY: "#3fb950", DEGRADED: "#d29922", UNHEALTHY: "#f85149", STARTING: "#7aa2f7", UNKNOWN: "#57606a" };
  const EDGE = { active: "#58a6ff", idle: "#5c6773", plain: "#5c6773", errors: v("--dead") };
  const model = TopologyPage.model;
  const DASHED_EDGES = 60;

  /// Buckets items by a key, in first-seen order: one batch per style.
  function bucket(items, keyOf) {
    const out = new Map();
    for (const item of items) { const key = keyOf(item); if (key === null) continue; if (!out.has(key)) out.set(key, []); out.get(key).push(item); }
    return out;
  }

  /// The scene as calls on `sink`: circles, curves, polygons, rects and texts, back to front.
  /// `flow` is the dash offset of ACTIVE edges (animated while the scene is small).
  function paint(scene, sink, flow) {
    sink.background(BG);
    // Outlines only: a translucent fill the size of a group costs more to draw in software than all its nodes.
    for (const g of scene.groups) sink.circles([g], null, g.bad ? v("--stale") : "#3a4654", 1.5, null);
    const many = scene.edges.length > 150;
    // Dashes (the flow of ACTIVE edges, the dots of idle ones) only on a small picture: in software
    // each dash is a shape of its own, and 100-odd long dashed curves on screen took the zoomed-in
    // view of 1,000 services from 53 to 23 frames a second.
    const dashed = scene.edges.length <= DASHED_EDGES;
    for (const [style, list] of bucket(scene.edges, (e) => e.style)) {
      const dash = !dashed ? null : style === "active" ? [6, 4] : style === "idle" && scene.detail ? [2, 5] : null;
      // Past a few hundred edges, 1 px lines: Skia draws those as hairlines, many times faster in
      // software (headless Chromium measured 2.5 frames per second with 2,000 edges 1.8 px wide).
      sink.curves(list, EDGE[style], scene.detail && !many ? 1.8 : 1, dash, style === "active" ? flow : 0, many ? 0.45 : 1);
      const arrows = list.filter((e) => e.arrow);
      if (arrows.length) sink.polygons(arrows.map(arrowHead), EDGE[style]);
    }
    const selectedEdges = scene.edges.filter((e) => e.selected);
    if (selectedEdges.length) sink.curves(selectedEdges, "#ffffff", 3, null, 0, 1);

    const nodes = scene.nodes.filter((n) => n.group === undefined);
    const groups = scene.nodes.filter((n) => n.group !== undefined);
    // A collapsed group: the colour of most of its services, an amber ring if any is STALE, DEAD or UNHEALTHY.
    for (const [key, list] of bucket(groups, (g) => g.state + "/" + (g.bad > 0))) {
      sink.circles(list, STATE[key.split("/")[0]] || v("--unknown"), key.endsWith("true") ? v("--stale") : DIM, 2.5, null);
    }
    if (scene.detail) {
      for (const [health, list] of bucket(nodes, (n) => n.node.phantom ? null : model.healthOf(n.node.data))) {
        sink.circles(list.map((n) => ({ x: n.x, y: n.y, r: n.r + 4 })), null, HEALTH[health] || HEALTH.UNKNOWN, 3, null);
      }
    }
    for (const [state, list] of bucket(nodes, (n) => n.node.phantom ? null : n.state)) {
      sink.circles(list, STATE[state] || v("--unknown"), scene.detail ? BG : null, 2, null);
    }
    const placeholders = nodes.filter((n) => n.node.phantom);
    if (placeholders.length) sink.circles(placeholders, null, v("--unknown"), 1.5, [3, 3]);
    // Seen only in traces (OTLP), never registered: a dashed outline.
    const observed = nodes.filter((n) => n.node.data.observed === true);
    if (observed.length) sink.circles(observed.map((n) => ({ x: n.x, y: n.y, r: n.r + (scene.detail ? 8 : 3) })), null, TEXT, 1.2, [4, 3]);
    const selected = scene.nodes.filter((n) => n.selected);
    if (selected.length) sink.circles(selected, null, "#ffffff", 2.5, null);

    const badges = nodes.filter((n) => n.badge);
    if (badges.length) {
      sink.rects(badges.map((n) => ({ x: n.x - 12, y: n.y - n.r - 17, w: 24, h: 12 })), "#d8dee6");
      for (const n of badges) sink.text(n.badge, n.x, n.y - n.r - 11, 9, "#0f1419", true);
    }
    // Labels on a backing of the background colour (one fill for all), so lines under them do not
    // cross the letters.
    const texts = [];
    for (const n of scene.nodes) if (n.label) texts.push([n.label, n.x, n.group !== undefined ? n.labelY : n.y + n.r + 10, n.group !== undefined ? 13 : 12, TEXT, n.group !== undefined]);
    for (const g of scene.groups) if (g.label) texts.push([g.label, g.x, g.labelY, 13, DIM, true]);
    for (const e of scene.edges) if (e.label) texts.push([e.label, e.lx, e.ly, 11, e.style === "errors" ? EDGE.errors : DIM, false]);
    if (texts.length) {
      sink.rects(texts.map(([str, x, y, size]) => { const w = str.length * size * 0.58 + 4; return { x: x - w / 2, y: y - size / 2 - 1, w, h: size + 2 }; }), BG);
      for (const t of texts) sink.text(...t);
    }
  }

  function arrowHead(e) {
    const dx = e.x2 - e.cx, dy = e.y2 - e.cy, len = Math.hypot(dx, dy) || 1, ux = dx / len, uy = dy / len;
    return [e.x2, e.y2, e.x2 - ux * 8 - uy * 4, e.y2 - uy * 8 + ux * 4, e.x2 - ux * 8 + uy * 4, e.y2 - uy * 8 - ux * 4];
  }

  /// The canvas sink: each call one path, filled or stroked once.
  function canvasSink(ctx, width, height) {
    return {
      background(color) { ctx.fillStyle = color; ctx.fillRect(0, 0, width, height); },
      circles(list, fill, stroke, lineWidth, dash) {
        ctx.beginPath();
        for (const c of list) { ctx.moveTo(c.x + c.r, c.y); ctx.arc(c.x, c.y, c.r, 0, Math.PI * 2); }
        if (fill) { ctx.fillStyle = fill; ctx.fill(); }
        if (stroke) { ctx.strokeStyle = stroke; ctx.lineWidth = lineWidth; ctx.setLineDash(dash || []); ctx.stroke(); ctx.setLineDash([]); }
      },
      curves(list, stroke, lineWidth, dash, offset, alpha) {
        ctx.globalAlpha = alpha; ctx.strokeStyle = stroke; ctx.lineWidth = lineWidth; ctx.setLineDash(dash || []); ctx.lineDashOffset = offset;
        // In paths of 200: one path of thousands of crossing curves is slower to fill than its parts.
        for (let i = 0; i < list.length; i += 200) {
          ctx.beginPath();
          for (const e of list.slice(i, i + 200)) { ctx.moveTo(e.x1, e.y1); ctx.quadraticCurveTo(e.cx, e.cy, e.x2, e.y2); }
          ctx.stroke();
        }
        ctx.setLineDash([]); ctx.globalAlpha = 1;
      },
      polygons(list, fill) {
        ctx.beginPath();
        for (const p of list) { ctx.moveTo(p[0], p[1]); for (let i = 2; i < p.length; i += 2) ctx.lineTo(p[i], p[i + 1]); ctx.closePath(); }
        ctx.fillStyle = fill; ctx.fill();
      },
      rects(list, fill) { ctx.fillStyle = fill; ctx.beginPath(); for (const r of list) ctx.rect(r.x, r.y, r.w, r.h); ctx.fill(); },
      text(str, x, y, size, color, bold) {
        ctx.font = (bold ? "700 " : "") + size + "px system-ui, sans-serif";
        ctx.textAlign = "center"; ctx.textBaseline = "middle";
        ctx.fillStyle = color; ctx.fillText(str, x, y);
      },
    };
  }

  const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  const f1 = (n) => n.toFixed(1);

  /// The SVG sink: the same calls written out as elements.
  function svgSink(out) {
    const stroke = (color, width, dash) => color ? ' stroke="' + color + '" stroke-width="' + width + '"' + (dash ? ' stroke-dasharray="' + dash.join(" ") + '"' : "") : "";
    return {
      background(color) { out.push('<rect width="100%" height="100%" fill="' + color + '"/>'); },
      circles(list, fill, color, width, dash) {
        for (const c of list) out.push('<circle cx="' + f1(c.x) + '" cy="' + f1(c.y) + '" r="' + f1(c.r) + '" fill="' + (fill || "none") + '"' + stroke(color, width, dash) + "/>");
      },
      curves(list, color, width, dash, offset, alpha) {
        for (const e of list) {
          out.push('<path d="M' + f1(e.x1) + "," + f1(e.y1) + " Q" + f1(e.cx) + "," + f1(e.cy) + " " + f1(e.x2) + "," + f1(e.y2) +
                   '" fill="none"' + stroke(color, width, dash) + (alpha < 1 ? ' stroke-opacity="' + alpha + '"' : "") + "/>");
        }
      },
      polygons(list, fill) { for (const p of list) out.push('<polygon points="' + p.map(f1).join(" ") + '" fill="' + fill + '"/>'); },
      rects(list, fill) { for (const r of list) out.push('<rect x="' + f1(r.x) + '" y="' + f1(r.y) + '" width="' + r.w + '" height="' + r.h + '" rx="3" fill="' + fill + '"/>'); },
      text(str, x, y, size, color, bold) {
        out.push('<text x="' + f1(x) + '" y="' + f1(y) + '" font-size="' + size + '"' + (bold ? ' font-weight="700"' : "") + ' fill="' + color +
                 '" text-anchor="middle" dominant-baseline="middle">' + esc(str) + "</text>");
      },
    };
  }

  function toSVG(scene) {
    const out = ['<svg xmlns="http://www.w3.org/2000/svg" width="' + scene.width + '" height="' + scene.height + '" viewBox="0 0 ' +
                 scene.width + " " + scene.height + '" font-family="system-ui, sans-serif">'];
    paint(scene, svgSink(out), 0);
    out.push("</svg>");
    return out.join("\n");
  }

  return { paint, canvasSink, toSVG, dashed: (scene) => scene.edges.length <= DASHED_EDGES };
})();
