// Settings › Allowance (seed 003): the team's outgoing segments a month, and what a send past
// them does. The counter itself is on every settings page (allowance-counter.js).
import { api } from "./api.js";
import { $ } from "./dom.js";

export async function load() {
  const shown = await api("GET", "/api/v1/allowance");
  $("allowance-limit").value = shown.limit === null ? "" : String(shown.limit);
  $("allowance-when-out").value = shown.when_out;
}

async function save(event) {
  event.preventDefault();
  $("allowance-error").textContent = "";
  $("allowance-saved").hidden = true;
  const raw = $("allowance-limit").value.trim();
  try {
    await api("PUT", "/api/v1/allowance", { limit: raw === "" ? null : Number(raw), when_out: $("allowance-when-out").value });
    $("allowance-saved").hidden = false;
  } catch (error) {
    $("allowance-error").textContent = error.message;
  }
}

export function wire() {
  $("allowance-form").addEventListener("submit", save);
}

export function onEvent() {}
