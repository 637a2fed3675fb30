// Drafts per conversation (and per kind: reply or private note) in localStorage, so a reload,
// a crash or a closed tab keeps them. Keys carry the user's id: a shared computer's next user
// never sees them, and logging out clears them.
import { state } from "./state.js";

const PREFIX = "switchboard.draft.";
const keyOf = (conversationId, mode) => `${PREFIX}${state.me.id}.${conversationId}.${mode}`;

export function loadDraft(conversationId, mode) {
  try {
    return localStorage.getItem(keyOf(conversationId, mode)) || "";
  } catch {
    return ""; // storage refused (private mode, quota): the draft lives in the page only
  }
}

export function saveDraft(conversationId, mode, text) {
  try {
    if (text) localStorage.setItem(keyOf(conversationId, mode), text);
    else localStorage.removeItem(keyOf(conversationId, mode));
  } catch {
    // storage full or refused: the text stays in the box
  }
}

export function clearMyDrafts() {
  const mine = `${PREFIX}${state.me.id}.`;
  for (const key of Object.keys(localStorage)) if (key.startsWith(mine)) localStorage.removeItem(key);
}
