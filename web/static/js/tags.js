// Tags: the team's list (GET /api/v1/tags, kept live by tag.updated / tag.deleted), the chips
// the list and the thread show, the list's tag filter, adding and removing a conversation's
// tags in the thread, and the admins' dialog that keeps the list.
import { api } from "./api.js";
import { $, dialog, el, report } from "./dom.js";
import { current, emit, state } from "./state.js";

const byName = (a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" });

// A tag as a coloured chip; the team's list has its newest name and colour.
export function tagChip(tag, ...extra) {
  const known = state.tags.get(tag.id) || tag;
  const chip = el("span", { className: "tag", dataset: { tagId: tag.id } }, known.name, ...extra);
  chip.style.setProperty("--tag-colour", known.colour);
  return chip;
}

function renderFilter() {
  const select = $("filter-tag");
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, "Any tag"),
    ...[...state.tags.values()].sort(byName).map((t) => el("option", { value: String(t.id) }, t.name)));
  select.value = state.tags.has(Number(chosen)) ? chosen : "";
  if (select.value !== chosen) {
    state.filters.tag = select.value;
    emit("filters");
  }
}

// The open conversation's tags: chips with a remove button, and a picker of the others.
export function renderThreadTags() {
  const c = current();
  $("thread-tags").hidden = !c || (!state.tags.size && !c.tags?.length); // a team with no tags
  if (!c) return;
  const on = new Set((c.tags || []).map((t) => t.id));
  $("thread-tag-list").replaceChildren(...(c.tags || []).map((t) => {
    const name = state.tags.get(t.id)?.name || t.name;
    const remove = el("button", { type: "button", className: "tag-remove", "aria-label": `Remove tag ${name}` }, "×");
    remove.addEventListener("click", () => change(c.id, "DELETE", `/tags/${t.id}`));
    return el("li", {}, tagChip(t, remove));
  }));
  const picker = $("add-tag");
  const free = [...state.tags.values()].filter((t) => !on.has(t.id)).sort(byName);
  picker.replaceChildren(el("option", { value: "" }, free.length ? "Add tag…" : "No more tags"),
    ...free.map((t) => el("option", { value: String(t.id) }, t.name)));
  picker.disabled = !free.length;
}

async function change(conversationId, method, path, body) {
  $("action-error").textContent = "";
  try {
    emit("conversation", await api(method, `/api/v1/conversations/${conversationId}${path}`, body));
  } catch (error) {
    $("action-error").textContent = `Could not change the tags: ${error.message}`;
  }
}

function changed() {
  renderFilter();
  renderThreadTags();
  renderAdmin();
  emit("tags");
}

export async function loadTags() {
  try {
    const { items } = await api("GET", "/api/v1/tags");
    state.tags = new Map(items.map((t) => [t.id, t]));
    changed();
  } catch (error) {
    report("Could not load the team's tags", error);
  }
}

// tag.updated / tag.deleted (a deleted tag also leaves every conversation).
export function onTagEvent(event) {
  if (event.type === "tag.updated") {
    state.tags.set(event.data.tag.id, event.data.tag);
  } else {
    const id = event.data.tag_id;
    state.tags.delete(id);
    for (const c of state.conversations.values()) c.tags = (c.tags || []).filter((t) => t.id !== id);
  }
  changed();
}

// -- the admins' dialog -----------------------------------------------------------------------

function adminRow(tag) {
  const name = el("input", { value: tag.name, "aria-label": `Name of tag ${tag.name}`, maxlength: "40" });
  const colour = el("input", { type: "color", value: tag.colour, "aria-label": `Colour of tag ${tag.name}` });
  const save = el("button", { type: "button", className: "secondary" }, "Save");
  const remove = el("button", { type: "button", className: "danger" }, "Delete");
  save.addEventListener("click", () => adminCall("PATCH", `/api/v1/tags/${tag.id}`, { name: name.value, colour: colour.value }, "Saved."));
  remove.addEventListener("click", () => adminCall("DELETE", `/api/v1/tags/${tag.id}`, undefined, `Deleted ${tag.name}.`));
  const swatch = tagChip(tag);
  return el("li", {}, swatch, name, colour, save, remove);
}

function renderAdmin() {
  if (!$("tags-list")) return;
  const tags = [...state.tags.values()].sort(byName);
  $("tags-list").replaceChildren(...(tags.length ? tags.map(adminRow) : [el("li", { className: "muted" }, "No tags yet.")]));
}

async function adminCall(method, path, body, done) {
  $("tags-result").textContent = "";
  try {
    await api(method, path, body); // the tag.* event updates every page, this one too
    $("tags-result").textContent = done;
    return true;
  } catch (error) {
    $("tags-result").textContent = `Not saved: ${error.message}`;
    return false;
  }
}

export function wireTags() {
  $("filter-tag").addEventListener("change", (e) => {
    state.filters.tag = e.target.value;
    emit("filters");
  });
  $("add-tag").addEventListener("change", (e) => {
    const c = current();
    if (c && e.target.value) change(c.id, "POST", "/tags", { tag_id: Number(e.target.value) });
    e.target.value = "";
  });
  if (!$("tags-dialog")) return;
  const box = dialog("tags-dialog");
  $("tags-open").addEventListener("click", () => {
    $("tags-result").textContent = "";
    renderAdmin();
    box.showModal();
  });
  $("tag-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: $("tag-name").value, colour: $("tag-colour").value };
    if (await adminCall("POST", "/api/v1/tags", body, `Added ${body.name.trim()}.`)) $("tag-name").value = "";
  });
}
