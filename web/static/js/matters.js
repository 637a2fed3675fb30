// Matters (client/matter): the team's list (GET /api/v1/matters, kept live by matter.changed),
// the list's matter filter, and the open conversation's matter in the thread header, filed or
// re-filed with the pencil (PUT /api/v1/conversations/{id}/matter).
import { api } from "./api.js";
import { $, el, report } from "./dom.js";
import { current, emit, state } from "./state.js";

let editingFor = null; // the conversation whose pencil is open

const byName = (a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" });
const named = (m) => (m.client ? `${m.name} (${m.client.name})` : m.name);

function renderFilter() {
  const select = $("filter-matter");
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, "Any matter"),
    ...[...state.matters.values()].sort(byName).map((m) =>
      el("option", { value: String(m.id) }, m.status === "archived" ? `${named(m)} · archived` : named(m))));
  select.value = state.matters.has(Number(chosen)) ? chosen : "";
  if (select.value !== chosen) {
    state.filters.matter = select.value;
    emit("filters");
  }
}

// The open conversation's matter (a link to its page) and the pencil that files it.
export function renderThreadMatter() {
  const c = current();
  $("thread-matter").hidden = !c;
  if (!c) return;
  const m = c.matter;
  $("matter-shown").replaceChildren(m
    ? el("span", {}, "Matter: ", el("a", { href: `/matters/${m.id}` }, state.matters.get(m.id)?.name || m.name))
    : el("span", { className: "muted" }, "No matter"));
  if (editingFor !== c.id) editing(false); // another conversation: its pencil starts closed
  else return; // being edited: left as the agent set it
  const active = [...state.matters.values()].filter((x) => x.status === "active" || x.id === m?.id).sort(byName);
  $("matter-pick").replaceChildren(el("option", { value: "" }, "No matter"),
    ...active.map((x) => el("option", { value: String(x.id) }, named(x))));
  $("matter-pick").value = m ? String(m.id) : "";
}

function editing(on) {
  $("matter-form").hidden = !on;
  $("matter-edit").hidden = on;
  editingFor = on ? current()?.id ?? null : null;
  if (on) $("matter-pick").focus();
}

async function save() {
  const c = current();
  if (!c) return;
  const value = $("matter-pick").value;
  $("action-error").textContent = "";
  try {
    const filed = await api("PUT", `/api/v1/conversations/${c.id}/matter`, { matter_id: value ? Number(value) : null });
    editing(false);
    emit("conversation", filed);
  } catch (error) {
    $("action-error").textContent = `Could not file the conversation: ${error.message}`;
  }
}

export async function loadMatters() {
  try {
    const { items } = await api("GET", "/api/v1/matters");
    state.matters = new Map(items.map((m) => [m.id, m]));
    renderFilter();
    renderThreadMatter();
  } catch (error) {
    report("Could not load the team's matters", error);
  }
}

// matter.changed: one made, renamed or archived.
export function onMatterEvent(event) {
  const m = event.data.matter;
  state.matters.set(m.id, m);
  renderFilter();
  renderThreadMatter();
}

export function wireMatters() {
  $("filter-matter").addEventListener("change", (e) => {
    state.filters.matter = e.target.value;
    emit("filters");
  });
  $("matter-edit").addEventListener("click", () => editing(true));
  $("matter-cancel").addEventListener("click", () => editing(false));
  $("matter-save").addEventListener("click", save);
}
