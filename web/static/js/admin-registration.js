// Settings › Registration: the team's A2P 10DLC state (unregistered, pending, registered, failed
// with the carrier's reason) and the form that submits the business and campaign once (again
// after a failure). The review is polled by the server; this page re-reads it while pending.
import { api } from "./api.js";
import { $, report, time } from "./dom.js";

const LABELS = { unregistered: "Unregistered", pending: "Pending review", registered: "Registered", failed: "Failed" };
const RECHECK_MS = 5000;
let timer = null;

const value = (id) => $(`reg-${id}`).value.trim();

export async function load() {
  const state = await api("GET", "/api/v1/registration");
  const badge = $("registration-state");
  badge.textContent = LABELS[state.state];
  badge.className = `badge ${state.state}`;
  $("registration-reason").hidden = !state.reason;
  $("registration-reason").textContent = state.reason ? `The carrier said: ${state.reason}` : "";
  const steps = [state.brand_status && `brand ${state.brand_status}`, state.campaign_status && `campaign ${state.campaign_status}`].filter(Boolean);
  $("registration-detail").textContent = steps.length ? `Review: ${steps.join(", ")}${state.checked_at ? ` (checked ${time(state.checked_at)})` : ""}.` : "";
  $("registration-numbers").textContent = `Numbers: ${state.numbers.registered} registered, ${state.numbers.unregistered} unregistered.`;
  $("registration-panel").hidden = !["unregistered", "failed"].includes(state.state);
  clearTimeout(timer);
  if (state.state === "pending") timer = setTimeout(() => load().catch((error) => report("Could not reload the registration", error)), RECHECK_MS);
}

async function submit(event) {
  event.preventDefault();
  $("registration-error").textContent = "";
  const body = {
    business: {
      legal_name: value("legal_name"), business_type: value("business_type"), industry: value("industry"),
      registration_number: value("registration_number"), website: value("website"), email: value("email"),
      address: { street: value("street"), city: value("city"), region: value("region"), postal_code: value("postal_code") },
      representative: {
        first_name: value("first_name"), last_name: value("last_name"), email: value("person_email"),
        phone_number: value("phone_number"), title: value("title"),
      },
    },
    use_case: value("use_case"),
    description: value("description"),
    sample_messages: value("samples").split("\n").map((s) => s.trim()).filter(Boolean),
    opt_in: value("opt_in"),
    privacy_policy_url: value("privacy") || null,
    terms_and_conditions_url: value("terms") || null,
  };
  try {
    await api("POST", "/api/v1/registration", body);
    await load();
  } catch (error) {
    $("registration-error").textContent = error.message;
  }
}

export function wire() {
  $("registration-form").addEventListener("submit", submit);
}

export function onEvent(event) {
  if (["phone_number.updated", "inbox.updated"].includes(event.type)) load().catch((error) => report("Could not reload the registration", error));
}
