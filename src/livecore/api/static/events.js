// The events page: the audit log (failovers, migrations, nodes lost and joined,
// refused commands, faults, halts), newest first, filtered by group, paged.

import { Pager } from "./pager.js";
import { DASH, badge, cell, el, portfolioLink } from "./util.js";

const PAGE_ROWS = 50;
const GROUP_KIND = { failovers: "warn", migrations: "info", nodes: "idle", refused: "bad", faults: "bad", halts: "bad" };
// detail keys shown in their own column or dropped from the summary
const SHOWN_APART = new Set(["node_id", "portfolio_id", "nonce"]);

let pager = null;
let group = "";

function summary(detail) {
  const parts = [];
  if (detail.from !== undefined || detail.to !== undefined) parts.push(`${detail.from ?? DASH} → ${detail.to ?? "nowhere yet"}`);
  if (detail.source !== undefined) parts.push(`${detail.source} → ${detail.target}`);
  for (const [key, value] of Object.entries(detail)) {
    if (SHOWN_APART.has(key) || ["from", "to", "source", "target"].includes(key) || value === null) continue;
    parts.push(`${key}: ${typeof value === "object" ? JSON.stringify(value) : value}`);
  }
  return parts.join(" · ");
}

export function eventRow(e) {
  const detail = e.detail || {};
  const subject = el("td", { class: "mono" });
  if (detail.portfolio_id) subject.append(portfolioLink(detail.portfolio_id));
  if (detail.node_id) subject.append(el("span", { class: "subject-node", text: `${detail.portfolio_id ? " · " : ""}${detail.node_id}` }));
  if (!detail.portfolio_id && !detail.node_id) subject.textContent = DASH;
  return el(
    "tr",
    { "data-event": e.event, "data-id": e.id },
    cell(e.time.replace("T", " ").replace("+00:00", "Z"), "num mono"),
    badge(e.event, GROUP_KIND[e.group] || "idle"),
    cell(e.component),
    subject,
    cell(summary(detail), "wrap", JSON.stringify(detail)),
  );
}

function eventsUrl(before) {
  const query = [`limit=${PAGE_ROWS}`];
  if (group) query.push(`group=${encodeURIComponent(group)}`);
  if (before !== null) query.push(`before=${before}`);
  return `/api/events?${query.join("&")}`;
}

export function installEvents() {
  pager = new Pager({
    table: document.getElementById("events"),
    nav: document.getElementById("events-nav"),
    url: eventsUrl,
    key: "events",
    row: eventRow,
    empty: "nothing audited yet",
    columns: 5,
  });
  const filters = document.getElementById("event-groups");
  const groups = ["", "failovers", "migrations", "nodes", "refused", "faults", "halts"];
  filters.replaceChildren(
    ...groups.map((name) => {
      const button = el("button", { type: "button", text: name || "all", class: "filter", "data-group": name });
      button.addEventListener("click", () => {
        group = name;
        for (const b of filters.querySelectorAll("button")) b.classList.toggle("selected", b === button);
        pager.reset(eventsUrl);
        pager.refresh();
      });
      return button;
    }),
  );
  filters.querySelector("button").classList.add("selected");
}

export async function refreshEvents() {
  if (pager) await pager.refresh();
}
