// The supervisor board: who is online (and since when), what they view and hold, what is
// assigned to them and waiting, when they last replied; each inbox's queue (waiting
// conversations, the oldest wait, how many are past the first-response target); and every lock
// with its idle prompt. Loaded once, then live from the events alone (presence.changed, lock.*,
// message.created, conversation.updated/deleted), with force release (DELETE /api/v1/locks/{id}).
import { api } from "./api.js";
import { $, duration, el, report, viewingId } from "./dom.js";
import { allLocks, applyLockEvent, applyPromptEvent, applyRelease, loadLocks } from "./locks.js";
import { Socket } from "./socket.js";
import { clearMyDrafts } from "./drafts.js";
import { label, on, state } from "./state.js";
import { pastTarget } from "./sla.js";

const inboxNames = new Map(); // inbox id -> name, for "Contact · Inbox"
const inboxes = new Map(); // inbox id -> inbox (its sla_minutes)
const lastReply = new Map(); // user id -> ms of their newest reply

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
  const list = await api("GET", "/api/v1/inboxes");
  for (const inbox of list.items) {
    inboxNames.set(inbox.id, inbox.name);
    inboxes.set(inbox.id, inbox);
  }
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

const openConversations = () => [...state.conversations.values()].filter((c) => c.status === "open");

function ageCell(ms) {
  return el("td", { className: "age", dataset: { since: ms ?? "" } }, ms ? duration(Date.now() - ms) : "—");
}

function agentRow(p, mine) {
  const held = heldBy(p.user.id);
  const oldest = held.length ? Math.min(...held.map(sinceOf)) : null;
  const assigned = mine.get(p.user.id) || [];
  const unanswered = assigned.filter((c) => c.waiting_since).length;
  return el("tr", { dataset: { userId: p.user.id } },
    el("th", { scope: "row" }, p.user.name),
    el("td", {}, el("span", { className: `status status-${p.status}` }, p.status)),
    ageCell(p.since ? new Date(p.since).getTime() : null),
    el("td", {}, p.status === "offline" ? "—" : conversationName(viewingId(p.viewing))),
    el("td", {}, held.length ? held.map((l) => conversationName(l.conversation_id)).join(", ") : "—"),
    ageCell(oldest),
    el("td", {}, held.some((l) => l.idle_prompt_pending) ? "pending" : "—"),
    el("td", { className: "count" }, String(assigned.length)),
    el("td", { className: "count" }, String(unanswered)),
    ageCell(lastReply.get(p.user.id) ?? null),
  );
}

function queueRow(inbox, waiting) {
  const oldest = waiting.length ? Math.min(...waiting.map((c) => new Date(c.waiting_since).getTime())) : null;
  const late = waiting.filter((c) => pastTarget(c, inbox)).length;
  return el("tr", { dataset: { inboxId: inbox.id }, className: late ? "late" : undefined },
    el("th", { scope: "row" }, inbox.name),
    el("td", { className: "count" }, String(waiting.length)),
    ageCell(oldest),
    el("td", { className: "count" }, inbox.sla_minutes ? String(late) : "—"),
  );
}

function renderQueues() {
  const waiting = new Map();
  for (const c of openConversations()) {
    if (c.waiting_since) waiting.set(c.inbox_id, [...(waiting.get(c.inbox_id) || []), c]);
  }
  const rows = [...inboxes.values()].filter((i) => !i.archived).map((i) => queueRow(i, waiting.get(i.id) || []));
  $("queues").tBodies[0].replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: "4" }, "No inbox."))]));
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

// Many events may come in one frame (a busy team): the page is drawn once per frame.
let drawing = 0;
function render() {
  if (!drawing) drawing = requestAnimationFrame(draw);
}

function draw() {
  drawing = 0;
  const focused = document.activeElement?.closest?.("#locks tr")?.dataset.conversationId;
  const mine = new Map();
  for (const c of openConversations()) {
    if (c.assignee) mine.set(c.assignee.id, [...(mine.get(c.assignee.id) || []), c]);
  }
  const people = [...state.presence.values()].sort((a, b) => a.user.name.localeCompare(b.user.name));
  $("agents").tBodies[0].replaceChildren(...(people.length
    ? people.map((p) => agentRow(p, mine))
    : [el("tr", {}, el("td", { colspan: "10" }, "Nobody yet."))]));
  renderQueues();
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
  renderQueues(); // a wait that passes its target is flagged without any event
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
    const [presence, board] = await Promise.all([
      api("GET", "/api/v1/presence"), api("GET", "/api/v1/board"), loadLocks(),
    ]);
    state.presence = new Map(presence.items.map((p) => [p.user.id, p]));
    for (const c of state.conversations.values()) if (c.status === "open") c.status = "unknown";
    for (const c of board.conversations) state.conversations.set(c.id, c);
    for (const r of board.last_replies) lastReply.set(r.user_id, new Date(r.at).getTime());
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
    case "lock.prompted":
    case "lock.confirmed":
      applyPromptEvent(event);
      break;
    case "message.created": {
      const m = data.message;
      if (m.direction === "outbound" && !m.automatic && m.sender) lastReply.set(m.sender.id, new Date(m.created_at).getTime());
      state.conversations.set(data.conversation.id, data.conversation);
      render();
      break;
    }
    case "conversation.updated":
      state.conversations.set(data.conversation.id, data.conversation);
      render();
      break;
    case "conversation.deleted":
      state.conversations.delete(data.conversation_id);
      render();
      break;
    case "inbox.created":
    case "inbox.updated":
      inboxes.set(data.inbox.id, data.inbox);
      inboxNames.set(data.inbox.id, data.inbox.name);
      render();
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
  // The first open is followed by the load below; a reconnect reads the state again.
  let first = true;
  const opened = new Promise((resolve) => {
    new Socket({
      onEvent,
      onState: (s) => {
        $("connection").hidden = s === "open";
        if (s !== "open") return;
        if (first) resolve();
        else loadAll();
        first = false;
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
}

start();
