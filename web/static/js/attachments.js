// Pictures and files (MMS): in the thread, pictures as thumbnails that open large in a dialog
// and other files as downloads; in the composer, files attached by the button or dropped on
// it, checked against Twilio's limits before upload (the server checks again), listed with a
// way to remove each, kept per conversation until sent. Only server-made URLs are ever used.
import { ApiError, UNREACHABLE } from "./api.js";
import { $, el } from "./dom.js";
import { state } from "./state.js";

// inbox/attachments.py: what Twilio sends to phones, and its 5 MB per text.
export const MAX_TEXT_BYTES = 5_000_000;
const MAX_FILES = 10;
const SENDABLE = ["image/jpeg", "image/png", "image/gif", "application/pdf", "text/vcard", "text/x-vcard", "video/mp4", "video/quicktime"];
const SENDABLE_WORDS = "JPEG, PNG or GIF pictures, PDF, vCard, MP4 or QuickTime video";

const attached = new Map(); // conversation id -> [{id, filename, size, ...}] uploaded, not sent
let uploading = 0;

const size = (bytes) => bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1e3))} KB`;

// -- in the thread ------------------------------------------------------------------------

function unavailable(a, why) {
  return el("span", { className: "media-missing", role: "note" },
    `${a.inline ? "Picture" : "File"} unavailable: ${why}`);
}

function thumbnail(a) {
  const img = el("img", { src: a.url, alt: a.filename || "Picture", loading: "lazy" });
  const button = el("button", { type: "button", className: "thumb", title: `Open ${a.filename}` }, img);
  // A picture Twilio could not hand over (timeout, outage) or no longer has: said plainly.
  img.addEventListener("error", () => button.replaceWith(
    unavailable(a, "Twilio did not hand it over. Reload the conversation to try again.")), { once: true });
  button.addEventListener("click", () => enlarge(a));
  return button;
}

export function mediaList(m) {
  const items = (m.attachments || []).map((a) => el("li", {},
    a.gone ? unavailable(a, "Twilio no longer has it.")
      : a.inline ? thumbnail(a)
        : el("a", { href: `${a.url}?download=1`, download: a.filename, className: "download" },
          `${a.filename}${a.size ? ` (${size(a.size)})` : ""}`)));
  return items.length ? el("ul", { className: "media" }, ...items) : "";
}

function enlarge(a) {
  const dialog = $("picture-dialog");
  $("picture-large").src = a.url;
  $("picture-large").alt = a.filename || "Picture";
  $("picture-name").textContent = a.filename || "Picture";
  $("picture-download").href = `${a.url}?download=1`;
  $("picture-download").download = a.filename || "";
  if (!dialog.open) dialog.showModal();
}

// -- in the composer ----------------------------------------------------------------------

export const attachedTo = (id) => attached.get(id) || [];
export const isUploading = () => uploading > 0;

export function clearAttached(id) {
  attached.delete(id);
  renderAttached();
}

function renderAttached() {
  const list = attachedTo(state.conversationId);
  $("attached").replaceChildren(...list.map((a) => el("li", {},
    a.inline ? el("img", { src: a.url, alt: "" }) : "",
    el("span", { className: "name" }, a.filename), ` ${size(a.size)} `,
    el("button", { type: "button", className: "link remove", "aria-label": `Remove ${a.filename}`, dataset: { id: a.id } }, "Remove"))));
  $("attached").hidden = list.length === 0;
  $("attach-status").textContent = uploading ? "Uploading…" : "";
}

// Why a file cannot go, before spending an upload on it (null: it may).
function refusal(file, list) {
  if (!SENDABLE.includes(file.type)) return `${file.name} cannot be sent in a text; send ${SENDABLE_WORDS}.`;
  if (list.length >= MAX_FILES) return `A text carries at most ${MAX_FILES} files.`;
  const total = list.reduce((n, a) => n + a.size, 0) + file.size;
  if (total > MAX_TEXT_BYTES) return `${file.name} does not fit: a text and its files can be at most 5 MB (Twilio's limit).`;
  return null;
}

async function upload(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  let response;
  try {
    response = await fetch("/api/v1/media", { method: "POST", body: form, credentials: "same-origin", headers: { Accept: "application/json" } });
  } catch {
    throw new ApiError(0, "unreachable", UNREACHABLE);
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = data.error || { code: `http_${response.status}`, message: response.statusText };
    throw new ApiError(response.status, error.code, error.message);
  }
  return data;
}

async function attach(files, say, changed) {
  const id = state.conversationId;
  if (id === null) return;
  for (const file of files) {
    const list = attachedTo(id);
    const why = refusal(file, list);
    if (why) {
      say(why);
      continue;
    }
    uploading += 1;
    renderAttached();
    changed();
    try {
      const done = await upload(file);
      attached.set(id, [...attachedTo(id), done]);
      say("");
    } catch (error) {
      say(`Not attached: ${error.message}`);
    } finally {
      uploading -= 1;
      renderAttached();
      changed();
    }
  }
}

// `say` shows a composer message; `changed` re-checks whether Send may be pressed.
export function wireAttachments(say, changed) {
  const input = $("attach-input");
  input.accept = SENDABLE.join(",");
  $("attach").addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    attach([...input.files], say, changed);
    input.value = "";
  });
  const form = $("composer");
  form.addEventListener("dragover", (e) => {
    if (![...e.dataTransfer.types].includes("Files") || $("attach").disabled) return;
    e.preventDefault();
    form.classList.add("dropping");
  });
  form.addEventListener("dragleave", () => form.classList.remove("dropping"));
  form.addEventListener("drop", (e) => {
    form.classList.remove("dropping");
    if (!e.dataTransfer.files.length || $("attach").disabled) return;
    e.preventDefault();
    attach([...e.dataTransfer.files], say, changed);
  });
  $("attached").addEventListener("click", (e) => {
    const button = e.target.closest("button.remove");
    if (!button) return;
    const id = state.conversationId;
    attached.set(id, attachedTo(id).filter((a) => String(a.id) !== button.dataset.id));
    renderAttached();
    changed();
  });
  $("picture-close").addEventListener("click", () => $("picture-dialog").close());
}

export { renderAttached };
