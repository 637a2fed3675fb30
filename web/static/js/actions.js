// Dialogs beyond the thread: start a conversation, bulk send (both only for members of an
// inbox), and (admins) out-of-office and deleting a conversation.
import { api } from "./api.js";
import { $, dialog } from "./dom.js";
import { current, emit, label, state } from "./state.js";

function wireNew() {
  if (!$("new-dialog")) return; // no inbox to start one from
  const box = dialog("new-dialog");
  $("new-conversation").addEventListener("click", () => {
    $("new-error").textContent = "";
    if (state.inboxId !== null) $("new-inbox").value = String(state.inboxId);
    box.showModal();
    $("new-to").focus();
  });
  $("new-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("new-error").textContent = "";
    try {
      const c = await api("POST", "/api/v1/conversations", { inbox_id: Number($("new-inbox").value), to: $("new-to").value.trim() });
      box.close();
      $("new-to").value = "";
      emit("start", c);
    } catch (error) {
      $("new-error").textContent = error.message;
    }
  });
}

function wireBulk() {
  if (!$("bulk-dialog")) return;
  const box = dialog("bulk-dialog");
  $("bulk-open").addEventListener("click", () => {
    $("bulk-result").textContent = "";
    if (state.inboxId !== null) $("bulk-inbox").value = String(state.inboxId);
    box.showModal();
  });
  $("bulk-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const to = $("bulk-to").value.split(/[\n,;]+/).map((s) => s.trim()).filter(Boolean);
    $("bulk-result").textContent = "Sending…";
    try {
      const result = await api("POST", `/api/v1/inboxes/${$("bulk-inbox").value}/bulk`, { numbers: to, body: $("bulk-body").value });
      const queued = result.queued;
      const skipped = result.items.filter((r) => r.status === "skipped");
      const why = skipped.map((r) => `${r.to || "?"}: ${r.error.message}`);
      $("bulk-result").textContent = `Queued ${queued} individual text${queued === 1 ? "" : "s"}.` +
        (skipped.length ? ` Skipped ${skipped.length} (${why.join("; ")}).` : "");
      if (queued) $("bulk-body").value = "";
    } catch (error) {
      $("bulk-result").textContent = `Not sent: ${error.message}`;
    }
  });
}

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function fillOutOfOffice(settings) {
  $("ooo-enabled").checked = Boolean(settings.enabled);
  $("ooo-message").value = settings.message || "";
  $("ooo-timezone").value = settings.timezone || "UTC";
  const schedule = settings.schedule;
  document.querySelector(`input[name=ooo-mode][value=${schedule ? "schedule" : "switch"}]`).checked = true;
  if (schedule) {
    for (const box of document.querySelectorAll("input[name=ooo-day]")) box.checked = Boolean(schedule[box.value]?.length);
    const first = DAYS.map((d) => schedule[d]?.[0]).find(Boolean);
    if (first) [$("ooo-start").value, $("ooo-end").value] = first;
  }
  $("ooo-result").textContent = settings.away_now ? "Away now: texts get the away message." : "Not away now.";
}

// The fields wait for the inbox's current settings, so nothing typed early is overwritten.
function lockFields(locked) {
  for (const field of $("ooo-form").elements) {
    if (field.id !== "ooo-inbox" && !field.hasAttribute("data-close")) field.disabled = locked;
  }
}

// Only the newest load fills the form: opening the dialog and then choosing another inbox
// starts two, and the first to be asked may answer last (as contact.js and list.js do).
let oooLoadSeq = 0;

async function loadOutOfOffice() {
  const seq = ++oooLoadSeq;
  lockFields(true);
  try {
    const settings = await api("GET", `/api/v1/inboxes/${$("ooo-inbox").value}/out-of-office`);
    if (seq !== oooLoadSeq) return;
    fillOutOfOffice(settings);
    lockFields(false);
  } catch (error) {
    if (seq === oooLoadSeq) $("ooo-result").textContent = `Could not load the settings: ${error.message}`;
  }
}

function wireOutOfOffice() {
  if (!$("ooo-dialog")) return;
  const box = dialog("ooo-dialog");
  $("ooo-open").addEventListener("click", () => {
    $("ooo-result").textContent = "";
    if (state.inboxId !== null) $("ooo-inbox").value = String(state.inboxId);
    box.showModal();
    loadOutOfOffice();
  });
  $("ooo-inbox").addEventListener("change", loadOutOfOffice);
  $("ooo-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    let schedule = null; // away until switched off
    if (document.querySelector("input[name=ooo-mode]:checked").value === "schedule") {
      schedule = {};
      for (const box of document.querySelectorAll("input[name=ooo-day]:checked")) {
        schedule[box.value] = [[$("ooo-start").value, $("ooo-end").value]];
      }
    }
    const body = {
      enabled: $("ooo-enabled").checked,
      message: $("ooo-message").value,
      schedule,
      timezone: $("ooo-timezone").value.trim() || "UTC",
    };
    try {
      const saved = await api("PUT", `/api/v1/inboxes/${$("ooo-inbox").value}/out-of-office`, body);
      fillOutOfOffice(saved);
      $("ooo-result").textContent = `Saved. ${$("ooo-result").textContent}`;
    } catch (error) {
      $("ooo-result").textContent = `Not saved: ${error.message}`;
    }
  });
}

// What the agent types to confirm is compared as digits, as the server reads it (to_e164).
const digits = (text) => text.replace(/\D/g, "").replace(/^1(?=\d{10}$)/, "");

function wireDelete() {
  if (!$("delete-dialog")) return;
  const box = dialog("delete-dialog");
  const matches = () => {
    const c = current();
    return Boolean(c) && digits($("delete-confirm").value) === digits(c.counterparty);
  };
  $("delete-open").addEventListener("click", () => {
    const c = current();
    if (!c) return;
    $("delete-who").textContent = label(c);
    $("delete-number").textContent = c.counterparty;
    $("delete-confirm").value = "";
    $("delete-error").textContent = "";
    $("delete-submit").disabled = true;
    box.showModal();
    $("delete-confirm").focus();
  });
  $("delete-confirm").addEventListener("input", () => { $("delete-submit").disabled = !matches(); });
  $("delete-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const c = current();
    if (!c || !matches()) return;
    $("delete-error").textContent = "";
    try {
      await api("DELETE", `/api/v1/conversations/${c.id}`, { confirm: $("delete-confirm").value.trim() });
      box.close();
      emit("deleted", c);
    } catch (error) {
      $("delete-error").textContent = `Not deleted: ${error.message}`;
    }
  });
}

export function wireActions() {
  wireNew();
  wireBulk();
  wireOutOfOffice();
  wireDelete();
}
