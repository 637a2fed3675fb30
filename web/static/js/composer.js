// The composer and its conversation lock (DESIGN.md, "WebSocket"): focusing claims the lock,
// typing extends it, someone else's lock disables it, the idle prompt asks before release.
// It writes replies (texts) or private notes (never sent; no lock needed), keeps a draft of
// each per conversation across reloads, says when a text is too long instead of cutting it,
// and offers canned responses (`/`) and, in a note, teammates to mention (`@`).
import { api, UNREACHABLE } from "./api.js";
import { attachedTo, clearAttached, isUploading, renderAttached, wireAttachments } from "./attachments.js";
import { fillCanned, matchingCanned } from "./canned.js";
import { $, firstName, report } from "./dom.js";
import { loadDraft, saveDraft } from "./drafts.js";
import { applyHold, applyLockEvent, applyRefusal, applyRelease, heldByOther, lockOf } from "./locks.js";
import { segmentCount } from "./segments.js";
import { current, emit, label, on, state } from "./state.js";
import { closeSuggestions, wireSuggestions } from "./suggest.js";
import { newestShownId } from "./thread.js";

const ACTIVITY_EVERY_MS = 5000; // lock.activity at most this often while typing
const LIMITS = { reply: 1600, note: 10000 }; // inbox/segments.py, inbox/notes.py
const PLACEHOLDERS = {
  reply: "Write a reply… (Enter sends, Shift+Enter for a new line, / for canned responses)",
  note: "Write a private note for your team… (@username tells a teammate)",
};
const REASONS = {
  locked: "Someone else is replying to this conversation.",
  opted_out: "This number has opted out (STOP); it can't be texted until it sends START.",
  too_long: "Too long: a text can be at most 1600 characters.",
  quota_exhausted: "This month's outgoing allowance is used up; an admin can raise it. Your draft is kept.",
  too_large: "Too large: a text and its files can be at most 5 MB (Twilio's limit). Remove a file.",
  invalid_attachment: "An attached file was already sent or has expired; remove it and attach it again.",
  unreachable: `${UNREACHABLE}. Your draft is kept: send it again once the connection is back.`,
};
const LOST = {
  idle: "You were idle, so your claim on this conversation was released. Your draft is kept.",
  expired: "Your claim on this conversation expired. Your draft is kept.",
  forced: "A supervisor released your claim on this conversation. Your draft is kept.",
  disconnected: "Your connection dropped and your claim was released. Your draft is kept.",
  lost: "The server lost your claim on this conversation (it restarted). Your draft is kept.",
};

let mode = "reply"; // or "note"
let lastActivity = 0;
let acquiring = null;
let idleTimer = null;
const members = new Map(); // inbox id -> its members, for @mentions

const reply = () => $("reply");
const iHold = (id) => lockOf(id)?.holder?.id === state.me.id;
const tooLong = () => reply().value.length > LIMITS[mode];

export function updateCounter() {
  const body = reply().value;
  const limit = LIMITS[mode];
  let text = `${body.length}/${limit}`;
  if (mode === "reply") {
    const { segments, encoding } = segmentCount(body);
    text += ` · ${segments} SMS (${encoding})`;
  }
  if (body.length > limit) {
    const over = body.length - limit;
    text += ` · too long by ${over} character${over === 1 ? "" : "s"}: shorten it to send`;
  }
  $("counter").textContent = text;
  $("counter").classList.toggle("over", body.length > limit);
  $("send").disabled = reply().disabled || body.length > limit || (mode === "reply" && isUploading());
}

// Enable or disable the composer to match the mode, the lock, opt-out, read-only state and
// the connection.
export function renderComposer() {
  const c = current();
  if (!c) return;
  const note = mode === "note";
  const other = note ? null : heldByOther(c.id);
  const blocked = !note && (c.read_only || c.opted_out);
  reply().disabled = Boolean(other) || blocked;
  let text = "";
  if (note) text = "Private note: only your team sees it. It is never sent as a text.";
  else if (other) text = `${firstName(other.holder.name)} is replying…`;
  else if (c.read_only) text = "Read-only conversation.";
  else if (c.opted_out) text = "Opted out: replies are disabled.";
  else if (!state.online) text = "Connection lost: reconnecting… Your draft is kept.";
  else if (iHold(c.id)) text = "You are replying; others see this conversation as taken.";
  $("lock-status").textContent = text;
  $("lock-status").classList.toggle("taken", Boolean(other));
  $("lock-status").classList.toggle("offline", !note && !other && !blocked && !state.online);
  $("composer").classList.toggle("note-mode", note);
  $("send").textContent = note ? "Add note" : "Send";
  $("attach").hidden = note; // a note is never sent: it carries no files
  $("attach").disabled = reply().disabled;
  renderAttached();
  reply().placeholder = PLACEHOLDERS[mode];
  for (const b of document.querySelectorAll(".composer-modes .mode")) b.setAttribute("aria-pressed", String(b.dataset.mode === mode));
  updateCounter();
}

