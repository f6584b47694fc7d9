// The cluster's kill switch: a banner on every page while the cluster is halted,
// a "halt cluster" button in the header, "resume" in the banner.
// GET /api/cluster/halt -> {halted, reason, flatten, since, by, acks: {node: bool}};
// POST /api/cluster/halt {reason, flatten} and POST /api/cluster/resume.
// A server without these endpoints (404) shows neither button nor banner.

import { actionButton } from "./controls.js";
import { el, fetchJson, HttpError } from "./util.js";

const PATH = "/api/cluster/halt";
let available = null; // null: not asked yet; false: the server has no halt endpoint

export function installHalt() {
  const slot = document.getElementById("halt-control");
  slot.replaceChildren(
    actionButton("halt cluster", {
      title: "halt the cluster",
      danger: true,
      path: PATH,
      body: (values) => ({ reason: values.reason || "halted from the dashboard", flatten: values.flatten }),
      confirm: {
        title: "Halt the whole cluster?",
        text: "Every node stops sending orders until the cluster is resumed. With flatten, open positions are closed.",
        confirmLabel: "halt",
        fields: [
          { name: "reason", label: "reason", value: "", required: true },
          { name: "flatten", label: "flatten positions", type: "checkbox", value: false },
        ],
      },
    }),
  );
  document.getElementById("halt-resume").replaceChildren(
    actionButton("resume cluster", {
      title: "resume the cluster",
      path: "/api/cluster/resume",
      confirm: { title: "Resume the cluster?", text: "Nodes may send orders again.", confirmLabel: "resume" },
    }),
  );
  slot.hidden = true;
}

export async function refreshHalt() {
  if (available === false) return;
  let state;
  try {
    state = await fetchJson(PATH);
  } catch (err) {
    if (err instanceof HttpError && err.status === 404) {
      available = false;
      document.getElementById("halt-control").hidden = true;
      document.getElementById("halt-banner").hidden = true;
    }
    return; // a transient failure keeps the last banner
  }
  available = true;
  document.getElementById("halt-control").hidden = Boolean(state.halted);
  renderBanner(state);
}

function renderBanner(state) {
  const banner = document.getElementById("halt-banner");
  banner.hidden = !state.halted;
  document.body.classList.toggle("halted", Boolean(state.halted));
  if (!state.halted) return;
  const acks = Object.entries(state.acks || {});
  const acked = acks.filter(([, ok]) => ok).length;
  const parts = [
    state.reason ? `reason: ${state.reason}` : null,
    state.flatten ? "positions flattened" : "positions kept",
    state.since ? `since ${state.since}` : null,
    state.by ? `by ${state.by}` : null,
    acks.length ? `${acked} / ${acks.length} nodes acknowledged` : null,
  ].filter(Boolean);
  document.getElementById("halt-text").replaceChildren(
    el("strong", { text: "CLUSTER HALTED" }),
    el("span", { text: ` \u2014 ${parts.join(" \u00b7 ")}` }),
  );
  const pending = acks.filter(([, ok]) => !ok).map(([node]) => node);
  document.getElementById("halt-pending").textContent = pending.length ? `not yet acknowledged: ${pending.join(", ")}` : "";
}
