// Settings › Inboxes (seed 004's wizard in one form): name, API code, colour, one of the team's
// numbers, voice forwarding number, members, who gets unsolicited texts (members, or a bot),
// automatic assignment (off, round-robin, least busy; a cap), the first-response target;
// archiving. Live from `inbox.created` / `inbox.updated` / `user.updated`.
import { api } from "./api.js";
import { $, dialog, el, report } from "./dom.js";
import { state } from "./state.js";

let inboxes = [];
let numbers = [];
let people = [];
let editing = null; // the inbox being edited, or null for a new one

const nameOf = (id) => people.find((u) => u.id === id)?.name || `#${id}`;
const mode = () => document.querySelector('input[name="inbox-unsolicited"]:checked').value;
const ticked = (name) => [...document.querySelectorAll(`input[name="${name}"]:checked`)].map((b) => Number(b.value));

function unsolicitedText(inbox) {
  if (inbox.unsolicited === "bot") {
    return inbox.unsolicited_to.length ? `Bot: ${nameOf(inbox.unsolicited_to[0])}` : "Any bot member";
  }
  return inbox.unsolicited_to.length ? `Agents: ${inbox.unsolicited_to.map(nameOf).join(", ")}` : "All members";
}

function statusText(inbox) {
  if (inbox.archived) return "Archived";
  if (inbox.registration !== "registered") return "Not registered yet (admins only)";
  return "Active";
}

function row(inbox) {
  const swatch = el("span", { className: "swatch", "aria-hidden": "true" });
  swatch.style.setProperty("background", inbox.colour);
  const actions = el("td", { className: "actions" });
  if (!inbox.archived) {
    const edit = el("button", { type: "button", className: "secondary", "aria-label": `Edit ${inbox.name}` }, "Edit");
    edit.addEventListener("click", () => openForm(inbox));
    actions.append(edit);
  }
  return el("tr", { dataset: { inboxId: inbox.id }, className: inbox.archived ? "disabled" : undefined },
    el("th", { scope: "row" }, swatch, " ", inbox.name),
    el("td", {}, inbox.code),
    el("td", {}, inbox.phone_number || "—"),
    el("td", {}, inbox.member_ids.map(nameOf).join(", ") || "—"),
    el("td", {}, unsolicitedText(inbox)),
    el("td", {}, statusText(inbox)),
    actions,
  );
}

function render() {
  $("inbox-table").tBodies[0].replaceChildren(...inboxes.map(row));
}

export async function load() {
  const [all, owned, team] = await Promise.all([
    api("GET", "/api/v1/inboxes?all=1"), api("GET", "/api/v1/phone-numbers"), api("GET", "/api/v1/users"),
  ]);
  [inboxes, numbers, people] = [all.items, owned.items, team.items];
  render();
}

function checkbox(name, value, label, checked) {
  const box = el("input", { type: "checkbox", name, value, checked });
  return el("label", { className: "check" }, box, ` ${label}`);
}

function fillNumbers(inbox) {
  const select = $("inbox-number");
  const options = [el("option", { value: "" }, "No number")];
  for (const n of numbers.filter((n) => !n.released)) {
    const other = n.inbox_id !== null && n.inbox_id !== inbox?.id ? inboxes.find((i) => i.id === n.inbox_id) : null;
    const label = `${n.phone_number}${n.name ? ` (${n.name})` : ""}${other ? ` — ${other.name}` : ""}`;
    options.push(el("option", { value: n.id, disabled: Boolean(other) }, label));
  }
  select.replaceChildren(...options);
  select.value = inbox?.phone_number_id ?? "";
}

function fillPeople(inbox) {
  const active = people.filter((u) => !u.disabled);
  const members = new Set(inbox ? inbox.member_ids : [state.me.id]);
  $("inbox-members").replaceChildren(...active.map((u) =>
    checkbox("inbox-member", u.id, `${u.name}${u.kind === "bot" ? " (bot)" : ""}`, members.has(u.id))));
  fillReceivers(new Set(inbox?.unsolicited === "agent" ? inbox.unsolicited_to : []));
  const bots = active.filter((u) => u.kind === "bot");
  $("inbox-bot").replaceChildren(el("option", { value: "" }, "Any bot member"),
    ...bots.map((u) => el("option", { value: u.id }, u.name)));
  $("inbox-bot").value = inbox?.unsolicited === "bot" && inbox.unsolicited_to.length ? inbox.unsolicited_to[0] : "";
}

