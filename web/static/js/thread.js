// The open conversation: messages with live delivery status, banners, who else is here,
// and the conversation's actions (assign, archive, mark unread).
import { api } from "./api.js";
import { $, el, firstName, report, time } from "./dom.js";
import { renderList, upsert } from "./list.js";
import { applySnapshot, snapshotMark } from "./locks.js";
import { current, emit, state, viewersOf } from "./state.js";

let openSeq = 0;

function senderName(m) {
  if (m.direction === "inbound") return "Customer";
  if (m.automatic) return "auto-reply";
  return m.sender ? m.sender.name : "Team";
}

function statusText(m) {
  if (m.status !== "failed" && m.status !== "undelivered") return m.status;
  return `${m.status}: ${m.error_message || m.error_code || "no reason given"}`;
}

export function messageItem(m) {
  const failed = m.status === "failed" || m.status === "undelivered";
  const media = (m.media_urls || []).map((url, i) =>
    el("li", {}, el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, `Attachment ${i + 1}`)));
  return el(
    "li",
    { className: `message ${m.direction}${m.automatic ? " automatic" : ""}`, dataset: { messageId: m.id } },
    el("div", { className: "meta" },
      el("span", { className: "sender" }, senderName(m)), " · ",
      el("time", { datetime: m.created_at }, time(m.created_at)),
      m.direction === "outbound"
        ? el("span", { className: "status" + (failed ? " failed" : ""), dataset: { status: m.status } }, ` · ${statusText(m)}`)
        : ""),
    m.body ? el("p", { className: "body" }, m.body) : "",
    media.length ? el("ul", { className: "media" }, ...media) : "",
  );
}

export function appendMessage(m) {
  if (m.conversation_id !== state.conversationId) return;
  const list = $("messages");
  const existing = list.querySelector(`[data-message-id="${m.id}"]`);
  if (existing) {
    existing.replaceWith(messageItem(m));
    return;
  }
  // Keep id order even if a replayed event arrives after a newer one.
  const after = [...list.children].find((li) => Number(li.dataset.messageId) > m.id);
  list.insertBefore(messageItem(m), after || null);
  if (!after) list.lastElementChild.scrollIntoView({ block: "end" });
}

export function updateStatus(m) {
  const node = $("messages").querySelector(`[data-message-id="${m.id}"]`);
  if (node) node.replaceWith(messageItem(m));
}

export function renderHeader() {
  const c = current();
  $("thread-actions").hidden = !c;
  $("optout-banner").hidden = !(c && c.opted_out);
  $("readonly-banner").hidden = !(c && c.read_only);
  if (!c) return;
  $("thread-title").textContent = c.contact ? `${c.contact.name} (${c.counterparty})` : c.counterparty;
  $("assign").value = c.assignee ? String(c.assignee.id) : "";
  $("archive").textContent = c.status === "archived" ? "Unarchive" : "Archive";
  const viewers = viewersOf(c.id).map((p) => firstName(p.user.name));
  $("thread-presence").textContent = viewers.length ? `Also here: ${viewers.join(", ")}` : "";
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

export async function openConversation(conversationId) {
  const seq = ++openSeq;
  const previous = state.conversationId;
  state.conversationId = conversationId;
  emit("leaving", previous);
  document.getElementById("app").classList.add("show-thread");
  $("messages").replaceChildren();
  $("action-error").textContent = "";
  renderHeader();
  renderList();
  $("composer").hidden = false;
  viewConversation(conversationId);
  const page = await api("GET", `/api/v1/conversations/${conversationId}/messages`);
  if (seq !== openSeq) return;
  $("messages").replaceChildren(...page.items.map(messageItem));
  $("messages").lastElementChild?.scrollIntoView({ block: "end" });
  emit("opened", conversationId);
  markRead(conversationId);
}

// After a resync the log could not replay: read the open thread again, keeping the lock.
export async function reloadThread() {
  const id = state.conversationId;
  if (id === null) return;
  const page = await api("GET", `/api/v1/conversations/${id}/messages`);
  if (id !== state.conversationId) return;
  $("messages").replaceChildren(...page.items.map(messageItem));
  $("messages").lastElementChild?.scrollIntoView({ block: "end" });
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

async function act(path, body) {
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

export function wireThread() {
  $("assign").addEventListener("change", (e) =>
    act("assign", { user_id: e.target.value ? Number(e.target.value) : null }));
  $("archive").addEventListener("click", () => act(current()?.status === "archived" ? "unarchive" : "archive"));
  $("mark-unread").addEventListener("click", () => act("unread"));
  $("back").addEventListener("click", () => {
    document.getElementById("app").classList.remove("show-thread");
    document.querySelector(`.conversation[data-conversation-id="${state.conversationId}"]`)?.focus();
  });
}
