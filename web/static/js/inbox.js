// The agent's inbox page: wires the modules together, keeps the page's address (router.js)
// and keeps it all live from /ws.
import { api } from "./api.js";
import { wireActions } from "./actions.js";
import { wireCanned } from "./canned.js";
import { focusComposer, onLockEvent, renderComposer, wireComposer } from "./composer.js";
import { wireContact } from "./contact.js";
import { $, report } from "./dom.js";
import { clearMyDrafts } from "./drafts.js";
import {
  forget, loadListSoon, refreshCount, refreshCountSoon, reloadList, renderList, shownConversations, upsert, wireList,
} from "./list.js";
import { applyRelease, loadLocks } from "./locks.js";
import { hideMentions, onMention, refreshMentionCount, showMentions, wireMentions } from "./mentions.js";
import { notifyInbound, wireNotifications } from "./notify.js";
import { showNumberExpiry } from "./number-expiry.js";
import { currentRoute, onNavigate, record } from "./router.js";
import { wireShortcuts } from "./shortcuts.js";
import { applyInbox, inboxButtons, syncSidebar, wireSidebar } from "./sidebar.js";
import { Socket } from "./socket.js";
import { chime, wireSound } from "./sound.js";
import { emit, label, on, state } from "./state.js";
import { loadMatters, onMatterEvent, wireMatters } from "./matters.js";
import { loadTags, onTagEvent, wireTags } from "./tags.js";
import { applyTeammate } from "./team.js";
import {
  appendMessage, clearThread, markRead, openConversation, reloadThread, renderHeader, toggleArchive, updateStatus,
  viewConversation, wireThread,
} from "./thread.js";

const inboxButton = (id) => inboxButtons().find((b) => Number(b.dataset.inboxId) === id);

// Close the open conversation (its lock goes, presence says so) and show the list.
function closeConversation() {
  if (state.conversationId !== null) {
    const previous = state.conversationId;
    state.conversationId = null;
    emit("leaving", previous);
    viewConversation(null);
  }
  document.getElementById("app").classList.remove("show-thread");
  clearThread();
  renderList();
}

function selectInbox(inboxId) {
  state.inboxId = inboxId;
  for (const b of inboxButtons()) b.setAttribute("aria-current", String(Number(b.dataset.inboxId) === inboxId));
  $("list-title").textContent = inboxButton(inboxId)?.querySelector(".inbox-name").textContent || "Conversations";
  showNumberExpiry(inboxId).catch((error) => report("Could not read the inbox's number", error));
}

// An inbox's list, no conversation open: /inboxes/{id}.
async function goInbox(inboxId, how = {}) {
  record({ view: "inbox", id: inboxId }, how);
  const switching = inboxId !== state.inboxId || state.view !== "inbox";
  if (state.view !== "inbox") hideMentions();
  closeConversation();
  if (!switching) return;
  selectInbox(inboxId);
  state.conversations.clear();
  renderList();
  await reloadList();
}

// A conversation, with its inbox's list beside it: /conversations/{id}. `target` is its view,
// or its id (a link, a reload, back or forward: read it first).
async function goConversation(target, how = {}) {
  let c = typeof target === "number" ? state.conversations.get(target) : target;
  if (!c) {
    try {
      c = await api("GET", `/api/v1/conversations/${target}`);
    } catch (error) {
      const first = inboxButtons()[0];
      if (first) await goInbox(Number(first.dataset.inboxId), { replace: true });
      $("thread-title").textContent = `Could not open this conversation: ${error.message}`;
      return;
    }
  }
  record({ view: "conversation", id: c.id }, how);
  if (state.view !== "inbox") hideMentions();
  if (c.inbox_id !== state.inboxId) {
    selectInbox(c.inbox_id);
    state.conversations.clear();
    reloadList();
  }
  upsert(c);
  await openConversation(c.id).catch((error) => report("Could not open the conversation", error));
}

