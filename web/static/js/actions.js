// Dialogs beyond the thread: start a conversation, bulk send, and (admins) out-of-office.
import { api } from "./api.js";
import { $, dialog } from "./dom.js";
import { emit, state } from "./state.js";

function wireNew() {
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
      const result = await api("POST", `/api/v1/inboxes/${$("bulk-inbox").value}/bulk`, { to, body: $("bulk-body").value });
      const sent = result.items ? result.items.length : to.length;
      $("bulk-result").textContent = `Queued ${sent} individual text${sent === 1 ? "" : "s"}.`;
      $("bulk-body").value = "";
    } catch (error) {
      $("bulk-result").textContent = error.status === 404 || error.status === 405
        ? "Bulk send is not available on this server yet."
        : `Not sent: ${error.message}`;
    }
  });
}

function wireOutOfOffice() {
  if (!$("ooo-dialog")) return;
  const box = dialog("ooo-dialog");
  $("ooo-open").addEventListener("click", () => {
    $("ooo-result").textContent = "";
    if (state.inboxId !== null) $("ooo-inbox").value = String(state.inboxId);
    box.showModal();
  });
  $("ooo-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const days = [...document.querySelectorAll("input[name=ooo-day]:checked")].map((i) => i.value);
    const schedule = days.map((day) => ({ day, start: $("ooo-start").value, end: $("ooo-end").value }));
    const body = {
      enabled: $("ooo-enabled").checked,
      message: $("ooo-message").value,
      schedule,
      timezone: $("ooo-timezone").value.trim() || "UTC",
    };
    try {
      await api("PUT", `/api/v1/inboxes/${$("ooo-inbox").value}/out-of-office`, body);
      $("ooo-result").textContent = "Saved.";
    } catch (error) {
      $("ooo-result").textContent = error.status === 404 || error.status === 405
        ? "Out-of-office is not available on this server yet."
        : `Not saved: ${error.message}`;
    }
  });
}

export function wireActions() {
  wireNew();
  wireBulk();
  wireOutOfOffice();
}