// Who may receive unsolicited texts: the members ticked above (people, not bots).
function fillReceivers(receivers) {
  const members = new Set(ticked("inbox-member"));
  const list = people.filter((u) => members.has(u.id) && u.kind !== "bot" && !u.disabled);
  $("inbox-receiver-list").replaceChildren(...list.map((u) =>
    checkbox("inbox-receiver", u.id, u.name, receivers.has(u.id))));
}

function showMode() {
  $("inbox-receivers").hidden = mode() !== "agent";
  $("inbox-bot-choice").hidden = mode() !== "bot";
}

function openForm(inbox) {
  editing = inbox;
  $("inbox-dialog-title").textContent = inbox ? `Edit ${inbox.name}` : "New inbox";
  $("inbox-name").value = inbox?.name || "";
  $("inbox-code").value = inbox?.code || "";
  $("inbox-colour").value = inbox?.colour || "#2f6fed";
  $("inbox-forward").value = inbox?.voice_forward_to || "";
  for (const radio of document.querySelectorAll('input[name="inbox-unsolicited"]')) {
    radio.checked = radio.value === (inbox?.unsolicited || "agent");
  }
  $("inbox-assignment").value = inbox?.assignment || "off";
  $("inbox-cap").value = inbox?.assignment_cap ?? "";
  $("inbox-sla").value = inbox?.sla_minutes ?? "";
  fillNumbers(inbox);
  fillPeople(inbox);
  showMode();
  const first = !inbox && !inboxes.some((i) => !i.mailroom && i.registration === "registered");
  $("inbox-first").hidden = !first;
  $("inbox-archive").hidden = !inbox || inbox.mailroom;
  $("inbox-error").textContent = "";
  $("inbox-dialog").showModal();
}

function formBody() {
  const body = {
    name: $("inbox-name").value.trim(),
    colour: $("inbox-colour").value,
    phone_number_id: $("inbox-number").value === "" ? null : Number($("inbox-number").value),
    voice_forward_to: $("inbox-forward").value.trim() || null,
    member_ids: ticked("inbox-member"),
    unsolicited: mode(),
    assignment: $("inbox-assignment").value,
    assignment_cap: $("inbox-cap").value === "" ? null : Number($("inbox-cap").value),
    sla_minutes: $("inbox-sla").value === "" ? null : Number($("inbox-sla").value),
  };
  const code = $("inbox-code").value.trim();
  if (code || editing) body.api_code = code;
  if (mode() === "agent") body.unsolicited_to = ticked("inbox-receiver");
  else body.unsolicited_to = $("inbox-bot").value === "" ? [] : [Number($("inbox-bot").value)];
  return body;
}

async function save(event) {
  event.preventDefault();
  $("inbox-error").textContent = "";
  try {
    const saved = editing
      ? await api("PATCH", `/api/v1/inboxes/${editing.id}`, formBody())
      : await api("POST", "/api/v1/inboxes", formBody());
    $("inbox-dialog").close();
    const notice = $("inbox-notice");
    notice.hidden = editing !== null || saved.registration === "registered";
    notice.textContent = `${saved.name} needs carrier registration before it can send; until then only admins see it.`;
    await load();
  } catch (error) {
    $("inbox-error").textContent = error.message;
  }
}

async function archive() {
  $("archive-error").textContent = "";
  try {
    await api("POST", `/api/v1/inboxes/${editing.id}/archive`);
    $("archive-dialog").close();
    $("inbox-dialog").close();
    await load();
  } catch (error) {
    $("archive-error").textContent = error.message;
  }
}

export function wire() {
  dialog("inbox-dialog");
  dialog("archive-dialog");
  $("new-inbox").addEventListener("click", () => openForm(null));
  $("inbox-form").addEventListener("submit", save);
  for (const radio of document.querySelectorAll('input[name="inbox-unsolicited"]')) radio.addEventListener("change", showMode);
  $("inbox-archive").addEventListener("click", () => $("archive-dialog").showModal());
  $("inbox-members").addEventListener("change", () => fillReceivers(new Set(ticked("inbox-receiver"))));
  $("archive-confirm").addEventListener("click", archive);
}

export function onEvent(event) {
  if (["inbox.created", "inbox.updated", "user.updated"].includes(event.type)) {
    load().catch((error) => report("Could not reload the inboxes", error));
  }
}
