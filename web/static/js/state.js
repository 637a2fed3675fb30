// The page's state, shared by the modules of the inbox and the board (locks: locks.js).
import { viewingId } from "./dom.js";

const page = document.getElementById("main").dataset; // base.html: the logged-in user

export const state = {
  me: { id: Number(page.userId), name: page.userName, role: page.role },
  view: "inbox", // or "mentions": what the list column shows
  inboxId: null,
  conversationId: null,
  filters: { folder: "inbox", assignee: "", read: "", q: "", tag: "", matter: "" },
  conversations: new Map(), // id -> conversation view (+ preview)
  presence: new Map(), // user id -> {user, status, viewing}
  tags: new Map(), // tag id -> {id, name, colour}: the team's list
  matters: new Map(), // matter id -> {id, name, client, status, inbox_id}: the team's list
  online: false, // the socket is connected
  socket: null,
};

export const current = () => state.conversations.get(state.conversationId) || null;

// A conversation's name in lists, notifications and the board: the contact's, else the number.
export const label = (c) => (c.contact ? c.contact.name : c.counterparty);

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
