// The composer and its conversation lock (DESIGN.md, "WebSocket"): focusing claims the lock,
// typing extends it, someone else's lock disables it, the idle prompt asks before release.
import { api } from "./api.js";
import { $, firstName, report } from "./dom.js";
import { applyHold, applyLockEvent, applyRefusal, applyRelease, heldByOther, lockOf } from "./locks.js";
import { segmentCount } from "./segments.js";
import { current, label, on, state } from "./state.js";
import { newestShownId } from "./thread.js";

const ACTIVITY_EVERY_MS = 5000; // lock.activity at most this often while typing
const REASONS = {
  locked: "Someone else is replying to this conversation.",
  opted_out: "This number has opted out (STOP); it can't be texted until it sends START.",
  too_long: "Too long: a text can be at most 1600 characters.",
};
const LOST = {
  idle: "You were idle, so your claim on this conversation was released. Your draft is kept.",
  expired: "Your claim on this conversation expired. Your draft is kept.",
  forced: "A supervisor released your claim on this conversation. Your draft is kept.",
  disconnected: "Your connection dropped and your claim was released. Your draft is kept.",
  lost: "The server lost your claim on this conversation (it restarted). Your draft is kept.",
};

let lastActivity = 0;
let acquiring = null;
let idleTimer = null;
const drafts = new Map(); // conversation id -> text, so switching away keeps a draft

const reply = () => $("reply");
const iHold = (id) => lockOf(id)?.holder?.id === state.me.id;

export function updateCounter() {
  const body = reply().value;
  const { segments, encoding } = segmentCount(body);
  $("counter").textContent = `${body.length}/1600 · ${segments} SMS (${encoding})`;
}

// Enable or disable the composer to match the lock, opt-out and read-only state.
export function renderComposer() {
  const c = current();
  if (!c) return;
  const other = heldByOther(c.id);
  const blocked = c.read_only || c.opted_out;
  const disabled = Boolean(other) || blocked;
  reply().disabled = disabled;
  $("send").disabled = disabled;
  let text = "";
  if (other) text = `${firstName(other.holder.name)} is replying…`;
  else if (c.read_only) text = "Read-only conversation.";
  else if (c.opted_out) text = "Opted out: replies are disabled.";
  else if (iHold(c.id)) text = "You are replying; others see this conversation as taken.";
  $("lock-status").textContent = text;
  $("lock-status").classList.toggle("taken", Boolean(other));
}

function say(text) {
  $("composer-error").textContent = text;
}

async function acquire() {
  const c = current();
  if (!c || !state.socket || iHold(c.id) || heldByOther(c.id) || acquiring) return;
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

async function send(event) {
  event.preventDefault();
  const c = current();
  const body = reply().value;
  if (!c || !body.trim() || reply().disabled) return;
  say("");
  try {
    const data = { body };
    const seen = newestShownId();
    if (seen !== null) data.seen_message_id = seen;
    // Both answer with `unseen_messages`; REST while the socket is down.
    const result = state.socket?.isOpen()
      ? await state.socket.command("message.send", { conversation_id: c.id, ...data })
      : await api("POST", `/api/v1/conversations/${c.id}/messages`, data);
    if (current()?.id === c.id) {
      reply().value = "";
      drafts.delete(c.id);
      updateCounter();
    }
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

export function wireComposer() {
  const form = $("composer");
  form.addEventListener("submit", send);
  reply().addEventListener("focus", () => {
    if (!claimNeedsInput) acquire();
  });
  reply().addEventListener("pointerdown", () => {
    claimNeedsInput = false;
    acquire();
  });
  reply().addEventListener("input", () => {
    updateCounter();
    if (state.conversationId !== null) drafts.set(state.conversationId, reply().value);
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
    say("");
    reply().value = drafts.get(state.conversationId) || "";
    updateCounter();
    renderComposer();
  });
  on("opened", renderComposer);
  on("locks", renderComposer);
  updateCounter();
}
