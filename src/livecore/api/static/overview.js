// The overview: summary cards (with the market data time and the bus health),
// nodes with their health history (lost ones kept), portfolios with P&L and
// return, every process's bus, migrations in flight.

import { actionButton } from "./controls.js";
import { healthStrip } from "./chart.js";
import {
  DASH,
  age,
  badge,
  bytes,
  cell,
  el,
  money,
  num,
  percent,
  portfolioLink,
  quantity,
  replaceRows,
  signedCell,
  timeOfNs,
  timeOfSeconds,
} from "./util.js";

const MAX_POSITIONS_SHOWN = 4;
let filterText = "";
let last = { report: null, history: null };

export function installOverview(rerender) {
  document.getElementById("filter").addEventListener("input", (event) => {
    filterText = event.target.value.trim().toLowerCase();
    rerender();
  });
}

// --- classification ---------------------------------------------------------------

export function nodeKind(node) {
  if (node.lost) return { label: "lost", badge: "bad", row: "row-dead" };
  if (!node.alive) return { label: "dead", badge: "bad", row: "row-dead" };
  if (node.state === "paused") return { label: "paused", badge: "info", row: "" };
  if (node.state === "running") return { label: "running", badge: "ok", row: "" };
  return { label: node.state || "unknown", badge: "idle", row: "" };
}

export function portfolioKind(p) {
  const state = p.state || "unknown";
  if (state === "running") return { label: p.halted ? "halted" : "running", badge: p.halted ? "warn" : "ok", row: "" };
  if (state === "faulted") return { label: "faulted", badge: "bad", row: "row-faulted", detail: p.fault };
  if (state === "paused") return { label: "paused", badge: "info", row: "" };
  if (state.startsWith("pending")) {
    return { label: "pending", badge: "warn", row: "row-pending", detail: state.replace(/^pending:?\s*/, "") };
  }
  if (state === "loading" || state === "migrating") return { label: state, badge: "warn", row: "" };
  if (state === "stopped" || state === "stopping") return { label: state, badge: "idle", row: "row-stopped" };
  return { label: state, badge: "idle", row: "" };
}

// --- rendering --------------------------------------------------------------------

// Nodes in the status report, plus those only the history still knows or the
// audit says the leader lost recently: lost, not vanished.
function allNodes(report, history) {
  const tracks = new Map((history ? history.nodes : []).map((t) => [t.node_id, t]));
  const audit = (history && history.audit) || {};
  const rows = (report.nodes || []).map((n) => ({ ...n, track: tracks.get(n.node_id), audit: audit[n.node_id] }));
  const listed = new Set(rows.map((n) => n.node_id));
  const gone = new Set([...tracks.keys(), ...Object.keys(audit).filter((id) => audit[id].event === "node_lost")]);
  for (const nodeId of gone) {
    if (!listed.has(nodeId)) {
      rows.push({ node_id: nodeId, alive: false, lost: true, state: "lost", track: tracks.get(nodeId), audit: audit[nodeId] });
    }
  }
  return rows.sort((a, b) => a.node_id.localeCompare(b.node_id));
}

function lostCell(node) {
  const lostAt = node.audit && node.audit.event === "node_lost" ? node.audit.time.replace("T", " ").replace("+00:00", "Z") : null;
  const lastAlive = node.track && node.track.last_alive;
  const text = lostAt ? `lost ${lostAt}` : lastAlive ? `seen ${timeOfSeconds(lastAlive)}` : DASH;
  return cell(text, "num", "gone from the coordination store");
}

function nodeControls(node) {
  if (!node.alive) return el("td");
  const paused = node.state === "paused";
  const verb = paused ? "resume" : "pause";
  return el(
    "td",
    { class: "controls" },
    actionButton(verb, {
      title: `${verb} ${node.node_id}`,
      path: `/api/nodes/${encodeURIComponent(node.node_id)}/${verb}`,
      confirm: {
        title: `${paused ? "Resume" : "Pause"} node ${node.node_id}?`,
        text: paused
          ? "Its portfolios may send orders again."
          : "Its portfolios stop sending new orders; fills and prices still apply.",
        confirmLabel: verb,
      },
    }),
  );
}

function nodeRow(node) {
  const kind = nodeKind(node);
  const load = node.capacity ? `${num(node.portfolio_count)} / ${num(node.capacity)}` : num(node.portfolio_count);
  const heartbeat = node.lost
    ? lostCell(node)
    : cell(age(node.heartbeat_age_s), "num", node.alive ? undefined : "no heartbeat: the node is dead or gone");
  return el(
    "tr",
    { class: kind.row, "data-node": node.node_id, "data-state": kind.label },
    cell(node.node_id, "mono"),
    badge(kind.label, kind.badge),
    el("td", { class: "history" }, healthStrip(node.track ? node.track.samples : [])),
    heartbeat,
    cell(node.lost ? DASH : load, "num"),
    cell(num(node.queue_size, 2), "num"),
    cell(node.cpu_usage === null || node.cpu_usage === undefined ? DASH : `${num(node.cpu_usage, 1)} %`, "num"),
    cell(bytes(node.memory_usage), "num"),
    cell(num(node.backpressure_count), "num"),
    cell(num(node.dropped_events), "num"),
    cell(num(node.total_events), "num"),
    cell(timeOfNs(node.market_time_ns), "num mono"),
    nodeControls(node),
  );
}

