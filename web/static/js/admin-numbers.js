// Settings › Phone numbers (seed 002's table): every column sortable, search and filters, CSV of
// the filtered view, pages; buy by area code (seed 000's flow), edit, register, replace an
// inbox's number, release with the typed DELETE. Live from `phone_number.updated`.
import { api } from "./api.js";
import { $, dialog, el, report, time } from "./dom.js";

const PAGE = 50;
const COLUMNS = [
  ["phone_number", "Number"], ["name", "Name"], ["description", "Description"], ["agent", "Agent"],
  ["inbox", "Inbox"], ["type", "Type"], ["active_campaign", "Active campaign"],
  ["campaign_archived_at", "Campaign archive date"], ["number_type", "Number type"],
  ["registration", "Registration"], ["last_used_at", "Last used"], ["expires_at", "Expires"],
];
const FILTERS = { inbox_id: "numbers-inbox", type: "numbers-type", number_type: "numbers-number-type", agent_id: "numbers-agent", registration: "numbers-registration" };
const view = { sort: "phone_number", order: "asc", cursor: 0 };
let inboxes = [];
let people = [];
let editing = null;
let reloading = null;

const date = (iso) => (iso ? new Date(iso).toLocaleDateString([], { year: "numeric", month: "short", day: "numeric" }) : "");

function query() {
  const q = new URLSearchParams({ sort: view.sort, order: view.order });
  const text = $("numbers-q").value.trim();
  if (text) q.set("q", text);
  for (const [key, id] of Object.entries(FILTERS)) if ($(id).value) q.set(key, $(id).value);
  return q;
}

function header() {
  const row = $("numbers").tHead.rows[0];
  row.replaceChildren(...COLUMNS.map(([key, title]) => {
    const sorted = view.sort === key;
    const b = el("button", { type: "button", className: "link", dataset: { sort: key } }, title, sorted ? (view.order === "asc" ? " ▲" : " ▼") : "");
    b.addEventListener("click", () => {
      view.order = sorted && view.order === "asc" ? "desc" : "asc";
      view.sort = key;
      view.cursor = 0;
      load().catch((error) => report("Could not sort the numbers", error));
    });
    return el("th", { scope: "col", "aria-sort": sorted ? (view.order === "asc" ? "ascending" : "descending") : "none" }, b);
  }), el("th", { scope: "col" }, el("span", { className: "visually-hidden" }, "Actions")));
}

function action(label, title, onClick, className = "secondary") {
  const b = el("button", { type: "button", className, "aria-label": title }, label);
  b.addEventListener("click", onClick);
  return b;
}

async function schedule(n) {
  const list = $("schedule-list");
  list.replaceChildren(el("li", { className: "muted" }, "Loading…"));
  $("schedule-what").textContent = n.phone_number;
  $("schedule-dialog").showModal();
  try {
    const found = await api("GET", `/api/v1/phone-numbers/${n.id}/campaigns`);
    list.replaceChildren(...(found.items.length
      ? found.items.map((c) => el("li", {}, `${c.name}: ${new Date(c.send_at).toLocaleString()}`))
      : [el("li", { className: "muted" }, "No campaigns are scheduled on this number.")]));
  } catch (error) {
    list.replaceChildren(el("li", { className: "error" }, error.message));
  }
}

function row(n) {
  const expires = n.expiring ? el("span", { className: "warning" }, `expires on ${date(n.expires_at)}`) : date(n.expires_at);
  const actions = [action("Edit", `Edit ${n.phone_number}`, () => edit(n))];
  if (n.registration !== "registered") actions.push(action("+ Register number", `Register ${n.phone_number}`, () => register(n)));
  if (n.inbox) actions.push(action("Replace…", `Replace ${n.phone_number}`, () => replace(n)));
  actions.push(action("Schedule send", `Scheduled campaigns of ${n.phone_number}`, () => schedule(n)));
  const releasing = action("Release…", `Release ${n.phone_number}`, () => release(n), "danger");
  // Seed 002: a number in use by a campaign cannot be deleted (the server refuses it too).
  if (n.active_campaign) Object.assign(releasing, { disabled: true, title: `In campaign ${n.active_campaign.name}` });
  actions.push(releasing);
  return el("tr", { dataset: { numberId: n.id } },
    el("th", { scope: "row" }, n.phone_number),
    el("td", {}, n.name), el("td", {}, n.description),
    el("td", {}, n.agent?.name || ""), el("td", {}, n.inbox?.name || ""),
    el("td", {}, n.type || ""), el("td", {}, n.active_campaign?.name || ""),
    el("td", {}, date(n.campaign_archived_at)),
    el("td", {}, n.number_type === "single_use" ? "Single use" : "Reusable"),
    el("td", {}, el("span", { className: `badge ${n.registration}` }, n.registration === "registered" ? "Registered" : "Unregistered")),
    el("td", {}, n.last_used_at ? time(n.last_used_at) : "—"),
    el("td", {}, expires),
    el("td", { className: "actions" }, ...actions),
  );
}

