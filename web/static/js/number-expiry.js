// Admins only: the inbox header's "expires on DATE" when the open inbox's number is inside its
// release warning (no text in or out for months; DESIGN.md, "Rules the seeds set").
import { api } from "./api.js";
import { $ } from "./dom.js";

export async function showNumberExpiry(inboxId) {
  const line = $("number-expiry");
  if (!line) return; // not an admin
  line.hidden = true;
  if (inboxId === null) return;
  const found = await api("GET", `/api/v1/phone-numbers?inbox_id=${inboxId}`);
  const number = found.items[0];
  if (!number?.expiring) return;
  const day = new Date(number.expires_at).toLocaleDateString([], { year: "numeric", month: "short", day: "numeric" });
  line.textContent = `${number.phone_number} expires on ${day}: it is released if nothing is texted in or out before then.`;
  line.hidden = false;
}
