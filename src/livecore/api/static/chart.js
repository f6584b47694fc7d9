// Charts: a portfolio's equity curve and its drawdown (uPlot, vendored under
// vendor/uplot and loaded as the global ``uPlot``), and the nodes' health strips
// (plain elements, one per sample).

import { el, num, timeOfSeconds } from "./util.js";

const COLORS = { equity: "#1d5fb4", drawdown: "#b42318", drawdownFill: "rgba(180, 35, 24, 0.18)" };
const HEIGHTS = { equity: 260, drawdown: 140 };

// Drawdown at each point: equity over the running peak, minus one (0 at a new high).
export function drawdowns(equities) {
  let peak = -Infinity;
  return equities.map((value) => {
    peak = Math.max(peak, value);
    return peak > 0 ? value / peak - 1 : 0;
  });
}

function widthOf(box) {
  return Math.max(200, Math.floor(box.getBoundingClientRect().width) || 600);
}

function chartOptions(kind, width) {
  const money = (u, values) => values.map((v) => (v === null ? "" : num(v, 0)));
  const pct = (u, values) => values.map((v) => (v === null ? "" : `${num(v * 100, 1)} %`));
  const series =
    kind === "equity"
      ? { label: "equity", stroke: COLORS.equity, width: 2, value: (u, v) => (v === null ? "" : num(v, 2)) }
      : {
          label: "drawdown",
          stroke: COLORS.drawdown,
          fill: COLORS.drawdownFill,
          width: 1.5,
          value: (u, v) => (v === null ? "" : `${num(v * 100, 2)} %`),
        };
  // a drawdown is never above 0; show at least 1 % below it, so a flat curve reads as flat
  const y = kind === "drawdown" ? { range: (u, min) => [Math.min(min ?? 0, -0.01), 0] } : {};
  return {
    width,
    height: HEIGHTS[kind],
    scales: { x: { time: true }, y },
    series: [{ label: "time", value: (u, v) => (v === null ? "" : timeOfSeconds(v)) }, series],
    axes: [{}, { values: kind === "equity" ? money : pct, size: 70 }],
    cursor: { drag: { x: true, y: false } },
  };
}

// Two stacked charts over the same points; ``update`` redraws with new points.
export class EquityCharts {
  constructor(equityBox, drawdownBox) {
    this.boxes = { equity: equityBox, drawdown: drawdownBox };
    this.charts = null;
    this.onResize = () => this.resize();
    window.addEventListener("resize", this.onResize);
  }

  update(points) {
    const xs = points.map((p) => Number(p.ts_ns) / 1e9);
    const equities = points.map((p) => Number(p.equity));
    const data = { equity: [xs, equities], drawdown: [xs, drawdowns(equities)] };
    if (!points.length) {
      this.destroyCharts();
      for (const box of Object.values(this.boxes)) {
        box.replaceChildren(el("p", { class: "muted empty-chart", text: "no equity recorded yet" }));
      }
      return;
    }
    if (typeof window.uPlot !== "function") {
      this.boxes.equity.replaceChildren(el("p", { class: "muted", text: "the charting library did not load" }));
      return;
    }
    if (this.charts === null) {
      this.charts = {};
      for (const [kind, box] of Object.entries(this.boxes)) {
        box.replaceChildren();
        this.charts[kind] = new window.uPlot(chartOptions(kind, widthOf(box)), data[kind], box);
      }
    } else {
      for (const kind of Object.keys(this.charts)) this.charts[kind].setData(data[kind]);
    }
  }

  resize() {
    if (this.charts === null) return;
    for (const [kind, chart] of Object.entries(this.charts)) {
      chart.setSize({ width: widthOf(this.boxes[kind]), height: HEIGHTS[kind] });
    }
  }

  destroyCharts() {
    if (this.charts === null) return;
    for (const chart of Object.values(this.charts)) chart.destroy();
    this.charts = null;
  }

  destroy() {
    this.destroyCharts();
    window.removeEventListener("resize", this.onResize);
  }
}

// A node's recent health: one mark per sample, newest on the right.
export function healthStrip(samples, shown = 60) {
  const strip = el("span", { class: "strip", role: "img" });
  const recent = (samples || []).slice(-shown);
  for (const s of recent) {
    const age = s.heartbeat_age_s === null ? "" : `, heartbeat ${num(s.heartbeat_age_s, 1)} s old`;
    strip.append(el("i", { class: `s-${s.state}`, title: `${timeOfSeconds(s.t)}: ${s.state}${age}` }));
  }
  const counts = {};
  for (const s of recent) counts[s.state] = (counts[s.state] || 0) + 1;
  strip.setAttribute(
    "aria-label",
    Object.entries(counts)
      .map(([state, n]) => `${n} ${state}`)
      .join(", ") || "no samples yet",
  );
  return strip;
}