async function goMentions(how = {}) {
  record({ view: "mentions" }, how);
  closeConversation();
  for (const b of inboxButtons()) b.setAttribute("aria-current", "false");
  await showMentions();
}

function goHome() {
  const first = inboxButtons()[0];
  if (first) return goInbox(Number(first.dataset.inboxId), { replace: true });
  clearThread("No inbox yet");
  return Promise.resolve();
}

// Where the address says to be (a reload, a link, back or forward): no new history entry.
function apply(route) {
  if (route.view === "conversation") return goConversation(route.id, { replace: true });
  if (route.view === "inbox" && inboxButton(route.id)) return goInbox(route.id, { replace: true });
  if (route.view === "mentions") return goMentions({ replace: true });
  return goHome();
}

// j / k: the next or previous conversation of the list.
function step(by) {
  if (state.view !== "inbox") return;
  const rows = shownConversations();
  const at = rows.findIndex((c) => c.id === state.conversationId);
  const next = at < 0 ? rows[by > 0 ? 0 : rows.length - 1] : rows[at + by];
  if (next) goConversation(next);
}

function refreshAll() {
  reloadList();
  reloadThread().catch((error) => report("Could not reload the conversation", error));
  for (const b of inboxButtons()) refreshCount(Number(b.dataset.inboxId));
  loadTags();
  loadMatters();
  refreshMentionCount();
  loadLive();
}

// Who is online and who holds what (both calls answer every logged-in user).
async function loadLive() {
  try {
    const [presence] = await Promise.all([api("GET", "/api/v1/presence"), loadLocks()]);
    state.presence = new Map(presence.items.map((p) => [p.user.id, p]));
    renderList();
    renderHeader();
  } catch (error) {
    report("Could not load who is online and who is replying", error);
  }
}

function onEvent(event) {
  const data = event.data;
  switch (event.type) {
    case "message.created": {
      const { message, conversation } = data;
      const open = conversation.id === state.conversationId;
      const mine = message.direction === "outbound" && message.sender?.id === state.me.id;
      upsert({ ...conversation, unread: open && !document.hidden ? false : conversation.unread && !mine }, message.body);
      appendMessage(message);
      if (message.direction === "inbound") {
        notifyInbound(message, label(conversation));
        chime();
        if (open && !document.hidden) markRead(conversation.id);
        else refreshCountSoon(conversation.inbox_id);
      }
      break;
    }
    case "note.created":
      appendMessage(data.message);
      break;
    case "mention.created":
      onMention(event);
      break;
    case "message.status":
      updateStatus(data.message);
      break;
    case "conversation.updated": {
      const c = data.conversation;
      const known = state.conversations.get(c.id);
      // `unread` in events is the shared view; keep our own once we have it.
      upsert(known ? { ...c, unread: c.unread && known.unread } : c);
      if (c.id === state.conversationId) {
        renderHeader();
        renderComposer();
      }
      refreshCountSoon(c.inbox_id);
      break;
    }
    case "conversation.deleted": {
      forget(data.conversation_id);
      applyRelease(data.conversation_id);
      if (data.conversation_id === state.conversationId) {
        state.conversationId = null;
        emit("leaving", null);
        clearThread("This conversation was moved or deleted");
        if (state.inboxId !== null) record({ view: "inbox", id: state.inboxId }, { replace: true });
      }
      refreshCountSoon(data.inbox_id);
      break;
    }
    case "tag.updated":
    case "tag.deleted":
      onTagEvent(event);
      break;
    case "matter.changed":
      onMatterEvent(event);
      renderList();
      break;
    case "access.changed": {
      // Redraw the sidebar from the new list; the open conversation and its draft stay.
      syncSidebar().then((added) => {
        for (const id of added) refreshCount(id);
        if (state.inboxId === null && state.view === "inbox" && inboxButtons().length) {
          goInbox(Number(inboxButtons()[0].dataset.inboxId), { replace: true });
        }
      }).catch((error) => report("Could not reload your inboxes", error));
      if (state.inboxId !== null && !data.inbox_ids.includes(state.inboxId)) {
        state.conversations.clear();
        renderList();
      }
      break;
    }
    case "inbox.created":
    case "inbox.updated":
      applyInbox(data.inbox);
      if (data.inbox.id === state.inboxId) $("list-title").textContent = data.inbox.name;
      break;
    case "user.updated":
      applyTeammate(data.user);
      break;
    case "phone_number.updated":
      if (data.phone_number.inbox_id === state.inboxId || data.phone_number.released) {
        showNumberExpiry(state.inboxId).catch((error) => report("Could not read the inbox's number", error));
      }
      break;
    case "presence.changed":
      state.presence.set(data.user.id, data);
      renderList();
      renderHeader();
      break;
    case "lock.acquired":
    case "lock.released":
    case "lock.idle_prompt":
      onLockEvent(event);
      break;
    default:
      break;
  }
}

