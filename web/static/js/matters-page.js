// The matters page: the team's matters, adding one, and a matter's page (/matters/{id}) with
// its conversations the user may see and its archive switch.
import { api } from "./api.js";
import { $, el, time } from "./dom.js";

const page = $("matters-page").dataset;
const shown = page.matterId ? Number(page.matterId) : null;

function fail(what, error) {
  $("matters-error").textContent = `${what}: ${error.message}`;
}

function conversationItem(c) {
  const name = c.contact ? `${c.contact.name} (${c.counterparty})` : c.counterparty;
  return el("li", {}, el("a", { href: `/conversations/${c.id}` }, name), " · ",
    el("time", { datetime: c.last_message_at || "" }, time(c.last_message_at)));
}

async function loadDetail() {
  if (shown === null) return;
  const m = await api("GET", `/api/v1/matters/${shown}`);
  $("matter-detail").hidden = false;
  $("matter-title").textContent = m.name;
  $("matter-about").textContent = `Client: ${m.client ? m.client.name : "?"} · ${m.status}`;
  $("matter-status").textContent = m.status === "active" ? "Archive" : "Make active";
  $("matter-status").onclick = async () => {
    try {
      await api("PATCH", `/api/v1/matters/${m.id}`, { status: m.status === "active" ? "archived" : "active" });
      await load();
    } catch (error) {
      fail("Could not change it", error);
    }
  };
  $("matter-conversations").replaceChildren(...m.conversations.map(conversationItem));
  $("matter-none").hidden = m.conversations.length > 0;
}

async function loadList() {
  const { items } = await api("GET", "/api/v1/matters");
  $("matters").querySelector("tbody").replaceChildren(...items.map((m) => el("tr", {},
    el("td", {}, el("a", { href: `/matters/${m.id}` }, m.name)),
    el("td", {}, m.client ? m.client.name : ""),
    el("td", {}, m.status))));
}

async function loadChoices() {
  const [contacts, inboxes] = await Promise.all([api("GET", "/api/v1/contacts?limit=200"), api("GET", "/api/v1/inboxes")]);
  $("new-matter-client").replaceChildren(...contacts.items.map((c) => el("option", { value: String(c.id) }, c.name)));
  $("new-matter-inbox").append(...inboxes.items.filter((i) => !i.mailroom).map((i) => el("option", { value: String(i.id) }, i.name)));
}

async function load() {
  $("matters-error").textContent = "";
  try {
    await Promise.all([loadList(), loadDetail()]);
  } catch (error) {
    fail("Could not load the matters", error);
  }
}

$("matter-form-new").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("matters-result").textContent = "";
  const inbox = $("new-matter-inbox").value;
  const body = { name: $("new-matter-name").value, client_id: Number($("new-matter-client").value), inbox_id: inbox ? Number(inbox) : null };
  try {
    const made = await api("POST", "/api/v1/matters", body);
    $("matters-result").textContent = `Added ${made.name}.`;
    $("new-matter-name").value = "";
    await load();
  } catch (error) {
    fail("Not added", error);
  }
});

load();
loadChoices().catch((error) => fail("Could not load the contacts and inboxes", error));
