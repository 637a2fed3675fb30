// The inbox page's sidebar and inbox pickers, kept live: an inbox renamed or recoloured by an
// admin (`inbox.updated`) changes in place; when the caller's inboxes change (`access.changed`:
// added to or removed from an inbox) the list is read again and redrawn without a reload.
import { api } from "./api.js";
import { $, el } from "./dom.js";

const PICKERS = ["new-inbox", "bulk-inbox", "ooo-inbox"]; // the dialogs' "From inbox" selects

export const inboxButtons = () => [...document.querySelectorAll(".inbox-link[data-inbox-id]")];
const buttonOf = (id) => inboxButtons().find((b) => Number(b.dataset.inboxId) === id) || null;

function paint(button, inbox) {
  if (inbox) {
    button.dataset.colour = inbox.colour;
    button.dataset.slaMinutes = inbox.sla_minutes ?? "";
    button.querySelector(".inbox-name").textContent = inbox.name;
    button.classList.toggle("archived", Boolean(inbox.archived));
    button.title = inbox.archived ? `${inbox.name} (archived: read-only)` : "";
  }
  button.querySelector(".swatch").style.setProperty("background", button.dataset.colour);
  button.style.setProperty("--inbox-colour", button.dataset.colour);
}

function newButton(inbox) {
  const dataset = { inboxId: inbox.id, colour: inbox.colour, slaMinutes: inbox.sla_minutes ?? "" };
  const button = el("button", { type: "button", className: "inbox-link", dataset },
    el("span", { className: "swatch", "aria-hidden": "true" }),
    el("span", { className: "inbox-name" }, inbox.name),
    " ",
    el("span", { className: "count", dataset: { count: "0" } }));
  paint(button, inbox);
  return el("li", {}, button);
}

function fillPickers(items) {
  for (const id of PICKERS) {
    const select = $(id);
    if (!select) continue;
    const chosen = select.value;
    select.replaceChildren(...items.filter((i) => !i.archived).map((i) => el("option", { value: i.id }, i.name)));
    if (items.some((i) => String(i.id) === chosen)) select.value = chosen;
  }
}

// The inbox's first-response target in minutes (null: none), as its button carries it.
export function targetOf(inboxId) {
  const minutes = Number(buttonOf(inboxId)?.dataset.slaMinutes || 0);
  return minutes > 0 ? { sla_minutes: minutes } : null;
}

// Paint the server-drawn buttons and call `onPick(inboxId)` when one is clicked (new ones too).
export function wireSidebar(onPick) {
  for (const b of inboxButtons()) paint(b);
  $("inboxes").addEventListener("click", (e) => {
    const b = e.target.closest(".inbox-link[data-inbox-id]");
    if (b) onPick(Number(b.dataset.inboxId));
  });
}

// An inbox the caller sees changed: rename and recolour it wherever it shows.
export function applyInbox(inbox) {
  const button = buttonOf(inbox.id);
  if (!button) return;
  paint(button, inbox);
  for (const id of PICKERS) {
    const option = $(id)?.querySelector(`option[value="${inbox.id}"]`);
    if (option) option.textContent = inbox.name;
  }
}

// Read the caller's inboxes again and redraw the list; the ids that are new here.
export async function syncSidebar() {
  const { items } = await api("GET", "/api/v1/inboxes");
  const known = new Set(inboxButtons().map((b) => Number(b.dataset.inboxId)));
  const rows = items.map((inbox) => {
    const button = buttonOf(inbox.id);
    if (!button) return newButton(inbox);
    paint(button, inbox);
    return button.closest("li");
  });
  // The views after the inboxes (Mentions) stay as they are.
  const views = [...$("inboxes").querySelectorAll(".view-link")].map((b) => b.closest("li"));
  const none = el("li", { id: "no-inbox", className: "muted" }, "You are not a member of any inbox yet. Ask an admin to add you to one.");
  $("inboxes").replaceChildren(...(rows.length ? rows : [none]), ...views);
  fillPickers(items);
  return items.map((i) => i.id).filter((id) => !known.has(id));
}
