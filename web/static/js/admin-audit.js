// Settings › Audit log: every admin change, newest first, who, what, of what, before → after;
// "Older entries" pages on with the cursor.
import { api } from "./api.js";
import { $, el, report } from "./dom.js";

const ACTIONS = {
  "team.created": "Created the team",
  "user.created": "Added",
  "user.updated": "Changed",
  "user.disabled": "Disabled",
  "user.enabled": "Enabled",
  "user.password_link": "Made a password link for",
  "token.created": "Made a token",
  "token.revoked": "Revoked a token",
  "inbox.created": "Created",
  "inbox.updated": "Changed",
  "inbox.members": "Changed the members of",
  "inbox.archived": "Archived",
};
const names = { user: new Map(), inbox: new Map() };
let next = null;

const show = (value) => (value === null || value === undefined ? "—" : typeof value === "string" ? value : JSON.stringify(value));

function change(entry) {
  const before = entry.before || {};
  const after = entry.after || {};
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  if (!entry.before || !entry.after) { // made, or removed: what it was
    const shown = entry.before ? before : after;
    return keys.map((k) => `${k}: ${show(shown[k])}`).join("; ");
  }
  return keys.map((k) => `${k}: ${show(before[k])} → ${show(after[k])}`).join("; ");
}

function subject(entry) {
  const { type, id } = entry.subject;
  if (type === "token") return `token “${(entry.after || entry.before || {}).name || id}”`;
  return names[type]?.get(id) || `${type} #${id}`;
}

function row(entry) {
  return el("tr", { dataset: { auditId: entry.id } },
    el("td", {}, new Date(entry.at).toLocaleString()),
    el("td", {}, entry.actor ? entry.actor.name : "Operator (command line)"),
    el("td", {}, ACTIONS[entry.action] || entry.action),
    el("td", {}, subject(entry)),
    el("td", { className: "change" }, change(entry)),
  );
}

async function page(cursor) {
  const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
  const { items, next: after } = await api("GET", `/api/v1/audit${query}`);
  next = after;
  $("audit-more").hidden = next === null;
  return items.map(row);
}

export async function load() {
  const [users, inboxes] = await Promise.all([api("GET", "/api/v1/users"), api("GET", "/api/v1/inboxes?all=1")]);
  for (const u of users.items) names.user.set(u.id, u.name);
  for (const i of inboxes.items) names.inbox.set(i.id, i.name);
  $("audit").tBodies[0].replaceChildren(...await page(null));
}

export function wire() {
  $("audit-more").addEventListener("click", async () => {
    try {
      $("audit").tBodies[0].append(...await page(next));
    } catch (error) {
      $("audit-error").textContent = `Could not load older entries: ${error.message}`;
    }
  });
}

export function onEvent(event) {
  if (["user.updated", "inbox.created", "inbox.updated", "access.changed"].includes(event.type)) {
    load().catch((error) => report("Could not reload the audit log", error));
  }
}
