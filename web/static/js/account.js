// The account page, everyone's own: change the password (the other sessions end), see where
// one is logged in and end those sessions.
import { api } from "./api.js";
import { $, el, time } from "./dom.js";
import { Socket } from "./socket.js";

// "Mozilla/5.0 (X11; Linux x86_64) ... Chrome/120.0 Safari/537.36" -> "Chrome on Linux".
function browserName(agent) {
  const browser = /Edg\//.test(agent) ? "Edge" : /Firefox\//.test(agent) ? "Firefox"
    : /Chrome\//.test(agent) ? "Chrome" : /Safari\//.test(agent) ? "Safari" : "A browser";
  const system = /Windows/.test(agent) ? "Windows" : /Mac OS/.test(agent) ? "macOS"
    : /Android/.test(agent) ? "Android" : /iPhone|iPad/.test(agent) ? "iOS" : /Linux/.test(agent) ? "Linux" : "";
  return system ? `${browser} on ${system}` : browser;
}

function row(s) {
  let action;
  if (s.current) {
    action = el("span", { className: "muted" }, "This browser");
  } else {
    action = el("button", { type: "button", className: "secondary", "aria-label": `End the session of ${browserName(s.user_agent)} from ${s.address || "?"}` }, "End");
    action.addEventListener("click", async () => {
      action.disabled = true;
      try {
        await api("DELETE", `/api/v1/me/sessions/${encodeURIComponent(s.id)}`);
        await load();
      } catch (error) {
        action.disabled = false;
        $("sessions-error").textContent = `Could not end it: ${error.message}`;
      }
    });
  }
  return el("tr", { className: s.current ? "current" : undefined },
    el("th", { scope: "row", title: s.user_agent }, browserName(s.user_agent)),
    el("td", {}, s.address || "—"),
    el("td", {}, time(s.created_at)),
    el("td", {}, time(s.seen_at)),
    el("td", {}, action),
  );
}

async function load() {
  try {
    const { items } = await api("GET", "/api/v1/me/sessions");
    $("sessions").tBodies[0].replaceChildren(...items.map(row));
    $("sessions-error").textContent = "";
  } catch (error) {
    $("sessions-error").textContent = `Could not load your sessions: ${error.message}`;
  }
}

async function changePassword(event) {
  event.preventDefault();
  $("password-error").textContent = "";
  $("password-result").textContent = "";
  try {
    await api("POST", "/api/v1/me/password", { current: $("current-password").value, new: $("new-password").value });
    $("password-form").reset();
    $("password-result").textContent = "Password changed. Your other sessions were logged out.";
    await load();
  } catch (error) {
    $("password-error").textContent = error.message;
  }
}

$("password-form").addEventListener("submit", changePassword);
new Socket({ onEvent: () => {} }); // logs this tab out when the session ends
load().finally(() => { $("account").dataset.ready = "true"; });
