// The conversation list: filters, pages (50 at a time, more on scrolling down), live upserts
// and reordering, presence, lock and tag markers, unread counts in the sidebar, arrow keys.
import { api } from "./api.js";
import { $, el, firstName, initials, report, time } from "./dom.js";
import { lockOf } from "./locks.js";
import { emit, label, state, viewersOf } from "./state.js";
import { tagChip } from "./tags.js";
import { msUntilTarget, pastTarget } from "./sla.js";
import { targetOf } from "./sidebar.js";

let loadSeq = 0;
// Ids the server listed for the current filters, plus live arrivals that match them: what the
// list shows. `state.conversations` knows more (the open conversation when a filter hides it).
let listed = new Set();
let nextCursor = null; // the server's cursor for the page after the last one loaded
let loadingMore = null;

const searching = () => Boolean(state.filters.q.trim());
const newestFirst = (a, b) => (b.last_message_at || "").localeCompare(a.last_message_at || "") || b.id - a.id;

function matchesFilters(c) {
  const f = state.filters;
  if (c.inbox_id !== state.inboxId) return false;
  if ((f.folder === "archived") !== (c.status === "archived")) return false;
  if (f.assignee === "me" && c.assignee?.id !== state.me.id) return false;
  if (f.assignee === "unassigned" && c.assignee) return false;
  if (/^\d+$/.test(f.assignee) && c.assignee?.id !== Number(f.assignee)) return false;
  if (f.read === "unread" && !c.unread) return false;
  if (f.read === "read" && c.unread) return false;
  if (f.tag && !(c.tags || []).some((t) => t.id === Number(f.tag))) return false;
  if (f.matter && c.matter?.id !== Number(f.matter)) return false;
  return true;
}

function avatar(user, title) {
  const a = el("span", { className: "avatar", title },
    el("span", { "aria-hidden": "true" }, initials(user.name)), el("span", { className: "visually-hidden" }, title));
  a.style.setProperty("--hue", String((user.id * 67) % 360));
  return a;
}

function row(c) {
  const lock = lockOf(c.id);
  const viewers = viewersOf(c.id);
  const markers = el("span", { className: "markers" });
  if (lock) {
    const who = lock.holder.id === state.me.id ? "You are" : `${firstName(lock.holder.name)} is`;
    markers.append(el("span", { className: "marker lock" }, `${who} replying`));
  } else if (viewers.length) {
    const names = viewers.map((v) => firstName(v.user.name)).join(", ");
    markers.append(el("span", { className: "marker viewing" }, `${names} viewing`));
  }
  const late = pastTarget(c, targetOf(c.inbox_id));
  if (late) markers.append(el("span", { className: "marker late" }, "Past response target"));
  const tags = (c.tags || []).map((t) => tagChip(t));
  const button = el(
    "button",
    {
      type: "button",
      className: "conversation" + (c.unread ? " unread" : "") + (late ? " late" : ""),
      dataset: { conversationId: c.id },
      "aria-current": String(c.id === state.conversationId),
    },
    el("span", { className: "name" },
      c.unread ? el("span", { className: "dot", "aria-hidden": "true" }) : "",
      c.unread ? el("span", { className: "visually-hidden" }, "Unread: ") : "",
      label(c), c.contact ? el("span", { className: "number" }, ` ${c.counterparty}`) : ""),
    el("time", { datetime: c.last_message_at || "" }, time(c.last_message_at)),
    el("span", { className: "preview" }, c.preview || ""),
    markers,
    tags.length ? el("span", { className: "tag-list" }, ...tags) : "",
    c.assignee ? avatar(c.assignee, `Assigned to ${c.assignee.name}`) : "",
  );
  button.addEventListener("click", () => emit("open", c.id));
  button.addEventListener("keydown", onKey);
  return el("li", {}, button);
}

function onKey(event) {
  if (event.key !== "ArrowDown" && event.key !== "ArrowUp" && event.key !== "Home" && event.key !== "End") return;
  const buttons = [...$("conversations").querySelectorAll(".conversation")];
  const at = buttons.indexOf(event.currentTarget);
  const next = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: buttons.length - 1 }[event.key];
  if (buttons[next]) {
    event.preventDefault();
    buttons[next].focus();
  }
}

// The conversations the list shows, in its order (the keyboard's j/k walk them too).
export function shownConversations() {
  return [...state.conversations.values()].filter((c) => listed.has(c.id) && matchesFilters(c)).sort(newestFirst);
}

// Drawn again the moment the next shown conversation passes its target (no server event).
let targetTimer = null;
function flagWhenLate(items) {
  clearTimeout(targetTimer);
  const waits = items.map((c) => msUntilTarget(c, targetOf(c.inbox_id))).filter((ms) => ms !== null);
  if (waits.length) targetTimer = setTimeout(renderList, Math.min(...waits) + 50);
}

