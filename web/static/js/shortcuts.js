// Keyboard shortcuts (the help desks' own): j / k next and previous conversation, r reply,
// n private note, e archive or unarchive, ? lists them. They act only when the focus is not
// in a field and no dialog is open, and never with Ctrl, Alt or Meta (the browser's own).
import { $, dialog } from "./dom.js";
import { emit } from "./state.js";

const typing = (node) => node?.closest?.("input, textarea, select, [contenteditable=true]");

export function wireShortcuts({ step, reply, note, archive }) {
  const help = dialog("shortcuts-dialog");
  $("shortcuts-open").addEventListener("click", () => help.showModal());
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.altKey || event.metaKey || event.isComposing) return;
    if (typing(event.target) || document.querySelector("dialog[open]")) return;
    const act = { j: () => step(1), k: () => step(-1), r: reply, n: note, e: archive, "?": () => help.showModal() }[event.key];
    if (!act) return;
    event.preventDefault();
    act();
    emit("shortcut", event.key);
  });
}
