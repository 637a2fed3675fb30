// The agent's inbox page: wires the modules together and keeps them live from /ws.
import { api } from "./api.js";
import { wireActions } from "./actions.js";
import { onLockEvent, renderComposer, wireComposer } from "./composer.js";
import { $, report } from "./dom.js";
import { loadListSoon, refreshCount, refreshCountSoon, reloadList, renderList, upsert } from "./list.js";
import { applyRelease, loadLocks } from "./locks.js";
import { notifyInbound, wireNotifications } from "./notify.js";
import { applyInbox, inboxButtons, syncSidebar, wireSidebar } from "./sidebar.js";
import { Socket } from "./socket.js";
import { emit, label, on, state } from "./state.js";
import { applyTeammate } from "./team.js";
import {
  appendMessage, markRead, openConversation, reloadThread, renderHeader, updateStatus, viewConversation,
  wireThread,
} from "./thread.js";

async function openInbox(inboxId) {
  state.inboxId = inboxId;
  if (state.conversationId !== null) emit("leaving", state.conversationId);
  state.conversationId = null;
  viewConversation(null);
  for (const b of inboxButtons()) b.setAttribute("aria-current", String(Number(b.dataset.inboxId) === inboxId));
  $("list-title").textContent = inboxButtons().find((b) => Number(b.dataset.inboxId) === inboxId)
    ?.querySelector(".inbox-name").textContent || "Conversations";
  $("composer").hidden = true;
  $("thread-title").textContent = "Pick a conversation";
  $("messages").replaceChildren();
  renderHeader();
  state.conversations.clear();
  await reloadList();
}

function refreshAll() {
  reloadList();
  reloadThread().catch((error) => report("Could not reload the conversation", error));
  for (const b of inboxButtons()) refreshCount(Number(b.dataset.inboxId));
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
        if (open && !document.hidden) markRead(conversation.id);
        else refreshCountSoon(conversation.inbox_id);
      }
      break;
    }
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
      state.conversations.delete(data.conversation_id);
      applyRelease(data.conversation_id);
      if (data.conversation_id === state.conversationId) {
        state.conversationId = null;
        $("composer").hidden = true;
        $("messages").replaceChildren();
        $("thread-title").textContent = "This conversation was moved or deleted";
        renderHeader();
      }
      renderList();
      refreshCountSoon(data.inbox_id);
      break;
    }
    case "access.changed": {
      // Redraw the sidebar from the new list; the open conversation and its draft stay.
      syncSidebar().then((added) => {
        for (const id of added) refreshCount(id);
        if (state.inboxId === null && inboxButtons().length) openInbox(Number(inboxButtons()[0].dataset.inboxId));
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
}

function start() {
  wireSidebar(openInbox);
  wireFilters();
  wireThread();
  wireComposer();
  wireActions();
  wireNotifications();
  const opening = (error) => report("Could not open the conversation", error);
  on("open", (id) => openConversation(id).catch(opening));
  on("counts", (inboxId) => refreshCountSoon(inboxId));
  on("locks", renderList);
  on("start", async (c) => {
    if (c.inbox_id !== state.inboxId) await openInbox(c.inbox_id);
    upsert(c);
    await openConversation(c.id).catch(opening);
    $("reply").focus();
  });
  let connectedOnce = null;
  const connected = new Promise((resolve) => { connectedOnce = resolve; });
  state.socket = new Socket({
    onEvent,
    onState: (s) => {
      $("connection").hidden = s === "open";
      if (s !== "open") return;
      connectedOnce();
      if (state.conversationId !== null) viewConversation(state.conversationId);
      loadLive();
    },
    onResync: refreshAll,
  });
  const first = inboxButtons()[0];
  const listed = first ? openInbox(Number(first.dataset.inboxId)) : Promise.resolve();
  for (const b of inboxButtons()) refreshCount(Number(b.dataset.inboxId));
  // Texts that came between the first list and the socket's first event are in a second look.
  Promise.all([listed, connected])
    .then(reloadList)
    .finally(() => { document.getElementById("app").dataset.ready = "true"; });
}

start();
