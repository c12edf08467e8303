// A small SVG line chart of one reading over time, with its range and latest value in words.
const NS = "http://www.w3.org/2000/svg";
const W = 420, H = 140, PAD = 28;

function svg(tag, attrs, text) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

export function trendChart({ label, unit, points }) {
  const values = points.map((p) => p.value);
  const lo = Math.min(...values), hi = Math.max(...values);
  const t0 = points[0].at.getTime(), t1 = points[points.length - 1].at.getTime();
  const x = (p) => PAD + (t1 === t0 ? (W - 2 * PAD) / 2 : ((p.at.getTime() - t0) / (t1 - t0)) * (W - 2 * PAD));
  const y = (v) => H - PAD - (hi === lo ? (H - 2 * PAD) / 2 : ((v - lo) / (hi - lo)) * (H - 2 * PAD));
  const chart = svg("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label, class: "trend-chart" });
  chart.append(svg("line", { x1: PAD, y1: H - PAD, x2: W - PAD, y2: H - PAD, stroke: "#999" }));
  chart.append(svg("text", { x: 2, y: y(hi) + 4, "font-size": 10 }, String(hi)));
  chart.append(svg("text", { x: 2, y: y(lo) + 4, "font-size": 10 }, String(lo)));
  chart.append(svg("polyline", { fill: "none", stroke: "#0b5cad", "stroke-width": 2,
    points: points.map((p) => `${x(p)},${y(p.value)}`).join(" ") }));
  for (const p of points) chart.append(svg("circle", { cx: x(p), cy: y(p.value), r: 3, fill: "#0b5cad" }));
  const latest = points[points.length - 1];
  const figure = document.createElement("figure");
  const caption = document.createElement("figcaption");
  caption.textContent = `${label}: ${latest.value} ${unit || ""} (${points.length})`;
  figure.append(caption, chart);
  return figure;
}
