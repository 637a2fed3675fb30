// The supervisor board: who is online, what they view and hold, and every lock, live from
// presence.changed and lock.* events, with force release (DELETE /api/v1/locks/{id}).
import { api } from "./api.js";
import { $, duration, el, viewingId } from "./dom.js";
import { admitLock } from "./lockorder.js";
import { Socket } from "./socket.js";

const REFRESH_LOCKS_MS = 5000; // idle prompts go to the holder only; re-read their state this often
const presence = new Map(); // user id -> {user, status, viewing}
const locks = new Map(); // conversation id -> {conversation_id, holder, expires_at, since, idle_prompt_pending}
const lockVersions = new Map(); // conversation id -> newest lock version applied (lockorder.js)
const names = new Map(); // conversation id -> label

const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

function conversationName(id) {
  if (id === null || id === undefined) return "—";
  return names.get(id) || `Conversation #${id}`;
}

async function loadNames() {
  const inboxes = await api("GET", "/api/v1/inboxes");
  for (const inbox of inboxes.items) {
    for (const folder of ["inbox", "archived"]) {
      const page = await api("GET", `/api/v1/inboxes/${inbox.id}/conversations?folder=${folder}`);
      for (const c of page.items) {
        names.set(c.id, `${c.contact ? c.contact.name : c.counterparty} · ${inbox.name}`);
      }
    }
  }
}

const heldBy = (userId) => [...locks.values()].filter((l) => l.holder.id === userId);

function sinceOf(lock) {
  return lock.since ? new Date(lock.since).getTime() : lock.seenAt;
}

function agentRow(p) {
  const held = heldBy(p.user.id);
  const oldest = held.length ? Math.min(...held.map(sinceOf)) : null;
  return el("tr", { dataset: { userId: p.user.id } },
    el("th", { scope: "row" }, p.user.name),
    el("td", {}, el("span", { className: `status status-${p.status}` }, p.status)),
    el("td", {}, p.status === "offline" ? "—" : conversationName(viewingId(p.viewing))),
    el("td", {}, held.length ? held.map((l) => conversationName(l.conversation_id)).join(", ") : "—"),
    el("td", { className: "age", dataset: { since: oldest ?? "" } }, oldest ? duration(Date.now() - oldest) : "—"),
    el("td", {}, held.some((l) => l.idle_prompt_pending) ? "pending" : "—"),
  );
}

function lockRow(lock) {
  const button = el("button", { type: "button", className: "danger" }, "Force release");
  button.setAttribute("aria-label", `Force release ${conversationName(lock.conversation_id)} from ${lock.holder.name}`);
  button.addEventListener("click", () => forceRelease(lock.conversation_id, button));
  return el("tr", { dataset: { conversationId: lock.conversation_id } },
    el("th", { scope: "row" }, conversationName(lock.conversation_id)),
    el("td", {}, lock.holder.name),
    el("td", { className: "age", dataset: { since: sinceOf(lock) } }, duration(Date.now() - sinceOf(lock))),
    el("td", {}, lock.expires_at ? clock(lock.expires_at) : "—"),
    el("td", {}, lock.idle_prompt_pending ? "pending" : "—"),
    el("td", {}, button),
  );
}

function render() {
  const focused = document.activeElement?.closest?.("#locks tr")?.dataset.conversationId;
  const people = [...presence.values()].sort((a, b) => a.user.name.localeCompare(b.user.name));
  $("agents").tBodies[0].replaceChildren(...(people.length
    ? people.map(agentRow)
    : [el("tr", {}, el("td", { colspan: "6" }, "Nobody yet."))]));
  const held = [...locks.values()].sort((a, b) => sinceOf(a) - sinceOf(b));
  $("locks").tBodies[0].replaceChildren(...(held.length
    ? held.map(lockRow)
    : [el("tr", {}, el("td", { colspan: "6" }, "No conversation is locked."))]));
  if (focused) document.querySelector(`#locks tr[data-conversation-id="${CSS.escape(focused)}"] button`)?.focus();
}

function tick() {
  for (const cell of document.querySelectorAll("td.age")) {
    if (cell.dataset.since) cell.textContent = duration(Date.now() - Number(cell.dataset.since));
  }
}

async function forceRelease(conversationId, button) {
  button.disabled = true;
  $("board-error").textContent = "";
  try {
    await api("DELETE", `/api/v1/locks/${conversationId}`);
    locks.delete(conversationId);
    render();
  } catch (error) {
    button.disabled = false;
    $("board-error").textContent = `Could not release: ${error.message}`;
  }
}

function keep(lock, old) {
  return { ...lock, seenAt: old?.seenAt ?? Date.now(), since: lock.since ?? old?.since };
}

async function loadAll() {
  try {
    const [p, l] = await Promise.all([api("GET", "/api/v1/presence"), api("GET", "/api/v1/locks")]);
    presence.clear();
    for (const item of p.items) presence.set(item.user.id, item);
    const old = new Map(locks);
    locks.clear();
    for (const item of l.items) {
      admitLock(lockVersions, item);
      locks.set(item.conversation_id, keep(item, old.get(item.conversation_id)));
    }
    $("board-error").textContent = "";
  } catch (error) {
    $("board-error").textContent = `Could not load the board: ${error.message}`;
  }
  render();
}

function onEvent(event) {
  const data = event.data;
  if (event.type === "presence.changed") {
    presence.set(data.user.id, data);
    const viewing = viewingId(data.viewing);
    if (viewing !== null && !names.has(viewing)) loadNamesSoon();
  } else if ((event.type === "lock.acquired" || event.type === "lock.released") && !admitLock(lockVersions, data)) {
    return; // older than what the board shows
  } else if (event.type === "lock.acquired") {
    locks.set(data.conversation_id, keep(data, locks.get(data.conversation_id)));
    if (!names.has(data.conversation_id)) loadNamesSoon();
  } else if (event.type === "lock.released") {
    locks.delete(data.conversation_id);
  } else if (event.type === "message.created") {
    const c = data.conversation;
    if (!names.has(c.id)) names.set(c.id, c.contact ? c.contact.name : c.counterparty);
    return;
  } else {
    return;
  }
  render();
}

let namesTimer = null;
function loadNamesSoon() {
  clearTimeout(namesTimer);
  namesTimer = setTimeout(() => loadNames().then(render).catch(() => {}), 200);
}

async function start() {
  render();
  // Socket first, then the REST state: nothing falls between the two.
  const opened = new Promise((resolve) => {
    new Socket({
      onEvent,
      onState: (s) => {
        $("connection").hidden = s === "open";
        if (s === "open") {
          resolve();
          loadAll();
        }
      },
      onResync: loadAll,
    });
  });
  await opened;
  await loadNames().catch(() => {});
  await loadAll();
  document.getElementById("board").dataset.ready = "true";
  setInterval(tick, 1000);
  setInterval(() => {
    if (!document.hidden) loadAll();
  }, REFRESH_LOCKS_MS);
}

start();
