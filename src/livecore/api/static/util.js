// Formatting, DOM building and JSON fetching shared by every page.
// Every value from the server is placed with textContent (never innerHTML), so
// ids, reasons and fault texts cannot inject markup.

export const DASH = "\u2013"; // what a missing value shows (en dash)
const TIMEOUT_MS = 5000;

// --- formatting -----------------------------------------------------------------

export function num(value, digits = 0) {
  if (value === null || value === undefined || value === "" || Number.isNaN(Number(value))) return DASH;
  return Number(value).toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

// Exact decimals arrive as strings; the display rounds to cents, a tooltip keeps the exact value.
export function money(text) {
  return text === null || text === undefined ? DASH : num(text, 2);
}

// A signed amount: "+12.50" / "-3.10", with the class that colours it.
export function signed(text) {
  if (text === null || text === undefined) return { text: DASH, cls: "" };
  const value = Number(text);
  const shown = num(Math.abs(value), 2);
  if (value > 0) return { text: `+${shown}`, cls: "gain" };
  if (value < 0) return { text: `-${shown}`, cls: "loss" };
  return { text: shown, cls: "" };
}

// A ratio (0.0123) as a signed percentage ("+1.23 %").
export function percent(ratio, digits = 2) {
  if (ratio === null || ratio === undefined || Number.isNaN(Number(ratio))) return { text: DASH, cls: "" };
  const value = Number(ratio) * 100;
  const shown = `${num(Math.abs(value), digits)} %`;
  if (value > 0) return { text: `+${shown}`, cls: "gain" };
  if (value < 0) return { text: `-${shown}`, cls: "loss" };
  return { text: shown, cls: "" };
}

export function bytes(value) {
  if (value === null || value === undefined) return DASH;
  const mib = Number(value) / (1024 * 1024);
  return mib >= 1024 ? `${num(mib / 1024, 2)} GiB` : `${num(mib, 1)} MiB`;
}

export function age(seconds) {
  if (seconds === null || seconds === undefined) return DASH;
  if (seconds < 10) return `${num(seconds, 1)} s`;
  if (seconds < 120) return `${num(seconds, 0)} s`;
  if (seconds < 7200) return `${num(seconds / 60, 0)} min`;
  if (seconds < 172800) return `${num(seconds / 3600, 0)} h`;
  return `${num(seconds / 86400, 0)} d`;
}

export function quantity(text) {
  if (text === null || text === undefined) return DASH;
  const n = Number(text);
  return Number.isInteger(n) ? n.toLocaleString() : String(text);
}

// Nanoseconds since the epoch (a JSON number may round the last digits: display only).
export function timeOfNs(ns) {
  if (!ns) return DASH;
  return new Date(Number(ns) / 1e6).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

export function timeOfSeconds(seconds) {
  if (!seconds) return DASH;
  return new Date(seconds * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

// --- DOM helpers ------------------------------------------------------------------

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-") || key.startsWith("aria-") || ["title", "colspan", "href", "role"].includes(key)) {
      node.setAttribute(key, value);
    } else node[key] = value;
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

export function cell(text, cls, title) {
  return el("td", { class: cls, text, title });
}

export function signedCell(value, cls = "num") {
  const shown = typeof value === "object" && value !== null && "text" in value ? value : signed(value);
  return el("td", { class: `${cls} ${shown.cls}`.trim(), text: shown.text, title: typeof value === "string" ? value : undefined });
}

export function badge(text, kind, detail) {
  const td = el("td", {}, el("span", { class: `badge ${kind}`, text }));
  if (detail) td.append(el("span", { class: "detail", text: detail }));
  return td;
}

export function replaceRows(tbody, rows, emptyText, columns) {
  tbody.replaceChildren(...(rows.length ? rows : [el("tr", { class: "empty" }, el("td", { colspan: columns, text: emptyText }))]));
}

export function portfolioLink(pid) {
  return el("a", { href: `#/portfolio/${encodeURIComponent(pid)}`, text: pid, class: "plink" });
}

// --- fetching ---------------------------------------------------------------------

export class HttpError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

// GET (or the given method) and parse JSON; errors carry the server's message.
export async function fetchJson(path, options = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs || TIMEOUT_MS);
  try {
    const response = await fetch(path, { cache: "no-store", ...options, signal: controller.signal });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new HttpError(response.status, (body && body.message) || `HTTP ${response.status}`, body);
    return body;
  } catch (err) {
    if (err.name === "AbortError") throw new HttpError(0, "no answer in time");
    if (err instanceof TypeError) throw new HttpError(0, "server unreachable"); // fetch's network failure
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
