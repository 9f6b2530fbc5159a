// Line charts as inline SVG, drawn here (no chart library: the page loads nothing from the network).
const NS = "http://www.w3.org/2000/svg";
const COLOURS = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989"];

function el(name, attrs, parent) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function ticks(lo, hi, n) {
  if (hi === lo) return [lo];
  const step = (hi - lo) / n;
  return Array.from({ length: n + 1 }, (_, i) => lo + i * step);
}

function label(v) {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(2)));
}

/**
 * series: [{name, points: [[x, y], ...], dots?: [[x, y], ...]}]; y within [yMin, yMax] (default: from the data).
 * Returns an <svg> element.
 */
export function lineChart({ title, xLabel, yLabel, series, yMin, yMax, width = 340, height = 230 }) {
  const m = { left: 48, right: 12, top: 26, bottom: 40 };
  const all = series.flatMap((s) => [...s.points, ...(s.dots || [])]);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  let x0 = Math.min(...xs), x1 = Math.max(...xs);
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  let y0 = yMin ?? Math.min(...ys), y1 = yMax ?? Math.max(...ys);
  if (y0 === y1) { y0 -= 0.5; y1 += 0.5; }
  const X = (x) => m.left + ((x - x0) / (x1 - x0)) * (width - m.left - m.right);
  const Y = (y) => height - m.bottom - ((y - y0) / (y1 - y0)) * (height - m.top - m.bottom);

  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "chart", role: "img" });
  el("title", {}, svg).textContent = title;
  el("text", { x: width / 2, y: 16, "text-anchor": "middle", class: "chart-title" }, svg).textContent = title;
  for (const t of ticks(y0, y1, 4)) {
    el("line", { x1: m.left, x2: width - m.right, y1: Y(t), y2: Y(t), class: "grid" }, svg);
    el("text", { x: m.left - 6, y: Y(t) + 4, "text-anchor": "end", class: "tick" }, svg).textContent = label(t);
  }
  for (const t of [...new Set(xs)].sort((a, b) => a - b)) {
    el("text", { x: X(t), y: height - m.bottom + 16, "text-anchor": "middle", class: "tick" }, svg).textContent = label(t);
  }
  el("line", { x1: m.left, x2: m.left, y1: m.top, y2: height - m.bottom, class: "axis" }, svg);
  el("line", { x1: m.left, x2: width - m.right, y1: height - m.bottom, y2: height - m.bottom, class: "axis" }, svg);
  el("text", { x: width / 2, y: height - 6, "text-anchor": "middle", class: "axis-label" }, svg).textContent = xLabel;
  el("text", { x: 12, y: height / 2, "text-anchor": "middle", class: "axis-label", transform: `rotate(-90 12 ${height / 2})` }, svg).textContent = yLabel;

  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    for (const [x, y] of s.dots || []) el("circle", { cx: X(x), cy: Y(y), r: 2.5, fill: colour, "fill-opacity": 0.35 }, svg);
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    el("polyline", { points: pts.map(([x, y]) => `${X(x)},${Y(y)}`).join(" "), fill: "none", stroke: colour, "stroke-width": 2, class: "series" }, svg);
    for (const [x, y] of pts) el("circle", { cx: X(x), cy: Y(y), r: 3.5, fill: colour }, svg);
    if (series.length > 1) el("text", { x: width - m.right - 4, y: m.top + 12 + 14 * i, "text-anchor": "end", fill: colour, class: "tick" }, svg).textContent = s.name;
  });
  return svg;
}
