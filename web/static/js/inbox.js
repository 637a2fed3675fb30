// The agent's inbox page: inboxes, conversations, thread and composer, kept live by /ws.
import { api } from "./api.js";
import { Socket } from "./socket.js";
import { segmentCount } from "./segments.js";

const $ = (id) => document.getElementById(id);
const state = { inboxId: null, conversationId: null, conversations: new Map() };

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function time(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
}

function conversationLabel(c) {
  return c.contact ? `${c.contact.name} (${c.counterparty})` : c.counterparty;
}

function renderList() {
  const list = $("conversations");
  const items = [...state.conversations.values()].sort((a, b) =>
    (b.last_message_at || "").localeCompare(a.last_message_at || ""));
  list.replaceChildren(...items.map((c) => {
    const button = el("button", { className: "conversation" + (c.unread ? " unread" : ""),
      dataset: { conversationId: c.id }, "aria-current": String(c.id === state.conversationId) },
      el("span", { className: "name" }, conversationLabel(c)),
      el("time", {}, time(c.last_message_at)),
      el("span", { className: "preview" }, c.preview || ""));
    button.addEventListener("click", () => openConversation(c.id));
    return el("li", {}, button);
  }));
}

async function openInbox(inboxId) {
  state.inboxId = inboxId;
  state.conversationId = null;
  for (const b of document.querySelectorAll(".inbox-link")) {
    b.setAttribute("aria-current", String(Number(b.dataset.inboxId) === inboxId));
  }
  const page = await api("GET", `/api/v1/inboxes/${inboxId}/conversations`);
  state.conversations = new Map(page.items.map((c) => [c.id, c]));
  renderList();
}

function messageItem(m) {
  const who = m.direction === "inbound" ? "Customer" : (m.automatic ? "auto-reply" : (m.sender ? m.sender.name : "Team"));
  const status = m.status === "failed" ? `failed: ${m.error_message || m.error_code || "unknown"}` : m.status;
  return el("li", { className: `message ${m.direction}`, dataset: { messageId: m.id } },
    el("div", { className: "meta" }, el("span", { className: "sender" }, who), " · ", el("time", {}, time(m.created_at)),
      m.direction === "outbound" ? el("span", { className: "status" }, ` · ${status}`) : ""),
    el("p", { className: "body" }, m.body));
}

async function openConversation(conversationId) {
  state.conversationId = conversationId;
  const c = state.conversations.get(conversationId);
  $("thread-title").textContent = c ? conversationLabel(c) : "Conversation";
  const page = await api("GET", `/api/v1/conversations/${conversationId}/messages`);
  $("messages").replaceChildren(...page.items.map(messageItem));
  $("composer").hidden = false;
  renderList();
  $("messages").lastElementChild?.scrollIntoView({ block: "end" });
}

function onEvent(event) {
  const data = event.data;
  if (event.type === "message.created") {
    const c = data.conversation;
    if (c.inbox_id === state.inboxId) {
      state.conversations.set(c.id, { ...c, preview: data.message.body });
      renderList();
    }
    if (c.id === state.conversationId && !document.querySelector(`[data-message-id="${data.message.id}"]`)) {
      $("messages").append(messageItem(data.message));
      $("messages").lastElementChild.scrollIntoView({ block: "end" });
    }
  } else if (event.type === "message.status") {
    const node = document.querySelector(`[data-message-id="${data.message.id}"]`);
    if (node) node.replaceWith(messageItem(data.message));
  }
}

function updateCounter() {
  const body = $("reply").value;
  const { segments, encoding } = segmentCount(body);
  $("counter").textContent = `${body.length}/1600 · ${segments} SMS (${encoding})`;
}

async function send(event) {
  event.preventDefault();
  const body = $("reply").value;
  if (!body.trim() || state.conversationId === null) return;
  $("composer-error").textContent = "";
  try {
    await api("POST", `/api/v1/conversations/${state.conversationId}/messages`, { body });
    $("reply").value = "";
    updateCounter();
  } catch (error) {
    $("composer-error").textContent = error.message; // the draft stays
  }
}

function start() {
  for (const b of document.querySelectorAll(".inbox-link")) {
    b.style.setProperty("--inbox-colour", b.dataset.colour);
    b.addEventListener("click", () => openInbox(Number(b.dataset.inboxId)));
  }
  $("composer").addEventListener("submit", send);
  $("reply").addEventListener("input", updateCounter);
  $("reply").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("composer").requestSubmit(); }
  });
  updateCounter();
  new Socket({
    onEvent,
    onState: (s) => { $("connection").hidden = s === "open"; },
    onResync: () => state.inboxId && openInbox(state.inboxId),
  });
  const first = document.querySelector(".inbox-link");
  if (first) openInbox(Number(first.dataset.inboxId));
}

start();