function say(text) {
  $("composer-error").textContent = text;
}

function keepDraft() {
  if (state.conversationId !== null) saveDraft(state.conversationId, mode, reply().value);
}

export function setMode(next) {
  if (next === mode) return;
  keepDraft();
  mode = next;
  closeSuggestions();
  reply().value = state.conversationId === null ? "" : loadDraft(state.conversationId, mode);
  say("");
  renderComposer();
}

async function acquire() {
  const c = current();
  if (mode !== "reply" || !c || !state.socket || iHold(c.id) || heldByOther(c.id) || acquiring) return;
  acquiring = state.socket.command("lock.acquire", { conversation_id: c.id });
  try {
    applyHold(await acquiring);
    say("");
  } catch (error) {
    if (error.code === "locked" && error.holder) applyRefusal(c.id, error.holder);
    // A dropped socket claims again on the agent's next keystroke; the send is fenced anyway.
    else if (error.code !== "disconnected") say(`Could not claim this conversation: ${error.message}`);
  } finally {
    acquiring = null;
  }
}

// A lock that lapsed meanwhile (`not_holder`) is no failure here: its lock.released event
// tells the agent.
function lockFailed(what) {
  return (error) => {
    if (error.code !== "not_holder") report(what, error);
  };
}

function activity() {
  const c = current();
  if (!c || !state.socket || !iHold(c.id)) return;
  const now = Date.now();
  if (now - lastActivity < ACTIVITY_EVERY_MS) return;
  lastActivity = now;
  state.socket
    .command("lock.activity", { conversation_id: c.id })
    .catch(lockFailed("Could not keep your claim on this conversation"));
}

function release(conversationId) {
  if (conversationId === null || !iHold(conversationId)) return;
  applyRelease(conversationId);
  state.socket
    ?.command("lock.release", { conversation_id: conversationId })
    .then((ack) => {
      if (ack.released) applyRelease(conversationId, ack.version);
    })
    .catch(lockFailed("Could not release the conversation"));
}

function sent(c, sentMode) {
  saveDraft(c.id, sentMode, "");
  if (sentMode === "reply") clearAttached(c.id);
  if (current()?.id === c.id && mode === sentMode) {
    reply().value = "";
    updateCounter();
  }
}

async function sendNote(c, body) {
  try {
    emit("note", await api("POST", `/api/v1/conversations/${c.id}/notes`, { body }));
    sent(c, "note");
  } catch (error) {
    say(`Note not saved: ${error.message}${error.code === "unreachable" ? ". Your draft is kept." : ""}`);
  }
}

async function sendReply(c, body) {
  try {
    const data = { body };
    const files = attachedTo(c.id);
    if (files.length) data.media_ids = files.map((a) => a.id);
    const seen = newestShownId();
    if (seen !== null) data.seen_message_id = seen;
    // Both answer with `unseen_messages`; REST while the socket is down.
    const result = state.socket?.isOpen()
      ? await state.socket.command("message.send", { conversation_id: c.id, ...data })
      : await api("POST", `/api/v1/conversations/${c.id}/messages`, data);
    sent(c, "reply");
    const n = result.unseen_messages.length; // ids of texts the thread did not show yet
    if (n) say(`Sent — but ${n} new message${n === 1 ? "" : "s"} arrived while you were typing.`);
  } catch (error) {
    // The draft stays; say why. (`locked` without a holder: the fence refused, and the lock
    // has gone since.)
    if (error.code === "locked" && error.holder) {
      applyRefusal(c.id, error.holder);
      say(`Not sent: ${firstName(error.holder.name)} is replying. Your draft is kept.`);
    } else {
      say(`Not sent: ${REASONS[error.code] || error.message}`);
    }
  }
}

async function send(event) {
  event.preventDefault();
  const c = current();
  const body = reply().value;
  const files = mode === "reply" && c ? attachedTo(c.id).length : 0;
  if (!c || (!body.trim() && !files) || reply().disabled || tooLong()) return;
  if (mode === "reply" && isUploading()) return;
  say("");
  if (mode === "note") await sendNote(c, body);
  else await sendReply(c, body);
}

// lock.idle_prompt: a modal asking whether the agent is still working, counting down.
function idlePrompt(data) {
  const dialog = $("idle-dialog");
  dialog.dataset.conversationId = String(data.conversation_id);
  const deadline = new Date(data.release_at).getTime();
  const tick = () => {
    const secs = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    $("idle-countdown").textContent = `${secs} second${secs === 1 ? "" : "s"}`;
  };
  tick();
  clearInterval(idleTimer);
  idleTimer = setInterval(tick, 250);
  if (!dialog.open) dialog.showModal();
  $("idle-yes").focus();
}

// After losing a lock, only the agent's own typing or click claims it again: focus alone
// comes back when the idle dialog closes, and that is not the agent asking for it.
let claimNeedsInput = false;

function closeIdle() {
  clearInterval(idleTimer);
  if ($("idle-dialog").open) $("idle-dialog").close();
}

