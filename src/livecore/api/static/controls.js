// Operator controls: every action asks for a confirmation (a <dialog>), then
// POSTs to the API with the bearer token. The token is asked for once and kept
// in sessionStorage (this tab only, gone when it closes); a refused token is
// forgotten and asked for again.

import { el, fetchJson, HttpError } from "./util.js";

const TOKEN_KEY = "livecore.api.token";
let afterAction = () => {};

export function onActionDone(callback) {
  afterAction = callback;
}

export function hasToken() {
  return Boolean(sessionStorage.getItem(TOKEN_KEY));
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  renderTokenState();
}

export function renderTokenState() {
  const button = document.getElementById("token-button");
  if (!button) return;
  button.textContent = hasToken() ? "lock controls" : "unlock controls";
  button.dataset.state = hasToken() ? "unlocked" : "locked";
}

// --- dialogs ------------------------------------------------------------------------

function openDialog(dialog, focus) {
  return new Promise((resolve) => {
    const form = dialog.querySelector("form");
    const done = (value) => {
      form.removeEventListener("submit", submit);
      dialog.removeEventListener("cancel", cancel);
      dialog.querySelector("[data-cancel]").removeEventListener("click", cancel);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const submit = (event) => {
      event.preventDefault();
      done(true);
    };
    const cancel = (event) => {
      event.preventDefault();
      done(false);
    };
    form.addEventListener("submit", submit);
    dialog.addEventListener("cancel", cancel); // Escape
    dialog.querySelector("[data-cancel]").addEventListener("click", cancel);
    dialog.showModal();
    if (focus) focus.focus();
  });
}

export async function askToken() {
  const dialog = document.getElementById("token-dialog");
  const input = dialog.querySelector("input");
  input.value = "";
  if (!(await openDialog(dialog, input)) || !input.value.trim()) return null;
  sessionStorage.setItem(TOKEN_KEY, input.value.trim());
  renderTokenState();
  return input.value.trim();
}

// fields: [{name, label, type: "text" | "checkbox" | "select", value, options, required}]
// Resolves to {name: value} when confirmed, null when cancelled.
export async function confirmAction({ title, text, confirmLabel = "confirm", danger = false, fields = [] }) {
  const dialog = document.getElementById("confirm-dialog");
  dialog.querySelector("h3").textContent = title;
  dialog.querySelector("p").textContent = text;
  const box = dialog.querySelector(".fields");
  const inputs = fields.map((field) => fieldInput(field));
  box.replaceChildren(...inputs.map(([label]) => label));
  const button = dialog.querySelector("[data-confirm]");
  button.textContent = confirmLabel;
  button.className = danger ? "danger" : "primary";
  if (!(await openDialog(dialog, inputs.length ? inputs[0][1] : button))) return null;
  const values = {};
  for (const [, input, field] of inputs) {
    values[field.name] = field.type === "checkbox" ? input.checked : input.value.trim();
  }
  return values;
}

function fieldInput(field) {
  let input;
  if (field.type === "select") {
    input = el("select", { name: field.name }, ...field.options.map((o) => el("option", { value: o, text: o })));
    if (field.value) input.value = field.value;
  } else {
    input = el("input", { name: field.name, type: field.type || "text", required: Boolean(field.required) });
    if (field.type === "checkbox") input.checked = Boolean(field.value);
    else input.value = field.value || "";
  }
  const label = el("label", { class: field.type === "checkbox" ? "check" : "" }, el("span", { text: field.label }), input);
  return [label, input, field];
}

// --- results ------------------------------------------------------------------------

let toastTimer = null;

export function toast(message, kind = "ok") {
  const box = document.getElementById("toast");
  box.className = `toast ${kind}`;
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    box.hidden = true;
  }, 8000);
}

function describe(result) {
  if (!result || typeof result !== "object") return "done";
  if (result.detail) return result.detail;
  if (result.unload && result.unload.detail) return result.unload.detail;
  if (result.halted !== undefined) return result.halted ? "cluster halted" : "cluster resumed";
  return "done";
}

// POST ``path`` (with ``body`` as JSON) once confirmed; shows the outcome.
export async function act(label, path, body) {
  let token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) token = await askToken();
  if (!token) {
    toast(`${label}: cancelled (no token)`, "warn");
    return null;
  }
  toast(`${label}: sent, waiting for the answer…`, "info");
  try {
    const result = await fetchJson(path, {
      method: "POST",
      timeoutMs: 70000, // a migration waits for the leader (60 s by default)
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    toast(`${label}: ${describe(result)}`, "ok");
    afterAction();
    return result;
  } catch (err) {
    if (err instanceof HttpError && err.status === 401) forgetToken();
    toast(`${label} failed: ${err.message}`, "bad");
    return null;
  }
}

// A button that confirms, then acts.
export function actionButton(text, { title, confirm, path, body, danger = false, cls = "" }) {
  const button = el("button", { type: "button", text, class: `action ${danger ? "danger" : ""} ${cls}`.trim() });
  button.addEventListener("click", async () => {
    const values = await confirmAction({ ...confirm, danger });
    if (values === null) return;
    button.disabled = true;
    try {
      await act(title, typeof path === "function" ? path(values) : path, typeof body === "function" ? body(values) : body);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

export function installTokenButton() {
  const button = document.getElementById("token-button");
  button.addEventListener("click", async () => {
    if (hasToken()) {
      forgetToken();
      toast("controls locked: the token is forgotten", "info");
    } else if (await askToken()) {
      toast("controls unlocked for this tab", "ok");
    }
  });
  renderTokenState();
}
