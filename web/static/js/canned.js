// Canned responses: the list `/` in the reply box searches (GET /api/v1/canned-responses,
// re-read when it is older than a minute or was changed here), one filled in for the open
// conversation (its variables: /render), and the dialog where admins keep the team's library
// and everyone keeps their own.
import { api } from "./api.js";
import { $, dialog, el } from "./dom.js";
import { state } from "./state.js";

const FRESH_MS = 60_000;
let cache = null; // {at, items}
let editing = null; // the response the form edits, or null for a new one

export async function cannedResponses() {
  if (!cache || Date.now() - cache.at > FRESH_MS) {
    const { items } = await api("GET", "/api/v1/canned-responses");
    cache = { at: Date.now(), items };
  }
  return cache.items;
}

// The canned responses whose name or text contains `query`, for the `/` suggestions.
export async function matchingCanned(query) {
  const q = query.toLowerCase();
  return (await cannedResponses())
    .filter((c) => c.name.toLowerCase().includes(q) || c.body.toLowerCase().includes(q))
    .slice(0, 8);
}

export function fillCanned(cannedId, conversationId) {
  return api("GET", `/api/v1/canned-responses/${cannedId}/render?conversation_id=${conversationId}`);
}

const mayEdit = (c) => c.scope === "personal" || state.me.role === "admin";

function edit(item) {
  editing = item;
  $("canned-form-title").textContent = item ? `Edit “${item.name}”` : "New canned response";
  $("canned-name").value = item?.name || "";
  $("canned-body").value = item?.body || "";
  if ($("canned-scope")) {
    $("canned-scope").value = item?.scope || "team";
    $("canned-scope").disabled = Boolean(item);
  }
  $("canned-result").textContent = "";
  $("canned-name").focus();
}

function row(item) {
  const actions = [];
  if (mayEdit(item)) {
    const change = el("button", { type: "button", className: "secondary", "aria-label": `Edit ${item.name}` }, "Edit");
    change.addEventListener("click", () => edit(item));
    const remove = el("button", { type: "button", className: "danger", "aria-label": `Delete ${item.name}` }, "Delete");
    remove.addEventListener("click", () => save("DELETE", `/api/v1/canned-responses/${item.id}`, undefined, `Deleted ${item.name}.`));
    actions.push(change, remove);
  }
  return el("li", {},
    el("div", { className: "canned-head" },
      el("strong", {}, item.name),
      el("span", { className: "muted" }, item.scope === "team" ? " · team" : " · only you"),
      el("span", { className: "canned-actions" }, ...actions)),
    el("p", { className: "canned-body" }, item.body));
}

async function renderDialog() {
  cache = null;
  try {
    const items = await cannedResponses();
    $("canned-list").replaceChildren(...(items.length ? items.map(row)
      : [el("li", { className: "muted" }, "No canned responses yet.")]));
  } catch (error) {
    $("canned-result").textContent = `Could not load them: ${error.message}`;
  }
}

async function save(method, path, body, done) {
  $("canned-result").textContent = "";
  try {
    await api(method, path, body);
    await renderDialog();
    if (method !== "DELETE") edit(null);
    $("canned-result").textContent = done;
  } catch (error) {
    $("canned-result").textContent = `Not saved: ${error.message}`;
  }
}

export function wireCanned() {
  const box = dialog("canned-dialog");
  $("canned-open").addEventListener("click", () => {
    edit(null);
    box.showModal();
    renderDialog();
  });
  $("canned-new").addEventListener("click", () => edit(null));
  $("canned-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { name: $("canned-name").value, body: $("canned-body").value };
    if (editing) {
      save("PATCH", `/api/v1/canned-responses/${editing.id}`, body, `Saved ${body.name.trim()}.`);
    } else {
      body.scope = $("canned-scope")?.value || "personal";
      save("POST", "/api/v1/canned-responses", body, `Added ${body.name.trim()}.`);
    }
  });
}
