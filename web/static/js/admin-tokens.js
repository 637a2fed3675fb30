// Settings › API tokens: make one for a person or a bot (shown once, never again), see them,
// revoke them (their sockets close at once); add bot users.
import { api } from "./api.js";
import { $, el, report, time } from "./dom.js";

const DAY_MS = 86400000;
let people = [];

function revokeButton(token) {
  const b = el("button", { type: "button", className: "danger", "aria-label": `Revoke ${token.name} of ${token.user.name}` }, "Revoke");
  b.addEventListener("click", async () => {
    if (b.dataset.armed !== "true") { // a second click confirms: revoking cannot be undone
      b.dataset.armed = "true";
      b.textContent = "Really revoke?";
      return;
    }
    b.disabled = true;
    try {
      await api("DELETE", `/api/v1/tokens/${token.id}`);
      await load();
    } catch (error) {
      b.disabled = false;
      $("tokens-error").textContent = `Could not revoke ${token.name}: ${error.message}`;
    }
  });
  return b;
}

function row(token) {
  const expires = token.expires_at ? `${token.expired ? "Expired " : ""}${time(token.expires_at)}` : "Never";
  return el("tr", { dataset: { tokenId: token.id } },
    el("th", { scope: "row" }, token.name),
    el("td", {}, `${token.user.name}${token.user.kind === "bot" ? " (bot)" : ""}`),
    el("td", {}, time(token.created_at)),
    el("td", {}, token.last_used_at ? time(token.last_used_at) : "—"),
    el("td", {}, expires),
    el("td", {}, revokeButton(token)),
  );
}

export async function load() {
  const [tokens, team] = await Promise.all([api("GET", "/api/v1/tokens"), api("GET", "/api/v1/users")]);
  people = team.items.filter((u) => !u.disabled);
  const select = $("token-user");
  const chosen = select.value;
  select.replaceChildren(...people.map((u) => el("option", { value: u.id }, `${u.name}${u.kind === "bot" ? " (bot)" : ""}`)));
  if (chosen) select.value = chosen;
  const body = $("tokens").tBodies[0];
  body.replaceChildren(...(tokens.items.length
    ? tokens.items.map(row)
    : [el("tr", {}, el("td", { colspan: "6" }, "No tokens yet."))]));
}

async function make(event) {
  event.preventDefault();
  $("token-error").textContent = "";
  $("token-shown").hidden = true;
  const days = $("token-expiry").value;
  const body = { user_id: Number($("token-user").value), name: $("token-name").value.trim() };
  if (days) body.expires_at = new Date(Date.now() + Number(days) * DAY_MS).toISOString();
  try {
    const made = await api("POST", "/api/v1/tokens", body);
    $("token-secret").textContent = made.token;
    $("token-shown").hidden = false;
    $("token-name").value = "";
    await load();
  } catch (error) {
    $("token-error").textContent = error.message;
  }
}

async function addBot(event) {
  event.preventDefault();
  $("bot-error").textContent = "";
  const body = { username: $("bot-username").value.trim(), name: $("bot-name").value.trim(), role: "bot" };
  try {
    const bot = await api("POST", "/api/v1/users", body);
    $("bot-form").reset();
    await load();
    $("token-user").value = String(bot.id); // its token is likely what comes next
    $("token-name").focus();
  } catch (error) {
    $("bot-error").textContent = error.message;
  }
}

export function wire() {
  $("token-form").addEventListener("submit", make);
  $("bot-form").addEventListener("submit", addBot);
}

export function onEvent(event) {
  if (event.type === "user.updated") load().catch((error) => report("Could not reload the tokens", error));
}
