// The page's state, shared by the list, thread and composer modules.
import { viewingId } from "./dom.js";

const app = document.getElementById("app");

export const state = {
  me: { id: Number(app.dataset.userId), name: app.dataset.userName, role: app.dataset.role },
  inboxId: null,
  conversationId: null,
  filters: { folder: "inbox", assignee: "", read: "", q: "" },
  conversations: new Map(), // id -> conversation view (+ preview)
  presence: new Map(), // user id -> {user, status, viewing}
  locks: new Map(), // conversation id -> {conversation_id, holder, expires_at}
  lockVersions: new Map(), // conversation id -> newest lock version applied (lockorder.js)
  socket: null,
};

export const current = () => state.conversations.get(state.conversationId) || null;

export function lockOf(conversationId) {
  return state.locks.get(conversationId) || null;
}

export function heldByOther(conversationId) {
  const lock = lockOf(conversationId);
  return lock && lock.holder && lock.holder.id !== state.me.id ? lock : null;
}

export function viewersOf(conversationId) {
  return [...state.presence.values()].filter(
    (p) => p.user.id !== state.me.id && p.status !== "offline" && viewingId(p.viewing) === conversationId,
  );
}

// Small event emitter so modules can react to each other without importing in circles.
const listeners = new Map();
export function on(name, fn) {
  if (!listeners.has(name)) listeners.set(name, []);
  listeners.get(name).push(fn);
}
export function emit(name, ...args) {
  for (const fn of listeners.get(name) || []) fn(...args);
}
