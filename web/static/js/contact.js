// The contact panel beside the thread: who this is (name, numbers, notes, editable by any
// agent; an unknown number can be named here, seed 001's "who is this"), who else has this
// number (it names the newest contact), and the contact's other conversations in the agent's
// inboxes. Open or closed is remembered per browser.
import { api } from "./api.js";
import { $, el, time } from "./dom.js";
import { current, emit, label, on } from "./state.js";

const OPEN_KEY = "switchboard.contact-panel";
let shown = null; // which conversation and contact the panel shows (keyOf)
let loadSeq = 0;

const isOpen = () => !$("contact-panel").hidden;
const keyOf = (c) => `${c.id}:${c.contact?.id ?? ""}:${c.contact?.name ?? ""}`;

function setOpen(open) {
  $("contact-panel").hidden = !open;
  $("contact-toggle").setAttribute("aria-expanded", String(open));
  try {
    localStorage.setItem(OPEN_KEY, open ? "1" : "");
  } catch {
    // not remembered
  }
  if (open) load();
}

function conversationLink(c, inboxNames) {
  const link = el("a", { href: `/conversations/${c.id}` },
    `${inboxNames.get(c.inbox_id) || "Inbox"} · ${c.counterparty}`);
  link.addEventListener("click", (e) => {
    e.preventDefault();
    emit("go", c);
  });
  return el("li", {}, link, el("span", { className: "muted" }, ` ${c.status === "archived" ? "archived · " : ""}${time(c.last_message_at)}`));
}

function inboxNames() {
  return new Map([...document.querySelectorAll(".inbox-link[data-inbox-id]")].map((b) =>
    [Number(b.dataset.inboxId), b.querySelector(".inbox-name").textContent]));
}

async function load() {
  const c = current();
  if (!c || !isOpen()) return;
  const seq = ++loadSeq;
  shown = keyOf(c);
  $("contact-result").textContent = "";
  $("contact-unknown").hidden = Boolean(c.contact);
  $("contact-also").hidden = true;
  $("contact-title").textContent = c.contact ? c.contact.name : "Unknown number";
  if (!c.contact) {
    $("contact-name").value = "";
    $("contact-numbers").value = c.counterparty;
    $("contact-notes").value = "";
    $("contact-conversations").replaceChildren();
    $("contact-none").hidden = false;
    $("contact-fields").disabled = false;
    return;
  }
  $("contact-fields").disabled = true; // nothing typed before it loads is overwritten
  try {
    const [contact, others] = await Promise.all([
      api("GET", `/api/v1/contacts/${c.contact.id}`),
      api("GET", `/api/v1/contacts/${c.contact.id}/conversations`),
    ]);
    if (seq !== loadSeq) return;
    $("contact-name").value = contact.name;
    $("contact-numbers").value = contact.numbers.join("\n");
    $("contact-notes").value = contact.notes;
    const also = contact.also.filter((a) => a.number === c.counterparty).map((a) => a.name);
    $("contact-also").textContent = `Also this number: ${also.join(", ")}`;
    $("contact-also").hidden = also.length === 0;
    const names = inboxNames();
    const rest = others.items.filter((o) => o.id !== c.id);
    $("contact-conversations").replaceChildren(...rest.map((o) => conversationLink(o, names)));
    $("contact-none").hidden = rest.length > 0;
    $("contact-fields").disabled = false;
  } catch (error) {
    if (seq === loadSeq) $("contact-result").textContent = `Could not load the contact: ${error.message}`;
  }
}

async function save(event) {
  event.preventDefault();
  const c = current();
  if (!c) return;
  const body = {
    name: $("contact-name").value,
    numbers: $("contact-numbers").value.split(/[\n,;]+/).map((n) => n.trim()).filter(Boolean),
    notes: $("contact-notes").value,
  };
  $("contact-result").textContent = "Saving…";
  try {
    if (c.contact) await api("PATCH", `/api/v1/contacts/${c.contact.id}`, body);
    else await api("POST", "/api/v1/contacts", body);
    // The conversation now shows the contact (its conversation.updated event, and this read).
    emit("conversation", await api("GET", `/api/v1/conversations/${c.id}`));
    $("contact-result").textContent = `Saved ${label(current() || c)}.`;
  } catch (error) {
    $("contact-result").textContent = `Not saved: ${error.message}`;
  }
}

// The open conversation changed (another one, or its contact): show that one's contact.
function refresh() {
  const c = current();
  if (c && isOpen() && keyOf(c) !== shown) load();
}

export function wireContact() {
  $("contact-toggle").addEventListener("click", () => setOpen(!isOpen()));
  $("contact-close").addEventListener("click", () => {
    setOpen(false);
    $("contact-toggle").focus();
  });
  $("contact-form").addEventListener("submit", save);
  on("header", refresh); // another conversation, or its contact renamed: not while typing
  let open = false;
  try {
    open = localStorage.getItem(OPEN_KEY) === "1";
  } catch {
    // closed
  }
  $("contact-panel").hidden = !open;
  $("contact-toggle").setAttribute("aria-expanded", String(open));
}