function options(select, items, label, keep = true) {
  const chosen = select.value;
  const fixed = [...select.options].filter((o) => o.value === "" || o.value === "none");
  select.replaceChildren(...fixed, ...items.map((i) => el("option", { value: i.id }, label(i))));
  if (keep) select.value = chosen;
}

export async function load() {
  const q = query();
  $("numbers-csv").href = `/api/v1/phone-numbers?${q}&format=csv`;
  q.set("cursor", view.cursor);
  q.set("limit", PAGE);
  const [page, all, team] = await Promise.all([
    api("GET", `/api/v1/phone-numbers?${q}`), api("GET", "/api/v1/inboxes?all=1"), api("GET", "/api/v1/users"),
  ]);
  inboxes = all.items.filter((i) => !i.archived && !i.mailroom);
  people = team.items.filter((u) => !u.disabled && u.kind !== "bot");
  for (const id of ["numbers-inbox", "buy-inbox", "number-inbox"]) options($(id), inboxes, (i) => i.name);
  for (const id of ["numbers-agent", "buy-agent", "number-agent"]) options($(id), people, (u) => u.name);
  header();
  $("numbers").tBodies[0].replaceChildren(...(page.items.length
    ? page.items.map(row)
    : [el("tr", {}, el("td", { colspan: String(COLUMNS.length + 1) }, "No numbers match."))]));
  const last = view.cursor + page.items.length;
  $("numbers-range").textContent = page.total ? `${view.cursor + 1}–${last} of ${page.total}` : "";
  $("numbers-prev").disabled = view.cursor === 0;
  $("numbers-next").disabled = page.next === null;
}

function notice(text) {
  $("numbers-notice").textContent = text;
  $("numbers-notice").hidden = false;
}

// -- buying ------------------------------------------------------------------------------------

async function search() {
  const code = $("buy-area-code").value.trim();
  $("buy-error").textContent = "";
  $("buy-none").hidden = true;
  const q = new URLSearchParams({ area_code: code });
  if ($("buy-contains").value.trim()) q.set("contains", $("buy-contains").value.trim());
  try {
    const found = await api("GET", `/api/v1/phone-numbers/available?${q}`);
    const list = $("buy-list");
    if (!found.items.length) {
      list.replaceChildren();
      $("buy-choices").hidden = true;
      $("buy-confirm").disabled = true;
      $("buy-none").textContent = `No numbers are available in area code ${code}. Try another area code.`;
      $("buy-none").hidden = false;
      return;
    }
    const choice = (value, text, checked) => el("label", { className: "check" },
      el("input", { type: "radio", name: "buy-number", value, checked }), ` ${text}`);
    list.replaceChildren(
      choice("", `Any number in ${code}`, true),
      ...found.items.map((n) => choice(n.phone_number, `${n.phone_number}${n.locality ? ` · ${n.locality}, ${n.region}` : ""}`, false)),
    );
    $("buy-choices").hidden = false;
    $("buy-confirm").disabled = false;
  } catch (error) {
    $("buy-error").textContent = error.message;
  }
}

async function buy(event) {
  event.preventDefault();
  $("buy-error").textContent = "";
  const picked = document.querySelector('input[name="buy-number"]:checked')?.value;
  const body = {
    name: $("buy-name").value.trim(), description: $("buy-description").value.trim(),
    inbox_id: $("buy-inbox").value ? Number($("buy-inbox").value) : null,
    agent_id: $("buy-agent").value ? Number($("buy-agent").value) : null,
  };
  if (picked) body.phone_number = picked;
  else body.area_code = $("buy-area-code").value.trim();
  $("buy-confirm").disabled = true;
  try {
    const made = await api("POST", "/api/v1/phone-numbers", body);
    $("buy-dialog").close();
    notice(`Bought ${made.phone_number}.`);
    await load();
  } catch (error) {
    $("buy-error").textContent = error.message;
  } finally {
    $("buy-confirm").disabled = false;
  }
}

function openBuy() {
  $("buy-form").reset();
  $("buy-list").replaceChildren();
  $("buy-choices").hidden = true;
  $("buy-none").hidden = true;
  $("buy-error").textContent = "";
  $("buy-confirm").disabled = true;
  $("buy-dialog").showModal();
  $("buy-area-code").focus();
}

