// The open conversation: its messages and private notes with live delivery status, older
// history loaded on scrolling up (keeping what the agent reads in place), the scroll position
// kept across reloads, banners, who else is here, and its actions (assign, archive, unread).
import { api } from "./api.js";
import { mediaList } from "./attachments.js";
import { $, el, firstName, report, time } from "./dom.js";
import { renderList, upsert } from "./list.js";
import { applySnapshot, snapshotMark } from "./locks.js";
import { current, emit, state, viewersOf } from "./state.js";
import { renderThreadMatter } from "./matters.js";
import { renderThreadTags } from "./tags.js";

const PAGE = 50; // messages per history page
const NEAR_TOP_PX = 150; // this close to the top, the page before is loaded
const AT_BOTTOM_PX = 40; // this close to the end counts as reading the newest
const RESTORE_PAGES = 20; // at most this many pages are loaded back to find a kept position
const MENTION = /((?<![\w@.])@[A-Za-z0-9_][A-Za-z0-9_.-]*)/; // as inbox/notes.py reads them

let openSeq = 0;
let older = null; // `before` of the page above the oldest shown, or null at the beginning
let loadingOlder = null;
let restoring = false;

const scroller = () => $("thread-scroll");
const scrollKey = (id) => `switchboard.scroll.${id}`;

function senderName(m) {
  if (m.direction === "inbound") return "Customer";
  if (m.automatic) return "auto-reply";
  return m.sender ? m.sender.name : "Team";
}

function statusText(m) {
  if (m.status !== "failed" && m.status !== "undelivered") return m.status;
  return `${m.status}: ${m.error_message || m.error_code || "no reason given"}`;
}

// A note's text with its @mentions marked.
function noteBody(body) {
  return el("p", { className: "body" }, ...body.split(MENTION).map((part, i) =>
    i % 2 ? el("span", { className: "mention" }, part) : part));
}

// Why an inbound text landed where it did (inbox/routing.py); nothing for a text to the
// inbox's own number.
const ROUTED = {
  matter: "Routed here: the client's only active matter",
  matter_latest: "Routed here: the client's most recently active matter",
  filed: "Routed here: this conversation is filed under its matter",
  unknown_number: "In the Mailroom: no contact has this number",
  no_active_matter: "In the Mailroom: the contact has no active matter",
};

const day = (iso) => new Date(iso).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });

export function messageItem(m) {
  const failed = m.status === "failed" || m.status === "undelivered";
  const note = m.direction === "note";
  return el(
    "li",
    { className: `message ${m.direction}${m.automatic ? " automatic" : ""}`, dataset: { messageId: m.id } },
    m.starts_thread ? el("p", { className: "thread-start", role: "separator" }, `New thread · started ${day(m.created_at)}`) : "",
    el("div", { className: "meta" },
      note ? el("span", { className: "note-label" }, "Private note · ") : "",
      el("span", { className: "sender" }, senderName(m)), " · ",
      el("time", { datetime: m.created_at }, time(m.created_at)),
      m.direction === "outbound"
        ? el("span", { className: "status" + (failed ? " failed" : ""), dataset: { status: m.status } }, ` · ${statusText(m)}`)
        : ""),
    m.body ? (note ? noteBody(m.body) : el("p", { className: "body" }, m.body)) : "",
    mediaList(m),
    ROUTED[m.routed] ? el("p", { className: "routed" }, ROUTED[m.routed]) : "",
  );
}

const atBottom = () => {
  const s = scroller();
  return s.scrollHeight - s.scrollTop - s.clientHeight < AT_BOTTOM_PX;
};
const toBottom = () => { scroller().scrollTop = scroller().scrollHeight; };

export function appendMessage(m) {
  if (m.conversation_id !== state.conversationId) return;
  const list = $("messages");
  const existing = list.querySelector(`[data-message-id="${m.id}"]`);
  if (existing) {
    existing.replaceWith(messageItem(m));
    return;
  }
  const follow = atBottom() || (m.sender?.id === state.me.id && m.direction !== "inbound");
  // Keep id order even if a replayed event arrives after a newer one.
  const after = [...list.children].find((li) => Number(li.dataset.messageId) > m.id);
  list.insertBefore(messageItem(m), after || null);
  if (!after && follow) toBottom(); // someone reading older history is not pulled down
}

export function updateStatus(m) {
  const node = $("messages").querySelector(`[data-message-id="${m.id}"]`);
  if (node) node.replaceWith(messageItem(m));
}

function renderHistoryEdge() {
  const shown = $("messages").children.length > 0;
  $("history-status").textContent = loadingOlder
    ? "Loading earlier messages…"
    : older === null && shown ? "Beginning of the conversation" : "";
}

// The page before the oldest shown, put above it without moving what the agent looks at.
function loadOlder() {
  if (older === null || loadingOlder) return loadingOlder;
  const id = state.conversationId;
  const seq = openSeq;
  loadingOlder = api("GET", `/api/v1/conversations/${id}/messages?limit=${PAGE}&before=${older}`)
    .then((page) => {
      if (seq !== openSeq) return;
      const s = scroller();
      const height = s.scrollHeight;
      const known = new Set([...$("messages").children].map((li) => li.dataset.messageId));
      $("messages").prepend(...page.items.filter((m) => !known.has(String(m.id))).map(messageItem));
      s.scrollTop += s.scrollHeight - height;
      older = page.next;
    })
    .catch((error) => report("Could not load the earlier messages", error))
    .finally(() => {
      loadingOlder = null;
      renderHistoryEdge();
    });
  renderHistoryEdge();
  return loadingOlder;
}

