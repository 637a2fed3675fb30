// Settings › People: add someone (a password, or a one-time link to hand over), rename, give a
// role, disable or enable, make a new set-password link. Live from `user.updated`.
import { api } from "./api.js";
import { $, dialog, el, report } from "./dom.js";

export const ROLE_NAMES = { agent: "Agent", supervisor: "Supervisor", admin: "Admin", bot: "Bot" };
let people = [];
let editing = null;

function status(u) {
  if (u.disabled) return "Disabled";
  if (u.kind === "bot") return "Bot (uses tokens)";
  return u.password_set ? "Active" : "Invited (no password yet)";
}

function button(label, title, onClick, className = "secondary") {
  const b = el("button", { type: "button", className, "aria-label": title }, label);
  b.addEventListener("click", () => onClick(b));
  return b;
}

function row(u) {
  const actions = el("td", { className: "actions" });
  if (u.kind !== "bot") {
    actions.append(button("Edit", `Edit ${u.name}`, () => openEdit(u)));
    if (!u.disabled) actions.append(button("Password link", `New password link for ${u.name}`, (b) => passwordLink(u, b)));
  }
  actions.append(u.disabled
    ? button("Enable", `Enable ${u.name}`, (b) => setDisabled(u, false, b))
    : button("Disable", `Disable ${u.name}`, (b) => setDisabled(u, true, b), "danger"));
  return el("tr", { dataset: { userId: u.id }, className: u.disabled ? "disabled" : undefined },
    el("th", { scope: "row" }, u.name),
    el("td", {}, u.username),
    el("td", {}, ROLE_NAMES[u.role] || u.role),
    el("td", {}, status(u)),
    actions,
  );
}

function render() {
  $("people").tBodies[0].replaceChildren(...people.map(row));
}

export async function load() {
  people = (await api("GET", "/api/v1/users")).items;
  render();
}

function said(text, link) {
  const out = $("user-result");
  out.replaceChildren(text, ...(link ? [" ", el("code", { className: "secret" }, link)] : []));
  out.hidden = false;
}

async function setDisabled(u, disabled, b) {
  $("people-error").textContent = "";
  b.disabled = true;
  try {
    await api("PATCH", `/api/v1/users/${u.id}`, { disabled });
    await load();
  } catch (error) {
    b.disabled = false;
    $("people-error").textContent = `Could not ${disabled ? "disable" : "enable"} ${u.name}: ${error.message}`;
  }
}

async function passwordLink(u, b) {
  $("people-error").textContent = "";
  b.disabled = true;
  try {
    const made = await api("POST", `/api/v1/users/${u.id}/password-link`);
    said(`Give ${u.name} this link to set a new password (it works once, for 7 days):`, made.set_password_url);
  } catch (error) {
    $("people-error").textContent = `Could not make a link: ${error.message}`;
  } finally {
    b.disabled = false;
  }
}

function openEdit(u) {
  editing = u;
  $("edit-user-title").textContent = `Edit ${u.name}`;
  $("edit-user-name").value = u.name;
  $("edit-user-role").value = u.role;
  $("edit-user-error").textContent = "";
  $("edit-user").showModal();
}

async function saveEdit(event) {
  event.preventDefault();
  const changes = { name: $("edit-user-name").value, role: $("edit-user-role").value };
  try {
    await api("PATCH", `/api/v1/users/${editing.id}`, changes);
    $("edit-user").close();
    await load();
  } catch (error) {
    $("edit-user-error").textContent = error.message;
  }
}

async function add(event) {
  event.preventDefault();
  $("user-error").textContent = "";
  $("user-result").hidden = true;
  const body = {
    username: $("user-username").value.trim(),
    name: $("user-name").value.trim(),
    role: $("user-role").value,
  };
  const password = $("user-password").value;
  if (password) body.password = password;
  try {
    const made = await api("POST", "/api/v1/users", body);
    $("user-form").reset();
    if (made.set_password_url) {
      said(`Added ${made.name}. Give them this link to set their password (it works once, for 7 days):`, made.set_password_url);
    } else {
      said(`Added ${made.name}: they can log in as ${made.username} now.`);
    }
    await load();
  } catch (error) {
    $("user-error").textContent = error.message;
  }
}

export function wire() {
  $("user-form").addEventListener("submit", add);
  dialog("edit-user");
  $("edit-user-form").addEventListener("submit", saveEdit);
}

export function onEvent(event) {
  if (event.type === "user.updated") load().catch((error) => report("Could not reload the people", error));
}
