// One portfolio: figures, equity curve and drawdown (live, from the recorded
// equity history), risk state, positions, open orders, orders and fills from
// the gateway journal (paged), its epochs and where it ran, and its controls.

import { EquityCharts, drawdowns } from "./chart.js";
import { actionButton } from "./controls.js";
import { eventRow } from "./events.js";
import { portfolioKind } from "./overview.js";
import { Pager } from "./pager.js";
import { DASH, badge, cell, el, fetchJson, money, num, percent, quantity, replaceRows, signed, signedCell, timeOfNs } from "./util.js";

const PAGE_ROWS = 20;
const MAX_POINTS = 10000; // points the page keeps; the store thins older ones itself
const SLOW_EVERY = 5; // journal, epochs and events every 5 polls

let state = null; // {pid, points, charts, orders, fills, ticks}

const enc = encodeURIComponent;

export function showPortfolio(pid) {
  if (state && state.pid === pid) return;
  if (state) state.charts.destroy();
  document.getElementById("p-title").textContent = pid;
  const path = `/api/portfolios/${enc(pid)}`;
  state = {
    pid,
    points: [],
    ticks: 0,
    charts: new EquityCharts(document.getElementById("equity-chart"), document.getElementById("drawdown-chart")),
    orders: new Pager({
      table: document.getElementById("p-orders"),
      nav: document.getElementById("p-orders-nav"),
      url: (before) => `${path}/orders?limit=${PAGE_ROWS}${before === null ? "" : `&before=${before}`}`,
      key: "orders",
      row: orderRow,
      empty: "no order journaled",
      columns: 8,
    }),
    fills: new Pager({
      table: document.getElementById("p-fills"),
      nav: document.getElementById("p-fills-nav"),
      url: (before) => `${path}/fills?limit=${PAGE_ROWS}${before === null ? "" : `&before=${before}`}`,
      key: "fills",
      row: fillRow,
      empty: "no fill journaled",
      columns: 7,
    }),
  };
  for (const id of ["p-positions", "p-open-orders", "p-epochs", "p-events", "p-orders", "p-fills"]) {
    replaceRows(document.querySelector(`#${id} tbody`), [], "loading…", 8);
  }
  document.getElementById("p-controls").replaceChildren();
}

export function leavePortfolio() {
  if (state) state.charts.destroy();
  state = null;
}

// One poll: the live view every time; the curve incrementally; the rest every few polls.
export async function refreshPortfolio(report) {
  if (!state) return;
  const current = state;
  const path = `/api/portfolios/${enc(current.pid)}`;
  const detail = await fetchJson(path);
  if (state !== current) return;
  renderHeader(detail, report);
  renderView(detail.view);
  await refreshEquity(current, path);
  if (current.ticks++ % SLOW_EVERY === 0) {
    const [epochs, events] = await Promise.all([
      fetchJson(`${path}/epochs`),
      fetchJson(`/api/events?limit=${PAGE_ROWS}&portfolio=${enc(current.pid)}`),
      current.orders.refresh(),
      current.fills.refresh(),
    ]);
    if (state !== current) return;
    renderEpochs(epochs);
    replaceRows(document.querySelector("#p-events tbody"), events.events.map(eventRow), "nothing audited about it", 5);
  }
}

async function refreshEquity(current, path) {
  const lastTs = current.points.length ? current.points[current.points.length - 1].ts_ns : null;
  const query = lastTs === null ? `limit=${MAX_POINTS}` : `limit=${MAX_POINTS}&after_ns=${BigInt(lastTs).toString()}`;
  const answer = await fetchJson(`${path}/equity?${query}`);
  if (state !== current) return;
  // ts_ns beyond 2^53 arrive rounded: the same rounding on both sides drops a point seen already
  const fresh = lastTs === null ? answer.points : answer.points.filter((p) => p.ts_ns > lastTs);
  if (fresh.length || lastTs === null) {
    current.points = current.points.concat(fresh).slice(-MAX_POINTS);
    current.charts.update(current.points);
  }
  renderCurveFigures(current.points, answer.initial_cash);
}

// --- rendering --------------------------------------------------------------------

function setFigure(id, shown) {
  const node = document.getElementById(id);
  node.textContent = shown.text;
  node.className = `value ${shown.cls || ""}`.trim();
}