function wireFilters() {
  // Start from what the form holds (the browser may restore it, or the user typed early).
  Object.assign(state.filters, { assignee: $("filter-assignee").value, read: $("filter-read").value, q: $("filter-q").value });
  for (const b of document.querySelectorAll(".folder")) {
    b.addEventListener("click", () => {
      state.filters.folder = b.dataset.folder;
      for (const other of document.querySelectorAll(".folder")) other.setAttribute("aria-pressed", String(other === b));
      reloadList();
    });
  }
  $("filter-assignee").addEventListener("change", (e) => { state.filters.assignee = e.target.value; reloadList(); });
  $("filter-read").addEventListener("change", (e) => { state.filters.read = e.target.value; reloadList(); });
  $("filter-q").addEventListener("input", (e) => { state.filters.q = e.target.value; loadListSoon(); });
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); reloadList(); });
  on("filters", reloadList);
}

function start() {
  wireSidebar((inboxId) => goInbox(inboxId));
  wireFilters();
  wireList();
  wireThread();
  wireComposer();
  wireActions();
  wireTags();
  wireMatters();
  wireCanned();
  wireContact();
  wireMentions();
  wireNotifications();
  wireSound();
  wireShortcuts({
    step,
    reply: () => focusComposer("reply"),
    note: () => focusComposer("note"),
    archive: () => { if (state.conversationId !== null) toggleArchive(); },
  });
  document.querySelector('form[action="/logout"]')?.addEventListener("submit", clearMyDrafts);
  on("open", (id) => goConversation(id));
  on("go", (c) => goConversation(c));
  on("back", () => (state.inboxId !== null ? goInbox(state.inboxId) : goHome()));
  on("mentions", () => goMentions());
  on("counts", (inboxId) => refreshCountSoon(inboxId));
  on("locks", renderList);
  on("tags", () => { renderList(); renderHeader(); });
  on("note", appendMessage);
  on("conversation", (c) => {
    upsert(c);
    if (c.id === state.conversationId) renderHeader();
  });
  on("deleted", (c) => {
    forget(c.id);
    if (c.id === state.conversationId) goInbox(c.inbox_id, { replace: true });
  });
  on("start", async (c) => {
    await goConversation(c);
    focusComposer("reply");
  });
  onNavigate(apply);
  let connectedOnce = null;
  const connected = new Promise((resolve) => { connectedOnce = resolve; });
  state.socket = new Socket({
    onEvent,
    onState: (s) => {
      $("connection").hidden = s === "open";
      state.online = s === "open";
      renderComposer();
      if (s !== "open") return;
      connectedOnce();
      if (state.conversationId !== null) viewConversation(state.conversationId);
      loadLive();
    },
    onResync: refreshAll,
  });
  const shown = apply(currentRoute());
  for (const b of inboxButtons()) refreshCount(Number(b.dataset.inboxId));
  loadTags();
  loadMatters();
  refreshMentionCount();
  // Texts that came between the first list and the socket's first event are in a second look.
  Promise.all([shown, connected])
    .then(() => (state.view === "inbox" ? reloadList() : null))
    .finally(() => { document.getElementById("app").dataset.ready = "true"; });
}

start();
