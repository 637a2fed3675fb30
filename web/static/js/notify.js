// New texts and mentions while the tab is hidden: a "(3) Switchboard" title badge and a browser
// notification (permission asked once, on the first click, as browsers require a user gesture).
const BASE_TITLE = document.title;
const ASKED_KEY = "switchboard.notifications.asked";
let unseen = 0;

function renderTitle() {
  document.title = unseen ? `(${unseen}) ${BASE_TITLE}` : BASE_TITLE;
}

function notify(title, message) {
  if (!document.hidden) return;
  unseen += 1;
  renderTitle();
  if ("Notification" in window && Notification.permission === "granted") {
    try {
      const n = new Notification(title, { body: message.body, tag: `conversation-${message.conversation_id}` });
      n.addEventListener("click", () => {
        window.focus();
        n.close();
      });
    } catch {
      // Some mobile browsers only notify through a service worker; the title badge still counts.
    }
  }
}

export const notifyInbound = (message, label) => notify(`New text from ${label}`, message);
export const notifyMention = (message, label) =>
  notify(`${message.sender?.name || "Someone"} mentioned you (${label})`, message);

export function wireNotifications() {
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) {
      unseen = 0;
      renderTitle();
    }
  });
  const ask = () => {
    if (!("Notification" in window) || Notification.permission !== "default") return;
    if (localStorage.getItem(ASKED_KEY)) return;
    localStorage.setItem(ASKED_KEY, "1");
    Notification.requestPermission().catch(() => {});
  };
  document.addEventListener("click", ask, { once: true });
}
