// livecore dashboard: routes between the overview (#/), a portfolio (#/portfolio/<id>)
// and the events (#/events), and polls /api/status every second (the next poll
// starts one second after the previous answer). Plain DOM modules, no build step,
// nothing loaded from another host.

import { installTokenButton, onActionDone } from "./controls.js";
import { installEvents, refreshEvents } from "./events.js";
import { installHalt, refreshHalt } from "./halt.js";
import { installOverview, renderOverview } from "./overview.js";
import { leavePortfolio, refreshPortfolio, showPortfolio } from "./portfolio.js";
import { fetchJson } from "./util.js";

const POLL_MS = 1000;
const HISTORY_EVERY = 5; // the API samples node health every few seconds
const EVENTS_EVERY = 5;
const HALT_EVERY = 2;

let route = parseRoute(location.hash);
let tick = 0;
let lastOk = null;
let history = null;
let timer = null;
let inFlight = false;
let again = false;

function parseRoute(hash) {
  const match = /^#\/portfolio\/(.+)$/.exec(hash);
  if (match) return { page: "portfolio", pid: decodeURIComponent(match[1]) };
  if (hash === "#/events") return { page: "events" };
  return { page: "overview" };
}

function show(next) {
  route = next;
  for (const page of ["overview", "portfolio", "events"]) {
    document.getElementById(`view-${page}`).hidden = page !== route.page;
    const link = document.querySelector(`nav a[data-page="${page}"]`);
    if (link) link.classList.toggle("selected", page === route.page);
  }
  if (route.page === "portfolio") showPortfolio(route.pid);
  else leavePortfolio();
}

function renderLeader(report) {
  const leader = document.getElementById("leader");
  if (report.leader && report.leader.scheduler_id) {
    leader.textContent = `scheduler leader: ${report.leader.scheduler_id} (epoch ${report.leader.epoch})`;
    leader.className = "leader";
  } else {
    leader.textContent = "no scheduler leads: nothing is placed or failed over";
    leader.className = "leader none";
  }
}

function setConnection(ok, message) {
  const badge = document.getElementById("connection");
  document.body.classList.toggle("stale", !ok && lastOk !== null);
  if (ok) {
    lastOk = new Date();
    badge.className = "connection live";
    badge.textContent = "live";
    document.getElementById("updated").textContent = `updated ${lastOk.toLocaleTimeString()}`;
    return;
  }
  badge.className = "connection down";
  badge.textContent = `disconnected: ${message}`;
  if (lastOk) {
    const seconds = Math.round((Date.now() - lastOk.getTime()) / 1000);
    document.getElementById("updated").textContent = `last update ${seconds} s ago (${lastOk.toLocaleTimeString()})`;
  }
}

async function pollOnce() {
  const report = await fetchJson("/api/status");
  renderLeader(report);
  if (tick % HISTORY_EVERY === 0 || history === null) {
    history = await fetchJson("/api/nodes/history").catch(() => history);
  }
  const problems = renderOverview(report, history);
  document.title = problems ? `(${problems}) livecore` : "livecore";
  if (tick % HALT_EVERY === 0) await refreshHalt();
  if (route.page === "portfolio") await refreshPortfolio(report);
  if (route.page === "events" && tick % EVENTS_EVERY === 0) await refreshEvents();
}

async function poll() {
  clearTimeout(timer);
  if (inFlight) {
    again = true;
    return;
  }
  inFlight = true;
  try {
    await pollOnce();
    setConnection(true);
  } catch (err) {
    setConnection(false, err.message);
  } finally {
    inFlight = false;
    tick += 1;
    timer = setTimeout(poll, again ? 0 : POLL_MS);
    again = false;
  }
}

window.addEventListener("hashchange", () => {
  show(parseRoute(location.hash));
  if (route.page === "events") tick = 0; // read the events at once
  poll();
});

installOverview(() => renderOverview(null, null));
installTokenButton();
installHalt();
installEvents();
onActionDone(() => poll());
show(route);
poll();
