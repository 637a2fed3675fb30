// The supervisor board: who is online, what they view and hold, and every lock, live from
// presence.changed and lock.* events, with force release (DELETE /api/v1/locks/{id}).
import { api } from "./api.js";
import { $, duration, el, report, viewingId } from "./dom.js";
import { allLocks, applyLockEvent, applyRelease, loadLocks } from "./locks.js";
import { Socket } from "./socket.js";
import { clearMyDrafts } from "./drafts.js";
import { label, on, state } from "./state.js";

const REFRESH_LOCKS_MS = 5000; // idle prompts go to the holder only; re-read their state this often
const inboxNames = new Map(); // inbox id -> name, for "Contact · Inbox"

const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

function conversationName(id) {
  if (id === null || id === undefined) return "—";
  const c = state.conversations.get(id);
  if (!c) return `Conversation #${id}`;
  return inboxNames.has(c.inbox_id) ? `${label(c)} · ${inboxNames.get(c.inbox_id)}` : label(c);
}

// The board has no list of its own: it asks for the conversations it shows by id (only those
// of the supervisor's inboxes are named; the others stay "Conversation #N").
async function loadInboxNames() {
  const inboxes = await api("GET", "/api/v1/inboxes");
  for (const inbox of inboxes.items) inboxNames.set(inbox.id, inbox.name);
}

const asked = new Set(); // ids already asked for, so an unnamed one is not asked again and again

async function loadNames() {
  const ids = new Set(allLocks().map((l) => l.conversation_id));
  for (const p of state.presence.values()) {
    const viewing = viewingId(p.viewing);
    if (viewing !== null) ids.add(viewing);
  }
  const missing = [...ids].filter((id) => !state.conversations.has(id) && !asked.has(id));
  for (let i = 0; i < missing.length; i += 200) {
    const batch = missing.slice(i, i + 200);
    batch.forEach((id) => asked.add(id));
    const { items } = await api("GET", `/api/v1/conversations?ids=${batch.join(",")}`);
    for (const c of items) state.conversations.set(c.id, c);
  }
}

const heldBy = (userId) => allLocks().filter((l) => l.holder.id === userId);

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
  const people = [...state.presence.values()].sort((a, b) => a.user.name.localeCompare(b.user.name));
  $("agents").tBodies[0].replaceChildren(...(people.length
    ? people.map(agentRow)
    : [el("tr", {}, el("td", { colspan: "6" }, "Nobody yet."))]));
  const held = allLocks().sort((a, b) => sinceOf(a) - sinceOf(b));
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
    applyRelease(conversationId); // its lock.released event brings the version
  } catch (error) {
    button.disabled = false;
    $("board-error").textContent = `Could not release: ${error.message}`;
  }
}

async function loadAll() {
  try {
    const [presence] = await Promise.all([api("GET", "/api/v1/presence"), loadLocks()]);
    state.presence = new Map(presence.items.map((p) => [p.user.id, p]));
    $("board-error").textContent = "";
  } catch (error) {
    $("board-error").textContent = `Could not load the board: ${error.message}`;
  }
  render();
  loadNamesSoon();
}

function onEvent(event) {
  const data = event.data;
  switch (event.type) {
    case "presence.changed": {
      state.presence.set(data.user.id, data);
      const viewing = viewingId(data.viewing);
      if (viewing !== null && !state.conversations.has(viewing)) loadNamesSoon();
      render();
      break;
    }
    case "lock.acquired":
    case "lock.released": { // drawn on "locks"
      const fresh = applyLockEvent(event) && event.type === "lock.acquired";
      if (fresh && !state.conversations.has(data.conversation_id)) loadNamesSoon();
      break;
    }
    case "message.created":
    case "conversation.updated":
      state.conversations.set(data.conversation.id, data.conversation);
      break;
    default:
      break;
  }
}

const namesFailed = (error) => report("Could not load the conversations' names", error);
let namesTimer = null;
function loadNamesSoon() {
  clearTimeout(namesTimer);
  namesTimer = setTimeout(() => loadNames().then(render, namesFailed), 200);
}

async function start() {
  on("locks", render);
  document.querySelector('form[action="/logout"]')?.addEventListener("submit", clearMyDrafts);
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
  await loadInboxNames().catch(namesFailed);
  await loadAll();
  await loadNames().then(render, namesFailed);
  document.getElementById("board").dataset.ready = "true";
  setInterval(tick, 1000);
  setInterval(() => {
    if (!document.hidden) loadAll();
  }, REFRESH_LOCKS_MS);
}

start();
