// Who holds which conversation, as this page knows it (README.md, "Locks"). This module is the
// only writer of that knowledge; the composer, list, thread, inbox and board read it and hear
// of every change as the state event "locks".
//
// What the page learns can arrive in another order than Redis decided it: the server answers a
// lock command first and logs its event after, two processes may commit in either order, and a
// REST snapshot may be answered after events newer than it. Every hold and release takes the
// next number of the conversation's lock sequence (`version`, carried by lock events, acks and
// snapshots), so whatever is older than the version applied here is stale.
import { api } from "./api.js";
import { emit, state } from "./state.js";

const locks = new Map(); // conversation id -> {conversation_id, holder, expires_at, version, seenAt, ...}
const versions = new Map(); // conversation id -> newest version applied
const written = new Map(); // conversation id -> number of its latest write here (see applySnapshot)
let writes = 0;

export const lockOf = (conversationId) => locks.get(conversationId) || null;
export const allLocks = () => [...locks.values()];

export function heldByOther(conversationId) {
  const lock = lockOf(conversationId);
  return lock && lock.holder.id !== state.me.id ? lock : null;
}

function write(id, lock) {
  written.set(id, ++writes);
  if (lock) locks.set(id, lock);
  else locks.delete(id);
}

// A hold at `lock.version`. The same version again is the same hold (an ack, then its event,
// then a snapshot adding `since`): merged, but never brought back once released here.
function hold(lock) {
  const id = lock.conversation_id;
  const newest = versions.get(id);
  const known = locks.get(id);
  if (newest !== undefined && lock.version < newest) return false;
  if (lock.version === newest) {
    if (!known) return false;
    write(id, { ...known, ...lock });
    return true;
  }
  versions.set(id, lock.version);
  write(id, { seenAt: Date.now(), ...lock });
  return true;
}

function free(id, version) {
  const newest = versions.get(id);
  if (newest !== undefined && version < newest) return false;
  versions.set(id, version);
  write(id, null);
  return true;
}

// lock.acquired / lock.released; false when the event is older than what the page shows.
export function applyLockEvent(event) {
  const data = event.data;
  const applied = event.type === "lock.acquired" ? hold(data) : free(data.conversation_id, data.version);
  if (applied) emit("locks", data.conversation_id);
  return applied;
}

// The lock in an ack (lock.acquire's answer is the caller's lock).
export function applyHold(lock) {
  if (hold(lock)) emit("locks", lock.conversation_id);
}

// A refusal (`locked`) names the holder but carries no version. It is the newest word on the
// lock when it comes: the server answers the moment Redis decides, before the event of any
// later decision can be written and delivered.
export function applyRefusal(conversationId, holder) {
  const known = locks.get(conversationId);
  if (known?.holder.id === holder.id) return;
  write(conversationId, { conversation_id: conversationId, holder, seenAt: Date.now() });
  emit("locks", conversationId);
}

// This page let the lock go (its own release, a supervisor's force release, a deleted
// conversation): gone at once; the answer's `version`, when there is one, orders it.
export function applyRelease(conversationId, version = null) {
  if (version === null) write(conversationId, null);
  else if (!free(conversationId, version)) return;
  emit("locks", conversationId);
}

// Mark the moment a snapshot is asked for (before sending the request).
export const snapshotMark = () => writes;

// A snapshot of the locks of `covers` (null: every conversation) as Redis held them when it
// answered: GET /api/v1/locks, or the lock in a conversation.view answer. Listed locks apply
// by version. One that is missing was released before the snapshot was taken, unless this page
// wrote it after the request went out: that hold (or release) may be newer than the snapshot,
// and the event of any release to come will say so.
export function applySnapshot(items, mark, covers = null) {
  const listed = new Set(items.map((item) => item.conversation_id));
  for (const item of items) hold(item);
  for (const id of covers ?? [...locks.keys()]) {
    if (!listed.has(id) && (written.get(id) ?? 0) <= mark) write(id, null);
  }
  emit("locks", null);
}

export async function loadLocks() {
  const mark = snapshotMark();
  const { items } = await api("GET", "/api/v1/locks");
  applySnapshot(items, mark);
}

// lock.prompted / lock.confirmed (the board): the hold's idle prompt is pending, or was
// answered. They carry the hold's version; an older one is stale, a newer one is a hold this
// page had not heard of yet.
export function applyPromptEvent(event) {
  const data = event.data;
  const pending = event.type === "lock.prompted";
  const applied = hold({ ...data, idle_prompt_pending: pending, release_at: pending ? data.release_at : null });
  if (applied) emit("locks", data.conversation_id);
  return applied;
}