function renderCurveFigures(points, initialCash) {
  const equities = points.map((p) => Number(p.equity));
  const dd = drawdowns(equities);
  const worst = dd.length ? Math.min(...dd) : null;
  setFigure("p-maxdd", worst === null ? { text: DASH } : percent(worst));
  setFigure("p-curdd", dd.length ? percent(dd[dd.length - 1]) : { text: DASH });
  document.getElementById("p-points").textContent = points.length
    ? `${num(points.length)} points since ${timeOfNs(points[0].ts_ns)}${initialCash ? ` · initial cash ${money(initialCash)}` : ""}`
    : "no equity recorded yet: a node records a point with the snapshots it saves";
}

function renderHeader(detail, report) {
  const status = detail.status || {};
  const row = detail.portfolio || {};
  const kind = portfolioKind(status);
  const stateBox = document.getElementById("p-state");
  stateBox.replaceChildren(el("span", { class: `badge ${kind.badge}`, text: kind.label }));
  if (kind.detail) stateBox.append(el("span", { class: "detail", text: kind.detail }));
  stateBox.dataset.state = kind.label;
  document.getElementById("p-where").textContent =
    `${row.strategy || DASH} on ${(row.symbols || []).join(", ") || DASH} · node ${status.node_id || DASH} · epoch ${status.epoch || DASH}`;
  setFigure("p-equity", { text: money(status.equity) });
  setFigure("p-cash", { text: money(status.cash) });
  setFigure("p-realized", signed(status.realized_pnl));
  setFigure("p-unrealized", signed(status.unrealized_pnl));
  setFigure("p-return", percent(status.return_ratio));
  renderControls(status, report);
}

function renderControls(status, report) {
  const box = document.getElementById("p-controls");
  const key = `${status.desired}|${status.node_id}|${(report && report.nodes ? report.nodes : []).map((n) => n.node_id + n.alive).join()}`;
  if (box.dataset.key === key) return; // unchanged: keep the buttons (and a dialog in progress)
  box.dataset.key = key;
  const pid = state.pid;
  const path = `/api/portfolios/${enc(pid)}`;
  const targets = ["auto", ...(report ? report.nodes : []).filter((n) => n.alive && n.node_id !== status.node_id).map((n) => n.node_id)];
  const running = status.desired === "running";
  box.replaceChildren(
    actionButton("reload", {
      title: `reload ${pid}`,
      path: `${path}/reload`,
      confirm: { title: `Reload ${pid}?`, text: "Its node re-reads the spec from the registry; the books are kept.", confirmLabel: "reload" },
    }),
    actionButton("migrate", {
      title: `migrate ${pid}`,
      path: `${path}/migrate`,
      body: (values) => ({ to: values.to }),
      confirm: {
        title: `Migrate ${pid}?`,
        text: "The leader drains it on its node and loads it on the target at the next epoch.",
        confirmLabel: "migrate",
        fields: [{ name: "to", label: "target node", type: "select", options: targets, value: "auto" }],
      },
    }),
    running
      ? actionButton("stop", {
          title: `stop ${pid}`,
          danger: true,
          path: `${path}/stop`,
          confirm: { title: `Stop ${pid}?`, text: "It is marked stopped and unloaded from its node; it trades no more.", confirmLabel: "stop" },
        })
      : el("span", { class: "muted", text: "stopped" }),
  );
}