function positionsText(positions) {
  const held = Object.entries(positions || {}).filter(([, pos]) => Number(pos.quantity) !== 0);
  if (!held.length) return { text: DASH, title: undefined };
  held.sort(([a], [b]) => a.localeCompare(b));
  const all = held.map(([symbol, pos]) => `${symbol} ${quantity(pos.quantity)}`);
  const shown = all.slice(0, MAX_POSITIONS_SHOWN).join(" · ");
  const more = all.length > MAX_POSITIONS_SHOWN ? ` +${all.length - MAX_POSITIONS_SHOWN} more` : "";
  return { text: shown + more, title: all.join("\n") };
}

function portfolioRow(p) {
  const kind = portfolioKind(p);
  const positions = positionsText(p.positions);
  const fence = p.fence_epoch !== null && p.fence_epoch !== undefined ? `fence epoch ${p.fence_epoch} (${p.fence_owner})` : undefined;
  return el(
    "tr",
    { class: kind.row, "data-portfolio": p.portfolio_id, "data-state": kind.label },
    el("td", { class: "mono" }, portfolioLink(p.portfolio_id)),
    badge(kind.label, kind.badge, kind.detail),
    cell(p.node_id || DASH, "mono"),
    cell(p.epoch ? num(p.epoch) : DASH, "num", fence),
    cell(money(p.equity), "num", p.equity ?? undefined),
    signedCell(p.realized_pnl),
    signedCell(p.unrealized_pnl),
    signedCell(percent(p.return_ratio)),
    cell(positions.text, "wrap", positions.title),
    cell(p.last_order_id || DASH, "mono"),
  );
}

function matches(p) {
  if (!filterText) return true;
  return `${p.portfolio_id} ${p.node_id || ""} ${p.state || ""}`.toLowerCase().includes(filterText);
}

function setCard(id, text, active, title) {
  const value = document.getElementById(id);
  value.textContent = text;
  value.title = title || "";
  value.parentElement.classList.toggle("active", Boolean(active));
}

function marketCard(nodes) {
  const times = nodes.filter((n) => n.alive && n.market_time_ns).map((n) => Number(n.market_time_ns));
  if (!times.length) {
    setCard("sum-market", DASH, false, "no live node has seen market data");
    document.getElementById("sum-market-age").textContent = "";
    return;
  }
  const newest = Math.max(...times);
  setCard("sum-market", timeOfNs(newest).slice(11), false, timeOfNs(newest));
  document.getElementById("sum-market-age").textContent = `${timeOfNs(newest).slice(0, 10)} · ${age(Math.max(0, Date.now() / 1000 - newest / 1e9))} ago`;
}

function busRows(report) {
  return (report.bus || []).map((b) =>
    el(
      "tr",
      { "data-process": b.process, class: b.ok ? "" : "row-faulted" },
      cell(b.process, "mono"),
      badge(b.ok ? "ok" : "degraded", b.ok ? "ok" : "bad", b.ok ? undefined : b.reason),
      cell(b.since_ns ? timeOfNs(b.since_ns) : DASH, "num mono"),
      cell(b.lost_records === null || b.lost_records === undefined ? DASH : num(b.lost_records), "num"),
    ),
  );
}

export function renderOverview(report, history) {
  last = { report: report || last.report, history: history || last.history };
  if (!last.report) return;
  const { report: r, history: h } = last;
  const nodes = allNodes(r, h);
  const portfolios = r.portfolios || [];
  const migrations = r.migrations || [];
  const alive = nodes.filter((n) => n.alive).length;
  const kinds = portfolios.map(portfolioKind);
  const count = (label) => kinds.filter((k) => k.label === label).length;
  setCard("sum-nodes", `${alive} / ${nodes.length}`, alive < nodes.length);
  setCard("sum-running", `${count("running")} / ${portfolios.length}`, false);
  setCard("sum-pending", String(count("pending")), count("pending") > 0);
  setCard("sum-faulted", String(count("faulted")), count("faulted") > 0);
  setCard("sum-migrations", String(migrations.length), false);
  setCard("sum-bus", r.health === "ok" ? "ok" : "degraded", r.health !== "ok", (r.problems || []).join("\n"));
  marketCard(nodes);

  replaceRows(document.querySelector("#nodes tbody"), nodes.map(nodeRow), "no node has reported", 13);
  const shown = portfolios.filter(matches);
  const emptyText = portfolios.length ? "no portfolio matches the filter" : "no portfolio is registered";
  replaceRows(document.querySelector("#portfolios tbody"), shown.map(portfolioRow), emptyText, 10);
  replaceRows(document.querySelector("#bus tbody"), busRows(r), "no process reports its bus", 4);
  document.getElementById("problems").replaceChildren(...(r.problems || []).map((p) => el("li", { text: p })));

  document.getElementById("migrations-section").hidden = migrations.length === 0;
  document
    .getElementById("migrations")
    .replaceChildren(
      ...migrations.map((m) => el("li", { text: `${m.portfolio_id}: ${m.source} → ${m.target}${m.phase ? ` (${m.phase})` : ""}` })),
    );
  const problems = count("faulted") + count("pending") + (nodes.length - alive);
  return problems;
}