export function renderList() {
  const list = $("conversations");
  const focused = document.activeElement?.dataset?.conversationId;
  const items = shownConversations();
  list.replaceChildren(...items.map(row));
  flagWhenLate(items);
  const empty = $("list-empty");
  empty.hidden = items.length > 0 || state.inboxId === null;
  empty.textContent = searching()
    ? `No conversations match “${state.filters.q.trim()}”.`
    : "No conversations here.";
  $("list-more").hidden = nextCursor === null;
  if (focused) list.querySelector(`[data-conversation-id="${CSS.escape(focused)}"]`)?.focus();
}

function query(cursor) {
  const f = state.filters;
  const params = new URLSearchParams({ folder: f.folder });
  if (f.assignee) params.set("assignee", f.assignee);
  if (f.read) params.set("read", f.read);
  if (f.tag) params.set("tag", f.tag);
  if (f.matter) params.set("matter", f.matter);
  if (f.q.trim()) params.set("q", f.q.trim());
  if (cursor) params.set("cursor", cursor);
  return `/api/v1/inboxes/${state.inboxId}/conversations?${params}`;
}

export async function loadList() {
  if (state.inboxId === null) return;
  const seq = ++loadSeq;
  const page = await api("GET", query(null));
  if (seq !== loadSeq) return; // a newer load won
  const keep = state.conversations.get(state.conversationId);
  state.conversations = new Map(page.items.map((c) => [c.id, c]));
  // The open conversation stays known (its header and composer) when a filter hides its row.
  if (keep && !state.conversations.has(keep.id)) state.conversations.set(keep.id, keep);
  listed = new Set(page.items.map((c) => c.id));
  nextCursor = page.next;
  renderList();
}

// The page after the last one loaded (scrolling to the end of the list, or its button).
export function loadMore() {
  if (nextCursor === null || loadingMore) return loadingMore;
  const seq = loadSeq;
  loadingMore = api("GET", query(nextCursor))
    .then((page) => {
      if (seq !== loadSeq) return; // the filters changed meanwhile: that load is the list now
      for (const c of page.items) {
        state.conversations.set(c.id, { ...state.conversations.get(c.id), ...c });
        listed.add(c.id);
      }
      nextCursor = page.next;
      renderList();
    })
    .catch((error) => report("Could not load more conversations", error))
    .finally(() => { loadingMore = null; });
  return loadingMore;
}

// Whether a conversation belongs among the rows loaded so far (not below the last page).
function withinLoaded(c) {
  if (nextCursor === null) return true;
  const rows = shownConversations();
  return !rows.length || newestFirst(c, rows[rows.length - 1]) <= 0;
}

// A conversation changed (event or action): merge it, keeping the preview we know.
export function upsert(conversation, preview) {
  const old = state.conversations.get(conversation.id);
  const merged = { ...old, ...conversation, preview: preview ?? old?.preview ?? null };
  state.conversations.set(conversation.id, merged);
  if (searching() && conversation.inbox_id === state.inboxId) {
    loadListSoon(); // the server decides what a search matches
  } else if (matchesFilters(merged) && withinLoaded(merged)) {
    listed.add(conversation.id);
  }
  renderList();
}

// Forget a conversation (deleted, or moved to an inbox of someone else's).
export function forget(conversationId) {
  state.conversations.delete(conversationId);
  listed.delete(conversationId);
  renderList();
}

// loadList for a click, a filter or an event: a failure is said, not thrown.
export function reloadList() {
  return loadList().catch((error) => report("Could not load the conversations", error));
}

let soon = null;
export function loadListSoon() {
  clearTimeout(soon);
  soon = setTimeout(reloadList, 250);
}

export function wireList() {
  $("list-more").addEventListener("click", loadMore);
  // Scrolling the list down to its end loads the next page.
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadMore();
  }).observe($("list-more"));
}

// Unread counts per inbox in the sidebar (GET /api/v1/inboxes/{id}/counts).
const countTimers = new Map();
export async function refreshCount(inboxId) {
  const button = document.querySelector(`.inbox-link[data-inbox-id="${inboxId}"]`);
  if (!button) return;
  try {
    const counts = await api("GET", `/api/v1/inboxes/${inboxId}/counts`);
    const text = counts.inbox.unread ? String(counts.inbox.unread) : "";
    const count = button.querySelector(".count");
    count.textContent = text;
    count.dataset.count = text || "0";
  } catch (error) {
    report(`Could not count the unread texts of ${button.querySelector(".inbox-name").textContent}`, error);
  }
}

export function refreshCountSoon(inboxId) {
  clearTimeout(countTimers.get(inboxId));
  countTimers.set(inboxId, setTimeout(() => refreshCount(inboxId), 300));
}
