// Small SVG drawings without libraries: an evidence timeline, a bar chart, a force graph.
const NS = "http://www.w3.org/2000/svg";

function el(name, attrs = {}, text = "") {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text) node.textContent = text;
  return node;
}

function svg(width, height, label) {
  return el("svg", {
    viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": label,
    preserveAspectRatio: "xMinYMin meet",
  });
}

/** "2021-09-06T09:05:00+07:00" -> "09:05" (city time as sent by the API). */
export function hhmm(iso) {
  return iso ? iso.slice(11, 16) : "";
}

/** Lanes per evidence row: the F0's stay (grey) behind the time together (blue). */
export function timeline(evidence, caseVisits, label) {
  const rows = evidence.map((e) => {
    const start = Date.parse(e.overlap_start);
    const end = Date.parse(e.overlap_end);
    const stay = (caseVisits || []).find(
      (v) => v.venue === e.venue && Date.parse(v.t_in) <= start && Date.parse(v.t_out) >= end,
    );
    return { e, start, end, stay };
  });
  let lo = Math.min(...rows.map((r) => (r.stay ? Date.parse(r.stay.t_in) : r.start)));
  let hi = Math.max(...rows.map((r) => (r.stay ? Date.parse(r.stay.t_out) : r.end)));
  const pad = Math.max((hi - lo) * 0.05, 60_000);
  lo -= pad;
  hi += pad;
  const W = 640, left = 90, lane = 26, H = 30 + lane * rows.length;
  const x = (ms) => left + ((ms - lo) / (hi - lo)) * (W - left - 30);
  const root = svg(W, H, label);
  root.classList.add("timeline");
  for (let k = 0; k <= 4; k++) {
    const ms = lo + ((hi - lo) * k) / 4;
    root.append(el("line", { x1: x(ms), x2: x(ms), y1: 4, y2: H - 18, class: "grid" }));
    const d = new Date(ms + 7 * 3600_000).toISOString();
    root.append(el("text", { x: x(ms), y: H - 4, class: "tick mid" }, d.slice(11, 16)));
  }
  rows.forEach((r, i) => {
    const y = 8 + i * lane;
    root.append(el("text", { x: 4, y: y + 14, class: "lane" }, `#${r.e.venue}`));
    if (r.stay) {
      const a = Date.parse(r.stay.t_in), b = Date.parse(r.stay.t_out);
      root.append(el("rect", { x: x(a), y, width: Math.max(x(b) - x(a), 1), height: 18,
        class: "stay" }));
    }
    const bar = el("rect", { x: x(r.start), y: y + 4, width: Math.max(x(r.end) - x(r.start), 2),
      height: 10, class: r.e.contact_checkout === "observed" ? "overlap" : "overlap imputed" });
    bar.append(el("title", {}, `${hhmm(r.e.overlap_start)}–${hhmm(r.e.overlap_end)}`));
    root.append(bar);
  });
  return root;
}

/** Vertical bars of `points` [{label, value}]. */
export function barChart(points, label) {
  const W = 640, H = 200, left = 50, bottom = 40;
  const max = Math.max(1, ...points.map((p) => p.value));
  const root = svg(W, H, label);
  root.classList.add("bars");
  const step = (W - left - 10) / Math.max(points.length, 1);
  root.append(el("text", { x: 4, y: 14, class: "tick" }, max.toLocaleString()));
  root.append(el("line", { x1: left, x2: W - 10, y1: H - bottom, y2: H - bottom, class: "grid" }));
  points.forEach((p, i) => {
    const h = ((H - bottom - 20) * p.value) / max;
    const x = left + i * step + step * 0.15;
    const bar = el("rect", { x, y: H - bottom - h, width: step * 0.7, height: h, class: "bar" });
    bar.append(el("title", {}, `${p.label}: ${p.value.toLocaleString()}`));
    root.append(bar);
    root.append(el("text", { x: x + step * 0.35, y: H - bottom + 14, class: "tick mid" },
      p.label.slice(5)));
    root.append(el("text", { x: x + step * 0.35, y: H - bottom - h - 4, class: "tick mid" },
      p.value.toLocaleString()));
  });
  return root;
}

/** A spring layout (Fruchterman-Reingold, fixed iterations, seeded) of nodes and edges. */
export function forceLayout(nodes, edges, iterations = 300) {
  const n = nodes.length;
  let seed = 7;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const pos = nodes.map(() => [rand(), rand()]);
  const index = new Map(nodes.map((node, i) => [node.id, i]));
  const links = edges.map(([a, b]) => [index.get(a), index.get(b)]).filter(([a, b]) =>
    a !== undefined && b !== undefined);
  const k = Math.sqrt(1 / Math.max(n, 1));
  let temp = 0.1;
  for (let it = 0; it < iterations; it++) {
    const disp = pos.map(() => [0, 0]);
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const dx = pos[i][0] - pos[j][0], dy = pos[i][1] - pos[j][1];
        const d2 = Math.max(dx * dx + dy * dy, 1e-6);
        const f = (k * k) / d2;
        disp[i][0] += dx * f; disp[i][1] += dy * f;
        disp[j][0] -= dx * f; disp[j][1] -= dy * f;
      }
    }
    for (const [a, b] of links) {
      const dx = pos[a][0] - pos[b][0], dy = pos[a][1] - pos[b][1];
      const d = Math.max(Math.hypot(dx, dy), 1e-3);
      const f = d / k;
      disp[a][0] -= dx * f; disp[a][1] -= dy * f;
      disp[b][0] += dx * f; disp[b][1] += dy * f;
    }
    for (let i = 0; i < n; i++) {
      const d = Math.max(Math.hypot(disp[i][0], disp[i][1]), 1e-9);
      const step = Math.min(d, temp);
      pos[i][0] += (disp[i][0] / d) * step;
      pos[i][1] += (disp[i][1] / d) * step;
    }
    temp *= 0.985;
  }
  return pos;
}

/** The cluster graph: cases (red), venues (blue squares), contact groups (grey). */
export function graph(nodes, edges, label) {
  const W = 640, H = 420, m = 30, right = 90;
  const pos = forceLayout(nodes, edges);
  const xs = pos.map((p) => p[0]), ys = pos.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = (v) => m + ((v - x0) / Math.max(x1 - x0, 1e-9)) * (W - m - right);
  const sy = (v) => m + ((v - y0) / Math.max(y1 - y0, 1e-9)) * (H - 2 * m);
  const index = new Map(nodes.map((node, i) => [node.id, i]));
  const root = svg(W, H, label);
  root.classList.add("graph");
  for (const [a, b] of edges) {
    const i = index.get(a), j = index.get(b);
    if (i === undefined || j === undefined) continue;
    root.append(el("line", { x1: sx(pos[i][0]), y1: sy(pos[i][1]), x2: sx(pos[j][0]),
      y2: sy(pos[j][1]), class: "edge" }));
  }
  nodes.forEach((node, i) => {
    const cx = sx(pos[i][0]), cy = sy(pos[i][1]);
    const shape = node.kind === "venue"
      ? el("rect", { x: cx - 6, y: cy - 6, width: 12, height: 12, class: "node venue" })
      : el("circle", { cx, cy, r: node.kind === "case" ? 9 : 4 + Math.min(node.size || 1, 30) / 3,
        class: `node ${node.kind}` });
    shape.append(el("title", {}, node.label));
    root.append(shape);
    root.append(el("text", { x: cx + 10, y: cy + 4, class: "tick" }, node.label));
  });
  return root;
}
