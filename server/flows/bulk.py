"""Bulk send (DESIGN.md, "Rules the seeds set"): one individual text per recipient, never a
group text, through the one send path (flows/sending.py). Opted-out, read-only and held
recipients are skipped and reported. Writes go in short batches that yield to the event loop
between them; the outbox owes each text from its batch's commit, and hands bulk texts over
after any reply that is due (flows/outbox.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbox import bulk, conversations, messages, outbound
from inbox.bulk import Recipient
from inbox.models import EventRecord, Inbox, User, utcnow
from server.flows.events import append_allowance, append_messages_created
from server.services import Services

# Texts stored per write transaction: each batch holds the write lock for tens of milliseconds,
# so webhooks and other sends interleave with a large bulk send.
BULK_BATCH = 100


async def bulk_send(
    svc: Services,
    user: User,
    inbox_id: int,
    visible: set[int],
    body: Any,
    contact_ids: Any,
    numbers: Any,
    callback_base: str,
) -> list[dict[str, Any]]:
    """Queue `body` to every recipient; one result per recipient, in order."""
    body = messages.validate_body(body)
    async with svc.db.read() as session:
        inbox = await conversations.get_inbox(session, inbox_id, visible)
        recipients = await bulk.resolve_recipients(session, user.team_id, contact_ids, numbers)
    results: list[dict[str, Any]] = []
    for start in range(0, len(recipients), BULK_BATCH):
        batch = recipients[start : start + BULK_BATCH]
        async with svc.db.write() as session:
            inbox_now = await session.get(Inbox, inbox.id)
            assert inbox_now is not None
            await skip_held(svc, session, inbox_now, user, batch)
            stored, events = await store_batch(session, inbox_now, user, body, batch, callback_base)
        results += stored
        await svc.announce(*events)
        svc.owed.set()  # this batch goes out while the next one is stored
        await asyncio.sleep(0)  # let other requests and socket frames through between batches
    return results


async def skip_held(
    svc: Services, session: AsyncSession, inbox: Inbox, user: User, batch: list[Recipient]
) -> None:
    """A bulk text never lands in a conversation a teammate is replying in: those recipients
    are skipped as `locked`. (Checked per batch, not fenced per text like a reply: a bulk
    send does not claim hundreds of conversations for its sender.)"""
    assert inbox.id is not None
    numbers = [r.to for r in batch if r.error is None and r.to is not None]
    number_of = await conversations.ids_by_number(session, inbox.id, numbers)
    if not number_of:
        return
    held = await svc.locks.all_locks(list(number_of))
    holders = {number_of[lock.conversation_id]: lock.holder for lock in held}
    for r in batch:
        holder = holders.get(r.to or "")
        if r.error is None and holder is not None and holder.id != user.id:
            r.error = ("locked", f"{holder.name} is replying in this conversation")


async def store_batch(
    session: AsyncSession,
    inbox: Inbox,
    user: User,
    body: str,
    batch: list[Recipient],
    callback_base: str,
) -> tuple[list[dict[str, Any]], list[EventRecord]]:
    numbers = [r.to for r in batch if r.error is None and r.to is not None]
    queued = {
        q.number: q
        for q in await outbound.queue_to_numbers(
            session, inbox, user, body, numbers, callback_base=callback_base
        )
    }
    results = []
    for r in batch:
        result: dict[str, Any] = {"to": r.to, "contact_id": r.contact_id}
        q = queued.get(r.to or "") if r.error is None else None
        if q is not None and q.refused is not None:
            r.error = (q.refused.code, q.refused.message)
        if r.error is not None:
            result |= {"status": "skipped", "error": {"code": r.error[0], "message": r.error[1]}}
        elif q is not None and q.message is not None and q.message.id is not None:
            result |= {
                "status": "queued",
                "conversation_id": q.message.conversation_id,
                "message_id": q.message.id,
            }
        results.append(result)
    created = [
        (q.message, q.conversation)
        for q in queued.values()
        if q.message is not None and q.conversation is not None
    ]
    events = await append_messages_created(session, inbox.team_id, created, user)
    events += await append_allowance(session, inbox.team_id, utcnow())
    return results, events
