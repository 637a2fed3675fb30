// The first-response target (an inbox's `sla_minutes`): a conversation whose customer has waited
// longer than it is past target. Pages decide it from `waiting_since` and their own clock, so a
// flag appears the moment the target passes without any event (docs/decisions.md, "Supervisors").
export function pastTarget(conversation, inbox) {
  if (!inbox?.sla_minutes || !conversation.waiting_since || conversation.status !== "open") return false;
  return Date.now() - new Date(conversation.waiting_since).getTime() >= inbox.sla_minutes * 60_000;
}

// When `conversation` passes its target (ms from now), or null: not waiting, no target, or past.
export function msUntilTarget(conversation, inbox) {
  if (!inbox?.sla_minutes || !conversation.waiting_since || conversation.status !== "open") return null;
  const left = new Date(conversation.waiting_since).getTime() + inbox.sla_minutes * 60_000 - Date.now();
  return left > 0 ? left : null;
}
