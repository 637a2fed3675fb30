// Lock events of one conversation can reach a tab in another order than Redis decided them
// (the server acks first and writes the event after; two processes may commit in either
// order). Each lock.acquired / lock.released (and the lock in an ack) carries the
// conversation's lock `version`, which only grows; whatever is older than the version a tab
// has applied is stale and must not change what it shows.

// `applied`: conversation id -> newest version applied. Returns whether `data` (with
// `conversation_id` and maybe `version`) may be applied, and records it when so.
export function admitLock(applied, data) {
  const version = data?.version;
  if (typeof version !== "number") return true; // logged before versions existed
  const id = data.conversation_id;
  const newest = applied.get(id);
  if (newest !== undefined && version < newest) return false;
  applied.set(id, version);
  return true;
}
