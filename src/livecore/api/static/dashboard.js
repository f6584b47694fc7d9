// livecore dashboard: polls /api/status and renders nodes and portfolios.
// Plain DOM, no dependencies, no build step. Every value from the server is set
// with textContent (never innerHTML), so ids and fault texts cannot inject markup.
"use strict";

(() => {
  const POLL_MS = 1000;
  const TIMEOUT_MS = 5000;
  const MAX_POSITIONS_SHOWN = 4;

  let lastOk = null; // Date of the last successful poll
  let lastReport = null;
  let filterText = "";

  // --- formatting -------------------------------------------------------------

  const dash = "–";

  function num(value, digits = 0) {
    if (value === null || value === undefined || Number.isNaN(Number(value))) return dash;
    return Number(value).toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  function money(text) {
    // Exact decimals arrive as strings; the display rounds to cents, the tooltip keeps the exact value.
    if (text === null || text === undefined) return dash;
    return num(text, 2);
  }

  function bytes(value) {
    if (value === null || value === undefined) return dash;
    const mib = Number(value) / (1024 * 1024);
    return mib >= 1024 ? `${num(mib / 1024, 2)} GiB` : `${num(mib, 1)} MiB`;
  }

  function age(seconds) {
    if (seconds === null || seconds === undefined) return dash;
    if (seconds < 10) return `${num(seconds, 1)} s`;
    if (seconds < 120) return `${num(seconds, 0)} s`;
    return `${num(seconds / 60, 0)} min`;
  }

  function quantity(text) {
    const n = Number(text);
    return Number.isInteger(n) ? n.toLocaleString() : String(text);
  }

  // --- DOM helpers ------------------------------------------------------------

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("data-") || key === "title" || key === "colspan") node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function cell(text, cls, title) {
    return el("td", { class: cls, text, title });
  }

  function badge(text, kind, detail) {
    const td = el("td", {}, el("span", { class: `badge ${kind}`, text }));
    if (detail) td.append(el("span", { class: "detail", text: detail }));
    return td;
  }

  function replaceRows(tbody, rows, emptyText, columns) {
    tbody.replaceChildren(...(rows.length ? rows : [el("tr", { class: "empty" }, el("td", { colspan: columns, text: emptyText }))]));
  }

  // --- classification ---------------------------------------------------------

  function nodeKind(node) {
    if (!node.alive) return { label: "dead", badge: "bad", row: "row-dead" };
    if (node.state === "paused") return { label: "paused", badge: "info", row: "" };
    if (node.state === "running") return { label: "running", badge: "ok", row: "" };
    return { label: node.state || "unknown", badge: "idle", row: "" };
  }

  function portfolioKind(p) {
    const state = p.state || "unknown";
    if (state === "running") return { label: "running", badge: "ok", row: "" };
    if (state === "faulted") return { label: "faulted", badge: "bad", row: "row-faulted", detail: p.fault };
    if (state === "paused") return { label: "paused", badge: "info", row: "" };
    if (state.startsWith("pending")) {
      return { label: "pending", badge: "warn", row: "row-pending", detail: state.replace(/^pending:?\s*/, "") };
    }
    if (state === "loading" || state === "migrating") return { label: state, badge: "warn", row: "" };
    if (state === "stopped" || state === "stopping") return { label: state, badge: "idle", row: "row-stopped" };
    return { label: state, badge: "idle", row: "" };
  }

  // --- rendering --------------------------------------------------------------

  function nodeRow(node) {
    const kind = nodeKind(node);
    const load = node.capacity ? `${num(node.portfolio_count)} / ${num(node.capacity)}` : num(node.portfolio_count);
    return el(
      "tr",
      { class: kind.row, "data-node": node.node_id, "data-state": kind.label },
      cell(node.node_id, "mono"),
      badge(kind.label, kind.badge),
      cell(age(node.heartbeat_age_s), "num", node.alive ? undefined : "no heartbeat: the node is dead or gone"),
      cell(load, "num"),
      cell(num(node.queue_size, 2), "num"),
      cell(node.cpu_usage === null ? dash : `${num(node.cpu_usage, 1)} %`, "num"),
      cell(bytes(node.memory_usage), "num"),
      cell(num(node.backpressure_count), "num"),
      cell(num(node.dropped_events), "num"),
      cell(num(node.total_events), "num"),
    );
  }

  function positionsText(positions) {
    const held = Object.entries(positions || {}).filter(([, pos]) => Number(pos.quantity) !== 0);
    if (!held.length) return { text: dash, title: undefined };
    held.sort(([a], [b]) => a.localeCompare(b));
    const all = held.map(([symbol, pos]) => `${symbol} ${quantity(pos.quantity)}`);
    const shown = all.slice(0, MAX_POSITIONS_SHOWN).join(" · ");
    const more = all.length > MAX_POSITIONS_SHOWN ? ` +${all.length - MAX_POSITIONS_SHOWN} more` : "";
    return { text: shown + more, title: all.join("\n") };
  }

  function portfolioRow(p) {
    const kind = portfolioKind(p);
    const positions = positionsText(p.positions);
    const placed = p.node_id || dash;
    return el(
      "tr",
      { class: kind.row, "data-portfolio": p.portfolio_id, "data-state": kind.label },
      cell(p.portfolio_id, "mono"),
      badge(kind.label, kind.badge, kind.detail),
      cell(placed, "mono"),
      cell(p.epoch ? num(p.epoch) : dash, "num", p.fence_epoch !== null ? `fence epoch ${p.fence_epoch} (${p.fence_owner})` : undefined),
      cell(money(p.equity), "num", p.equity ?? undefined),
      cell(money(p.cash), "num", p.cash ?? undefined),
      cell(positions.text, "wrap", positions.title),
      cell(p.last_order_id || dash, "mono"),
    );
  }

  function matches(p) {
    if (!filterText) return true;
    const hay = `${p.portfolio_id} ${p.node_id || ""} ${p.state || ""}`.toLowerCase();
    return hay.includes(filterText);
  }

  function setCard(id, text, active) {
    const value = document.getElementById(id);
    value.textContent = text;
    value.parentElement.classList.toggle("active", Boolean(active));
  }

  function render(report) {
    lastReport = report;
    const nodes = report.nodes || [];
    const portfolios = report.portfolios || [];
    const migrations = report.migrations || [];

    const leader = document.getElementById("leader");
    if (report.leader && report.leader.scheduler_id) {
      leader.textContent = `scheduler leader: ${report.leader.scheduler_id} (epoch ${report.leader.epoch})`;
      leader.className = "leader";
    } else {
      leader.textContent = "no scheduler leads: nothing is placed or failed over";
      leader.className = "leader none";
    }

    const alive = nodes.filter((n) => n.alive).length;
    const kinds = portfolios.map(portfolioKind);
    const running = kinds.filter((k) => k.label === "running").length;
    const pending = kinds.filter((k) => k.label === "pending").length;
    const faulted = kinds.filter((k) => k.label === "faulted").length;
    setCard("sum-nodes", `${alive} / ${nodes.length}`, false);
    setCard("sum-running", `${running} / ${portfolios.length}`, false);
    setCard("sum-pending", String(pending), pending > 0);
    setCard("sum-faulted", String(faulted), faulted > 0);
    setCard("sum-migrations", String(migrations.length), false);

    replaceRows(document.querySelector("#nodes tbody"), nodes.map(nodeRow), "no node has reported", 10);
    const shown = portfolios.filter(matches);
    const emptyText = portfolios.length ? "no portfolio matches the filter" : "no portfolio is registered";
    replaceRows(document.querySelector("#portfolios tbody"), shown.map(portfolioRow), emptyText, 8);

    const section = document.getElementById("migrations-section");
    section.hidden = migrations.length === 0;
    document
      .getElementById("migrations")
      .replaceChildren(
        ...migrations.map((m) => el("li", { text: `${m.portfolio_id}: ${m.source} → ${m.target}${m.phase ? ` (${m.phase})` : ""}` })),
      );

    const problems = faulted + pending + (nodes.length - alive);
    document.title = problems ? `(${problems}) livecore` : "livecore";
  }

  // --- polling ----------------------------------------------------------------

  function setConnection(ok, message) {
    const badgeEl = document.getElementById("connection");
    document.body.classList.toggle("stale", !ok && lastOk !== null);
    if (ok) {
      lastOk = new Date();
      badgeEl.className = "connection live";
      badgeEl.textContent = "live";
      document.getElementById("updated").textContent = `updated ${lastOk.toLocaleTimeString()}`;
    } else {
      badgeEl.className = "connection down";
      badgeEl.textContent = `disconnected: ${message}`;
      if (lastOk) {
        const seconds = Math.round((Date.now() - lastOk.getTime()) / 1000);
        document.getElementById("updated").textContent = `last update ${seconds} s ago (${lastOk.toLocaleTimeString()})`;
      }
    }
  }

  async function poll() {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    try {
      const response = await fetch("/api/status", { cache: "no-store", signal: controller.signal });
      const body = await response.json().catch(() => null);
      if (!response.ok) {
        throw new Error((body && body.message) || `HTTP ${response.status}`);
      }
      render(body);
      setConnection(true);
    } catch (err) {
      let reason = err.message;
      if (err.name === "AbortError") reason = "no answer in time";
      else if (err instanceof TypeError) reason = "server unreachable"; // fetch's network failure
      setConnection(false, reason);
    } finally {
      clearTimeout(timer);
      setTimeout(poll, POLL_MS);
    }
  }

  document.getElementById("filter").addEventListener("input", (event) => {
    filterText = event.target.value.trim().toLowerCase();
    if (lastReport) render(lastReport);
  });

  poll();
})();