// Where the agent was reading (the first message in view and how far down it was), kept per
// tab across reloads; null: at the newest.
function keepPosition() {
  if (restoring || state.conversationId === null) return;
  const s = scroller();
  let anchor = null;
  if (!atBottom()) {
    const first = [...$("messages").children].find((li) => li.offsetTop + li.offsetHeight > s.scrollTop);
    if (first) anchor = { id: Number(first.dataset.messageId), offset: first.offsetTop - s.scrollTop };
  }
  try {
    sessionStorage.setItem(scrollKey(state.conversationId), JSON.stringify(anchor));
  } catch {
    // storage refused: the position is simply not kept
  }
}

function keptPosition(id) {
  try {
    return JSON.parse(sessionStorage.getItem(scrollKey(id)) || "null");
  } catch {
    return null;
  }
}

async function restorePosition(anchor, seq) {
  restoring = true;
  try {
    const find = () => anchor && $("messages").querySelector(`[data-message-id="${anchor.id}"]`);
    for (let pages = 0; anchor && !find() && older !== null && pages < RESTORE_PAGES; pages++) {
      await loadOlder();
      if (seq !== openSeq) return;
    }
    const node = find();
    if (node) scroller().scrollTop = node.offsetTop - anchor.offset;
    else toBottom();
  } finally {
    restoring = false;
  }
}

export function renderHeader() {
  const c = current();
  $("thread-actions").hidden = !c;
  $("optout-banner").hidden = !(c && c.opted_out);
  $("readonly-banner").hidden = !(c && c.read_only);
  renderThreadTags();
  renderThreadMatter();
  if (!c) return;
  $("thread-title").textContent = c.contact ? `${c.contact.name} (${c.counterparty})` : c.counterparty;
  $("assign").value = c.assignee ? String(c.assignee.id) : "";
  $("archive").textContent = c.status === "archived" ? "Unarchive" : "Archive";
  const viewers = viewersOf(c.id).map((p) => firstName(p.user.name));
  $("thread-presence").textContent = viewers.length ? `Also here: ${viewers.join(", ")}` : "";
  emit("header");
}

// Tell the server what this tab shows (presence); its answer says who holds the lock.
export async function viewConversation(conversationId) {
  if (!state.socket?.isOpen()) return; // sent again once the socket is back
  const mark = snapshotMark();
  try {
    const ack = await state.socket.command("conversation.view", { conversation_id: conversationId });
    if (conversationId !== null) applySnapshot(ack.lock ? [ack.lock] : [], mark, [conversationId]);
  } catch (error) {
    report("Could not tell the server which conversation you are viewing", error);
  }
}

// The newest message this tab shows: sends say so, and hear about texts that came after it.
export function newestShownId() {
  const last = $("messages").lastElementChild;
  return last ? Number(last.dataset.messageId) : null;
}

// Show nothing (another inbox, the Mentions view, or the conversation went away).
export function clearThread(title = "Pick a conversation") {
  openSeq++;
  older = null;
  $("messages").replaceChildren();
  $("composer").hidden = true;
  $("thread-title").textContent = title;
  $("thread-presence").textContent = "";
  renderHistoryEdge();
  renderHeader();
}

export async function openConversation(conversationId) {
  const seq = ++openSeq;
  const anchor = keptPosition(conversationId); // before anything redraws and scrolls
  const previous = state.conversationId;
  state.conversationId = conversationId;
  emit("leaving", previous);
  document.getElementById("app").classList.add("show-thread");
  older = null;
  $("messages").replaceChildren();
  $("action-error").textContent = "";
  renderHistoryEdge();
  renderHeader();
  renderList();
  $("composer").hidden = false;
  viewConversation(conversationId);
  const page = await api("GET", `/api/v1/conversations/${conversationId}/messages?limit=${PAGE}`);
  if (seq !== openSeq) return;
  restoring = true;
  $("messages").replaceChildren(...page.items.map(messageItem));
  older = page.next;
  renderHistoryEdge();
  await restorePosition(anchor, seq);
  if (seq !== openSeq) return;
  emit("opened", conversationId);
  markRead(conversationId);
}

// After a resync the log could not replay: read the open thread again, keeping the lock.
export async function reloadThread() {
  const id = state.conversationId;
  if (id === null) return;
  const page = await api("GET", `/api/v1/conversations/${id}/messages?limit=${PAGE}`);
  if (id !== state.conversationId) return;
  $("messages").replaceChildren(...page.items.map(messageItem));
  older = page.next;
  renderHistoryEdge();
  toBottom();
}

export async function markRead(conversationId) {
  const c = state.conversations.get(conversationId);
  if (!c) return;
  try {
    upsert(await api("POST", `/api/v1/conversations/${conversationId}/read`));
    emit("counts", c.inbox_id);
  } catch (error) {
    report("Could not mark the conversation read", error);
  }
}

export async function act(path, body) {
  const c = current();
  if (!c) return;
  $("action-error").textContent = "";
  try {
    upsert(await api("POST", `/api/v1/conversations/${c.id}/${path}`, body));
    renderHeader();
    emit("counts", c.inbox_id);
  } catch (error) {
    $("action-error").textContent = `Could not ${path}: ${error.message}`;
  }
}

export const toggleArchive = () => act(current()?.status === "archived" ? "unarchive" : "archive");

export function wireThread() {
  $("assign").addEventListener("change", (e) =>
    act("assign", { user_id: e.target.value ? Number(e.target.value) : null }));
  $("archive").addEventListener("click", toggleArchive);
  $("mark-unread").addEventListener("click", () => act("unread"));
  $("back").addEventListener("click", () => emit("back"));
  let timer = null;
  scroller().addEventListener("scroll", () => {
    if (scroller().scrollTop < NEAR_TOP_PX && !restoring) loadOlder();
    clearTimeout(timer);
    timer = setTimeout(keepPosition, 150);
  });
  window.addEventListener("pagehide", keepPosition);
}
