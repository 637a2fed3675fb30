// Mentions: notes that name this user. The sidebar counts the ones not yet seen; the Mentions
// view lists them newest first (GET /api/v1/mentions, more on scrolling down) and marks them
// seen; a new one (mention.created, to this user only) counts up, says who and where, and
// notifies while the tab is hidden.
import { api } from "./api.js";
import { $, el, report, time } from "./dom.js";
import { notifyMention } from "./notify.js";
import { emit, label, state } from "./state.js";

let next = null;
let loadSeq = 0;

function setCount(n) {
  $("mentions-count").textContent = n ? String(n) : "";
  $("mentions-count").dataset.count = String(n);
}

export async function refreshMentionCount() {
  try {
    setCount((await api("GET", "/api/v1/mentions?limit=1")).unread);
  } catch (error) {
    report("Could not count your mentions", error);
  }
}

function item({ message, conversation, read }) {
  const button = el("button", { type: "button", className: "conversation mention-item" + (read ? "" : " unread") },
    el("span", { className: "name" },
      read ? "" : el("span", { className: "dot", "aria-hidden": "true" }),
      read ? "" : el("span", { className: "visually-hidden" }, "New: "),
      `${message.sender?.name || "Someone"} · ${label(conversation)}`),
    el("time", { datetime: message.created_at }, time(message.created_at)),
    el("span", { className: "preview" }, message.body));
  button.addEventListener("click", () => emit("go", conversation));
  return el("li", {}, button);
}

function render(items, append) {
  const nodes = items.map(item);
  if (append) $("mentions").append(...nodes);
  else $("mentions").replaceChildren(...nodes);
  $("mentions-empty").hidden = $("mentions").children.length > 0;
  $("mentions-more").hidden = next === null;
}

async function load(append) {
  const seq = ++loadSeq;
  const page = await api("GET", `/api/v1/mentions${append && next ? `?cursor=${next}` : ""}`);
  if (seq !== loadSeq || state.view !== "mentions") return;
  next = page.next;
  render(page.items, append);
  if (page.unread) {
    await api("POST", "/api/v1/mentions/read");
    setCount(0);
  }
}

export function showMentions() {
  state.view = "mentions";
  $("list-title").textContent = "Mentions";
  for (const id of ["list-controls", "conversations", "list-empty", "list-more"]) $(id).hidden = true;
  $("mentions").hidden = false;
  $("mentions-link").setAttribute("aria-current", "true");
  document.getElementById("app").classList.remove("show-thread");
  return load(false).catch((error) => report("Could not load your mentions", error));
}

export function hideMentions() {
  state.view = "inbox";
  for (const id of ["list-controls", "conversations"]) $(id).hidden = false;
  for (const id of ["mentions", "mentions-empty", "mentions-more"]) $(id).hidden = true;
  $("mentions-link").setAttribute("aria-current", "false");
}

export function onMention(event) {
  const { message, conversation } = event.data;
  notifyMention(message, label(conversation));
  $("mention-toast-text").textContent = `${message.sender?.name || "Someone"} mentioned you in a note on ${label(conversation)}.`;
  $("mention-toast").hidden = false;
  $("mention-toast").dataset.conversationId = String(conversation.id);
  $("mention-toast").conversation = conversation;
  if (state.view === "mentions") {
    $("mentions").prepend(item({ message, conversation, read: false }));
    $("mentions-empty").hidden = true;
    api("POST", "/api/v1/mentions/read").catch((error) => report("Could not mark your mentions seen", error));
  } else {
    setCount(Number($("mentions-count").dataset.count || 0) + 1);
  }
}

export function wireMentions() {
  $("mentions-more").addEventListener("click", () => load(true).catch((error) => report("Could not load more mentions", error)));
  $("mentions-link").addEventListener("click", () => emit("mentions"));
  $("mention-toast-open").addEventListener("click", () => {
    $("mention-toast").hidden = true;
    emit("go", $("mention-toast").conversation);
  });
  $("mention-toast-close").addEventListener("click", () => { $("mention-toast").hidden = true; });
}