const writingIn = (id) =>
  id === state.conversationId && document.activeElement === reply() && reply().value.trim() !== "";

// lock.acquired, lock.released (applied by locks.js unless stale) and lock.idle_prompt.
export function onLockEvent(event) {
  const data = event.data;
  const id = data.conversation_id;
  if (event.type === "lock.idle_prompt") {
    idlePrompt(data);
    return;
  }
  if (!applyLockEvent(event) || event.type !== "lock.released") return;
  const mine = data.holder.id === state.me.id && data.reason !== "released";
  // The server lost the lock (Redis restarted), not the agent: one still writing in that
  // conversation (the composer has focus and a draft) claims it straight back.
  const reclaim = mine && data.reason === "lost" && writingIn(id);
  const lost = mine && !reclaim;
  // Before closing the prompt: closing it hands the focus back to the composer at once.
  if (lost) claimNeedsInput = true;
  if (Number($("idle-dialog").dataset.conversationId) === id) closeIdle();
  if (reclaim) acquire();
  if (!lost) return;
  const c = state.conversations.get(id);
  if (id === state.conversationId) say(LOST[data.reason] || LOST.expired);
  else if (c) say(`${LOST[data.reason] || LOST.expired} (${label(c)})`);
}

// Focus the reply box in a mode (the `r` and `n` shortcuts, a new conversation).
export function focusComposer(which = "reply") {
  if (!current() || $("composer").hidden) return;
  setMode(which);
  if (!reply().disabled) reply().focus();
}

async function inboxMembers() {
  const inboxId = current()?.inbox_id;
  if (inboxId === undefined) return [];
  if (!members.has(inboxId)) {
    members.set(inboxId, api("GET", `/api/v1/inboxes/${inboxId}/members`).then((r) => r.items)
      .catch((error) => {
        members.delete(inboxId);
        report("Could not load who belongs to this inbox", error);
        return [];
      }));
  }
  return members.get(inboxId);
}

const SUGGESTIONS = [
  {
    trigger: "/",
    enabled: () => mode === "reply",
    items: async (query) => (await matchingCanned(query).catch((error) => {
      say(`Could not load the canned responses: ${error.message}`);
      return [];
    })).map((c) => ({ label: c.name, detail: c.body, canned: c })),
    choose: async (item) => {
      const c = current();
      if (!c) return null;
      try {
        const filled = await fillCanned(item.canned.id, c.id);
        say(filled.defaults.length ? `This contact has no name yet, so ${filled.defaults.map((v) => `{{${v}}}`).join(", ")} reads “there”.` : "");
        return filled.body;
      } catch (error) {
        say(`Could not fill in “${item.canned.name}”: ${error.message}`);
        return null;
      }
    },
  },
  {
    trigger: "@",
    enabled: () => mode === "note",
    items: async (query) => {
      const q = query.toLowerCase();
      return (await inboxMembers())
        .filter((m) => m.kind === "user" && (m.username.toLowerCase().startsWith(q) || m.name.toLowerCase().includes(q)))
        .slice(0, 8)
        .map((m) => ({ label: `@${m.username}`, detail: m.name, member: m }));
    },
    choose: async (item) => `@${item.member.username} `,
  },
];

export function wireComposer() {
  const form = $("composer");
  form.addEventListener("submit", send);
  wireAttachments(say, updateCounter);
  wireSuggestions(SUGGESTIONS); // before the Enter handler below: a chosen suggestion never sends
  for (const b of document.querySelectorAll(".composer-modes .mode")) {
    b.addEventListener("click", () => focusComposer(b.dataset.mode));
  }
  reply().addEventListener("focus", () => {
    if (!claimNeedsInput) acquire();
  });
  reply().addEventListener("pointerdown", () => {
    claimNeedsInput = false;
    acquire();
  });
  reply().addEventListener("input", () => {
    updateCounter();
    keepDraft();
    if (mode !== "reply") return;
    claimNeedsInput = false;
    if (!iHold(state.conversationId)) acquire();
    else activity();
  });
  reply().addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  $("idle-yes").addEventListener("click", () => {
    const id = Number($("idle-dialog").dataset.conversationId);
    closeIdle();
    state.socket
      ?.command("lock.confirm", { conversation_id: id })
      .catch(lockFailed("Could not keep your claim on this conversation"));
    if (id === state.conversationId) reply().focus();
  });
  $("idle-no").addEventListener("click", () => {
    const id = Number($("idle-dialog").dataset.conversationId);
    claimNeedsInput = true;
    closeIdle();
    release(id);
  });
  $("idle-dialog").addEventListener("cancel", (e) => e.preventDefault()); // answer, don't dismiss
  on("leaving", (previous) => {
    release(previous);
    claimNeedsInput = false;
    mode = "reply";
    closeSuggestions();
    say("");
    reply().value = state.conversationId === null ? "" : loadDraft(state.conversationId, mode);
    renderComposer();
  });
  on("opened", renderComposer);
  on("locks", renderComposer);
  updateCounter();
}
