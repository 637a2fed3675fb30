// Settings › Campaigns (seed 002): create one from an office's numbers (send now, at a time, or
// keep it as a draft), see them all with what they sent, archive one (its numbers' own handling
// applies to replies again).
import { api } from "./api.js";
import { $, el, report } from "./dom.js";

const DAY_MS = 86400000;
const STATUS = { draft: "Draft", scheduled: "Scheduled", active: "Active", archived: "Archived" };
let inboxes = [];

const when = (iso) => (iso ? new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : "—");

// A datetime-local input's value for a moment (its local time, to the minute).
function localValue(date) {
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return shifted.toISOString().slice(0, 16);
}

function archiveButton(campaign) {
  const b = el("button", { type: "button", className: "secondary", "aria-label": `Archive ${campaign.name}` }, "Archive");
  b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      await api("POST", `/api/v1/campaigns/${campaign.id}/archive`);
      await load();
    } catch (error) {
      b.disabled = false;
      $("campaigns-error").textContent = `Could not archive ${campaign.name}: ${error.message}`;
    }
  });
  return b;
}

function row(c) {
  const replies = `${c.handling === "bot" ? "Bot" : "Agents"} in ${c.reply_inbox.name}`;
  const sent = c.sent_at ? `${c.queued} sent, ${c.skipped} skipped` : "—";
  return el("tr", { dataset: { campaignId: c.id } },
    el("th", { scope: "row" }, c.name),
    el("td", {}, c.inbox.name),
    el("td", {}, c.numbers.map((n) => n.name).join(", ")),
    el("td", {}, STATUS[c.status] || c.status),
    el("td", {}, when(c.send_at)),
    el("td", {}, when(c.archive_at)),
    el("td", {}, sent),
    el("td", {}, replies),
    el("td", {}, c.status === "archived" ? "" : archiveButton(c)),
  );
}

async function showNumbers() {
  const inboxId = $("campaign-inbox").value;
  const box = $("campaign-numbers");
  if (!inboxId) { box.replaceChildren(); return; }
  // Only the office's own numbers may be used (seed 002).
  const found = await api("GET", `/api/v1/phone-numbers?inbox_id=${encodeURIComponent(inboxId)}`);
  box.replaceChildren(...(found.items.length
    ? found.items.map((n) => el("label", { className: "check" },
      el("input", { type: "checkbox", value: n.id, checked: true, name: "campaign-number" }), ` ${n.phone_number}${n.name ? ` (${n.name})` : ""}`))
    : [el("p", { className: "muted" }, "This office has no number.")]));
}

export async function load() {
  const [found, listed] = await Promise.all([api("GET", "/api/v1/inboxes"), api("GET", "/api/v1/campaigns")]);
  inboxes = found.items.filter((i) => !i.archived && !i.mailroom);
  for (const id of ["campaign-inbox", "campaign-reply-inbox"]) {
    const select = $(id);
    const chosen = select.value;
    select.replaceChildren(...inboxes.map((i) => el("option", { value: i.id }, i.name)));
    if (chosen) select.value = chosen;
  }
  if (!$("campaign-archive-at").value) $("campaign-archive-at").value = localValue(new Date(Date.now() + 30 * DAY_MS));
  await showNumbers();
  $("campaigns").tBodies[0].replaceChildren(...(listed.items.length
    ? listed.items.map(row)
    : [el("tr", {}, el("td", { colspan: "9" }, "No campaigns yet."))]));
}

async function create(event) {
  event.preventDefault();
  $("campaign-error").textContent = "";
  $("campaign-result").hidden = true;
  const mode = $("campaign-when").value;
  const numbers = $("campaign-recipients").value.split(/[\n,;]+/).map((s) => s.trim()).filter(Boolean);
  const body = {
    name: $("campaign-name").value.trim(),
    inbox_id: Number($("campaign-inbox").value),
    number_ids: [...document.querySelectorAll('input[name="campaign-number"]:checked')].map((i) => Number(i.value)),
    body: $("campaign-body").value,
    numbers,
    send_at: mode === "now" ? "now" : mode === "draft" ? null : new Date($("campaign-send-at").value).toISOString(),
    archive_at: new Date($("campaign-archive-at").value).toISOString(),
    handling: $("campaign-handling").value,
    reply_inbox_id: Number($("campaign-reply-inbox").value),
  };
  try {
    const made = await api("POST", "/api/v1/campaigns", body);
    $("campaign-result").textContent = `Campaign “${made.name}” ${made.status === "draft" ? "saved as a draft" : made.status === "scheduled" ? "scheduled" : "created"}.`;
    $("campaign-result").hidden = false;
    $("campaign-name").value = "";
    $("campaign-body").value = "";
    $("campaign-recipients").value = "";
    await load();
  } catch (error) {
    $("campaign-error").textContent = error.message;
  }
}

export function wire() {
  $("campaign-form").addEventListener("submit", create);
  $("campaign-inbox").addEventListener("change", () => {
    $("campaign-reply-inbox").value = $("campaign-inbox").value;
    showNumbers().catch((error) => report("Could not load the office's numbers", error));
  });
  $("campaign-when").addEventListener("change", () => {
    const later = $("campaign-when").value === "later";
    $("campaign-send-at").disabled = !later;
    $("campaign-send-at").required = later;
  });
}

export function onEvent(event) {
  if (["campaign.updated", "inbox.created", "inbox.updated", "phone_number.updated"].includes(event.type)) {
    load().catch((error) => report("Could not reload the campaigns", error));
  }
}
