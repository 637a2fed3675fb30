// The page's address: every inbox, conversation and the Mentions view has its own URL, so a
// reload keeps what was open, back and forward move between them, and a link opens one.
//   /inboxes/{id}   /conversations/{id}   /mentions   (and "/": the first inbox)
export function currentRoute() {
  const path = location.pathname;
  let match = path.match(/^\/conversations\/(\d+)$/);
  if (match) return { view: "conversation", id: Number(match[1]) };
  match = path.match(/^\/inboxes\/(\d+)$/);
  if (match) return { view: "inbox", id: Number(match[1]) };
  if (path === "/mentions") return { view: "mentions" };
  return { view: "home" };
}

export const pathOf = (route) => ({
  conversation: `/conversations/${route.id}`,
  inbox: `/inboxes/${route.id}`,
  mentions: "/mentions",
}[route.view] || "/");

// Record where the page now is: a new history entry, unless it is already there (a reload, a
// back or forward step) or `replace` says this step should not be one of its own.
export function record(route, { replace = false } = {}) {
  const path = pathOf(route);
  if (location.pathname === path) return;
  if (replace) history.replaceState(route, "", path);
  else history.pushState(route, "", path);
}

export function onNavigate(fn) {
  window.addEventListener("popstate", () => fn(currentRoute()));
}
