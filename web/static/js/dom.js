// DOM helpers: build nodes from text only (never innerHTML with user data), format times.
export const $ = (id) => document.getElementById(id);

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "className") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined && child !== "") node.append(child);
  return node;
}

export function time(iso) {
  if (!iso) return "";
  const when = new Date(iso);
  const today = new Date().toDateString() === when.toDateString();
  return today
    ? when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : when.toLocaleDateString([], { month: "short", day: "numeric" });
}

export function duration(ms) {
  const secs = Math.max(0, Math.round(ms / 1000));
  if (secs < 60) return `${secs}s`;
  const mins = Math.floor(secs / 60);
  if (mins < 60) return `${mins}m ${secs % 60}s`;
  return `${Math.floor(mins / 60)}h ${mins % 60}m`;
}

export const firstName = (name) => (name || "Someone").split(/\s+/)[0];

export function initials(name) {
  const parts = (name || "?").split(/\s+/).filter(Boolean);
  return ((parts[0]?.[0] || "?") + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
}

// Wire the [data-close] buttons of a <dialog> and return it.
export function dialog(id) {
  const node = $(id);
  for (const b of node.querySelectorAll("[data-close]")) b.addEventListener("click", () => node.close());
  return node;
}

// The conversation id a presence item is viewing, whatever shape the server gives it.
export function viewingId(viewing) {
  if (viewing === null || viewing === undefined) return null;
  if (typeof viewing === "object") return viewing.conversation_id ?? viewing.id ?? null;
  return Number(viewing);
}

// A failure the page cannot work around, said in the page's alert line (base.html) until
// dismissed. A dropped socket is not one: the Reconnecting banner says so, and the page redoes
// what it lost once it is back.
export function report(what, error) {
  if (error.code === "disconnected") return;
  $("page-error-text").textContent = `${what}: ${error.message}`;
  $("page-error").hidden = false;
}
$("page-error-close")?.addEventListener("click", () => {
  $("page-error").hidden = true;
});
