// The sandbox's phone simulator: the customer's side of the conversation.
import { api } from "./api.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 1000;

function render(items) {
  $("sim-messages").replaceChildren(...items.map((m) => {
    const li = document.createElement("li");
    li.className = m.direction === "inbound" ? "from-phone" : "to-phone";
    li.textContent = m.body;
    li.title = `${m.direction === "inbound" ? "to" : "from"} ${m.inbox_number} · ${m.created_at}`;
    return li;
  }));
}

async function refresh() {
  const phone = $("sim-from").value.trim();
  if (!phone) return;
  try {
    render((await api("GET", `/simulator/messages?phone=${encodeURIComponent(phone)}`)).items);
  } catch (error) {
    $("sim-error").textContent = error.message;
  }
}

$("sim-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("sim-error").textContent = "";
  try {
    await api("POST", "/simulator/messages", { from: $("sim-from").value, to: $("sim-to").value, body: $("sim-body").value });
    $("sim-body").value = "";
    await refresh();
  } catch (error) {
    $("sim-error").textContent = error.message;
  }
});
$("sim-from").addEventListener("change", refresh);
refresh();
setInterval(refresh, POLL_MS);