function renderView(view) {
  const risk = document.getElementById("p-risk");
  if (!view) {
    risk.replaceChildren(el("p", { class: "muted", text: "no live view: no node hosts it right now" }));
    replaceRows(document.querySelector("#p-positions tbody"), [], "no live view", 6);
    replaceRows(document.querySelector("#p-open-orders tbody"), [], "no live view", 7);
    return;
  }
  const fact = (label, value, cls) => el("div", { class: `fact ${cls || ""}` }, el("span", { class: "label", text: label }), el("span", { text: value }));
  const daily = signed(view.daily_pnl);
  const counters = view.counters || {};
  risk.replaceChildren(
    fact("trading", view.trading_enabled ? "enabled" : "disabled", view.trading_enabled ? "" : "warn"),
    fact("risk halt", view.halted ? `halted: ${view.halt_reason || ""}` : "none", view.halted ? "bad" : ""),
    fact("fault", view.faulted ? view.fault || "faulted" : "none", view.faulted ? "bad" : ""),
    fact("daily P&L", daily.text, daily.cls),
    fact("commissions", money(view.commissions)),
    fact("orders / fills", `${num(view.orders_count)} / ${num(view.fills_count)}`),
    fact("vetoes / shrinks", `${num(counters.vetoes)} / ${num(counters.shrinks)}`),
    fact("last refused report", view.feedback_problem || "none", view.feedback_problem ? "warn" : ""),
  );
  const notes = (view.recent_risk || []).slice(-5).reverse();
  if (notes.length) {
    risk.append(
      el("ul", { class: "notes" }, ...notes.map((n) => el("li", { text: `${timeOfNs(n.ts_ns)} ${n.rule} ${n.action} ${n.symbol}: ${n.reason}` }))),
    );
  }
  const positions = Object.entries(view.positions || {}).sort(([a], [b]) => a.localeCompare(b));
  replaceRows(
    document.querySelector("#p-positions tbody"),
    positions.map(([symbol, p]) =>
      el(
        "tr",
        { "data-symbol": symbol },
        cell(symbol, "mono"),
        cell(quantity(p.quantity), "num"),
        cell(money(p.avg_cost), "num", p.avg_cost),
        cell(money(p.last_price), "num", p.last_price ?? undefined),
        cell(money(p.market_value), "num", p.market_value),
        signedCell(p.unrealized_pnl),
      ),
    ),
    "no position",
    6,
  );
  replaceRows(
    document.querySelector("#p-open-orders tbody"),
    (view.open_orders || []).map((o) =>
      el(
        "tr",
        {},
        cell(o.client_order_id, "mono"),
        cell(o.symbol, "mono"),
        cell(o.side),
        cell(`${o.order_type}${o.limit_price ? ` @ ${o.limit_price}` : ""}`),
        cell(`${quantity(o.filled_qty)} / ${quantity(o.quantity)}`, "num"),
        cell(o.state),
        cell(timeOfNs(o.created_ns), "num mono"),
      ),
    ),
    "no open order",
    7,
  );
}

function orderRow(record) {
  const o = record.order;
  return el(
    "tr",
    { "data-order": o.client_order_id },
    cell(o.client_order_id, "mono"),
    cell(timeOfNs(record.received_ns), "num mono"),
    cell(o.symbol, "mono"),
    cell(o.side),
    cell(`${o.order_type}${o.limit_price ? ` @ ${o.limit_price}` : ""}`),
    cell(`${quantity(record.filled_qty)} / ${quantity(o.quantity)}`, "num"),
    cell(`${o.epoch} · ${o.node_id}`, "mono"),
    badge(record.status || "no answer yet", statusKind(record.status)),
  );
}

function statusKind(status) {
  if (status === "filled") return "ok";
  if (status === "rejected") return "bad";
  if (status === "cancelled") return "idle";
  return "info";
}

function fillRow(entry) {
  const f = entry.feedback;
  return el(
    "tr",
    { "data-fill": f.fill_id },
    cell(f.fill_id, "mono"),
    cell(timeOfNs(f.ts_ns), "num mono"),
    cell(f.symbol, "mono"),
    cell(f.side || DASH),
    cell(quantity(f.fill_qty), "num"),
    cell(money(f.fill_price), "num", f.fill_price),
    cell(money(f.commission), "num", f.commission),
  );
}

function renderEpochs(answer) {
  const rows = answer.epochs
    .slice()
    .reverse()
    .map((e) =>
      el(
        "tr",
        { "data-epoch": e.epoch, class: e.epoch === answer.epoch && e.node_id === answer.node_id ? "current" : "" },
        cell(num(e.epoch), "num"),
        cell(e.node_id, "mono"),
        cell(timeOfNs(e.first_ns), "num mono"),
        cell(timeOfNs(e.last_ns), "num mono"),
        cell(num(e.points), "num"),
      ),
    );
  replaceRows(document.querySelector("#p-epochs tbody"), rows, "no equity recorded yet", 5);
  document.getElementById("p-placed").textContent = answer.node_id
    ? `placed on ${answer.node_id} at epoch ${answer.epoch}`
    : `not placed (last epoch ${answer.epoch})`;
}