// -- one number --------------------------------------------------------------------------------

function edit(n) {
  editing = n;
  $("number-title").textContent = `Edit ${n.phone_number}`;
  $("number-name").value = n.name;
  $("number-description").value = n.description;
  $("number-inbox").value = n.inbox ? String(n.inbox.id) : "";
  $("number-agent").value = n.agent ? String(n.agent.id) : "";
  $("number-type").value = n.number_type;
  $("number-error").textContent = "";
  $("number-dialog").showModal();
}

async function save(event) {
  event.preventDefault();
  const body = {
    name: $("number-name").value.trim(), description: $("number-description").value.trim(),
    inbox_id: $("number-inbox").value ? Number($("number-inbox").value) : null,
    agent_id: $("number-agent").value ? Number($("number-agent").value) : null,
    number_type: $("number-type").value,
  };
  try {
    await api("PATCH", `/api/v1/phone-numbers/${editing.id}`, body);
    $("number-dialog").close();
    await load();
  } catch (error) {
    $("number-error").textContent = error.message;
  }
}

async function register(n) {
  try {
    await api("POST", `/api/v1/phone-numbers/${n.id}/register`);
    notice(`${n.phone_number} is registered.`);
    await load();
  } catch (error) {
    $("numbers-error").textContent = `Could not register ${n.phone_number}: ${error.message}`;
  }
}

function release(n) {
  editing = n;
  $("release-what").textContent = `${n.phone_number}${n.name ? ` (${n.name})` : ""}${n.inbox ? `, the number of ${n.inbox.name}` : ""}.`;
  $("release-confirm-text").value = "";
  $("release-confirm").disabled = true;
  $("release-error").textContent = "";
  $("release-dialog").showModal();
  $("release-confirm-text").focus();
}

async function confirmRelease(event) {
  event.preventDefault();
  try {
    await api("DELETE", `/api/v1/phone-numbers/${editing.id}`, { confirm: $("release-confirm-text").value });
    $("release-dialog").close();
    notice(`Released ${editing.phone_number}.`);
    await load();
  } catch (error) {
    $("release-error").textContent = error.message;
  }
}

function replace(n) {
  editing = n;
  $("replace-what").textContent = `${n.inbox.name} now texts from ${n.phone_number}.`;
  $("replace-area-code").value = n.phone_number.slice(2, 5);
  $("replace-error").textContent = "";
  $("replace-dialog").showModal();
}

async function confirmReplace(event) {
  event.preventDefault();
  const code = $("replace-area-code").value.trim();
  try {
    const made = await api("POST", `/api/v1/inboxes/${editing.inbox.id}/replace-number`, code ? { area_code: code } : {});
    $("replace-dialog").close();
    notice(`${editing.inbox.name} now texts from ${made.phone_number}; ${editing.phone_number} was released.`);
    await load();
  } catch (error) {
    $("replace-error").textContent = error.message;
  }
}

function reload() {
  view.cursor = 0;
  clearTimeout(reloading);
  reloading = setTimeout(() => load().catch((error) => report("Could not load the numbers", error)), 150);
}

export function wire() {
  for (const id of ["buy-dialog", "number-dialog", "release-dialog", "replace-dialog", "schedule-dialog"]) dialog(id);
  $("buy-number").addEventListener("click", openBuy);
  $("buy-search").addEventListener("click", search);
  $("buy-area-code").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); search(); } });
  $("buy-form").addEventListener("submit", buy);
  $("number-form").addEventListener("submit", save);
  $("release-confirm-text").addEventListener("input", () => {
    $("release-confirm").disabled = $("release-confirm-text").value !== "DELETE";
  });
  $("release-form").addEventListener("submit", confirmRelease);
  $("replace-form").addEventListener("submit", confirmReplace);
  $("numbers-filters").addEventListener("submit", (e) => e.preventDefault());
  $("numbers-q").addEventListener("input", reload);
  for (const id of Object.values(FILTERS)) $(id).addEventListener("change", reload);
  $("numbers-prev").addEventListener("click", () => { view.cursor = Math.max(0, view.cursor - PAGE); load().catch((error) => report("Could not load the numbers", error)); });
  $("numbers-next").addEventListener("click", () => { view.cursor += PAGE; load().catch((error) => report("Could not load the numbers", error)); });
}

export function onEvent(event) {
  if (["phone_number.updated", "inbox.updated", "inbox.created", "user.updated"].includes(event.type)) {
    clearTimeout(reloading);
    reloading = setTimeout(() => load().catch((error) => report("Could not reload the numbers", error)), 150);
  }
}
