"""Bulk send (DESIGN.md, "Rules the seeds set"): one individual text per recipient, never a
group text. Opted-out and read-only recipients are skipped and reported. Writes go in short
batches that yield to the event loop between them, and the texts are handed to the provider
by one background worker with bounded concurrency."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inbox import bulk, contacts, conversations, messages
from inbox.delivery import send_with_retry
from inbox.errors import InboxError, SmsError
from inbox.models import Conversation, EventRecord, Inbox, Message, User
from inbox.phones import to_e164
from inbox.providers.base import OutboundText, SendResult
from server.api import caller, json_body, path_id
from server.errors import ApiError
from server.locking import presence_errors
from server.sending import TWILIO_UNSUBSCRIBED, mark_opted_out, status_callback_url
from server.state import Services, services

# Texts stored per write transaction: each batch holds the write lock for tens of milliseconds,
# so webhooks and other sends interleave with a large bulk send.
BULK_BATCH = 100
MAX_RECIPIENTS = 10_000  # a campaign beyond this belongs to a marketing tool
# Provider calls in flight at once for one bulk send: quick, yet below Twilio's default
# concurrency limits so the team's normal replies are not queued behind it.
DELIVERY_CONCURRENCY = 8
# Delivery statuses stored per write transaction.
STATUS_BATCH = 50


@dataclass
class Recipient:
    to: str | None
    contact_id: int | None = None
    error: tuple[str, str] | None = None  # (code, message) when it cannot be sent to


async def _recipients(session: AsyncSession, user: User, body: dict[str, Any]) -> list[Recipient]:
    contact_ids, numbers = body.get("contact_ids") or [], body.get("numbers") or []
    if not isinstance(contact_ids, list) or not isinstance(numbers, list):
        raise ApiError(422, "invalid", "contact_ids and numbers are lists")
    if not contact_ids and not numbers:
        raise ApiError(422, "invalid", "give contact_ids or numbers")
    if len(contact_ids) + len(numbers) > MAX_RECIPIENTS:
        raise ApiError(422, "too_many", f"at most {MAX_RECIPIENTS} recipients at once")
    found: list[Recipient] = []
    wanted = [c for c in contact_ids if isinstance(c, int) and not isinstance(c, bool)]
    by_contact = await contacts.numbers_of(session, wanted) if wanted else {}
    known = await contacts.teams_of(session, wanted)
    for contact_id in contact_ids:
        numbers_of = by_contact.get(contact_id) if known.get(contact_id) == user.team_id else None
        if not numbers_of:
            found.append(Recipient(None, contact_id, ("not_found", "no such contact")))
        else:
            found.append(Recipient(numbers_of[0], contact_id))  # a contact's first number
    for raw in numbers:
        try:
            found.append(Recipient(to_e164(raw) if isinstance(raw, str) else to_e164("")))
        except InboxError as exc:
            found.append(Recipient(None, error=(exc.code, f"{raw!r}: {exc.message}")))
    seen: set[str] = set()
    for r in found:
        if r.to is not None and r.to in seen:
            r.error = ("duplicate", f"{r.to} is already in this send")
        elif r.to is not None:
            seen.add(r.to)
    return found


async def _skip_held(
    svc: Services, session: AsyncSession, inbox: Inbox, user: User, batch: list[Recipient]
) -> None:
    """A bulk text never lands in a conversation a teammate is replying in: those recipients
    are skipped as `locked`. (Checked per batch, not fenced per text like a reply: a bulk
    send does not claim hundreds of conversations for its sender.)"""
    numbers = [r.to for r in batch if r.error is None and r.to is not None]
    if not numbers:
        return
    rows = await session.execute(
        select(col(Conversation.id), col(Conversation.counterparty)).where(
            col(Conversation.inbox_id) == inbox.id, col(Conversation.counterparty).in_(numbers)
        )
    )
    number_of = {cid: number for cid, number in rows if cid is not None}
    if not number_of:
        return
    with presence_errors():
        held = await svc.locks.all_locks(list(number_of))
    holders = {number_of[lock.conversation_id]: lock.holder for lock in held}
    for r in batch:
        holder = holders.get(r.to or "")
        if r.error is None and holder is not None and holder.id != user.id:
            r.error = ("locked", f"{holder.name} is replying in this conversation")


async def _store_batch(
    session: AsyncSession, inbox: Inbox, user: User, body: str, batch: list[Recipient]
) -> tuple[list[dict[str, Any]], list[EventRecord], list[int]]:
    numbers = [r.to for r in batch if r.error is None and r.to is not None]
    queued, events = await bulk.queue_many(session, inbox, user, body, numbers)
    by_number = {q.number: q for q in queued}
    results, message_ids = [], []
    for r in batch:
        result: dict[str, Any] = {"to": r.to, "contact_id": r.contact_id}
        q = by_number.get(r.to or "") if r.error is None else None
        if q is not None and q.skipped is not None:
            r.error = q.skipped
        if r.error is not None:
            result |= {"status": "skipped", "error": {"code": r.error[0], "message": r.error[1]}}
        elif q is not None and q.message is not None and q.message.id is not None:
            message_ids.append(q.message.id)
            result |= {
                "status": "queued",
                "conversation_id": q.message.conversation_id,
                "message_id": q.message.id,
            }
        results.append(result)
    return results, events, message_ids


async def _deliver_all(svc: Services, message_ids: list[int], callback_base: str) -> None:
    """Hand the texts to the provider, a chunk at a time: sends run concurrently, and each
    chunk's statuses are stored in one transaction (the store, not the provider, is the cost)."""
    for start in range(0, len(message_ids), STATUS_BATCH):
        await _deliver_chunk(svc, message_ids[start : start + STATUS_BATCH], callback_base)


async def _deliver_chunk(svc: Services, message_ids: list[int], callback_base: str) -> None:
    async with svc.db.read() as session:
        rows = (
            await session.execute(
                select(col(Message.id), col(Message.body), Conversation, col(Inbox.phone_number))
                .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                .join(Inbox, col(Inbox.id) == col(Message.inbox_id))
                .where(col(Message.id).in_(message_ids))
            )
        ).all()
    jobs = [(m, body, c, number or "") for m, body, c, number in rows if m is not None]
    gate = asyncio.Semaphore(DELIVERY_CONCURRENCY)

    async def send(message_id: int, body: str, to: str, from_: str) -> SendResult | SmsError:
        text = OutboundText(to, from_, body, status_callback_url(svc, callback_base, message_id))
        async with gate:
            try:
                return await send_with_retry(
                    svc.provider, text, first_backoff_secs=svc.settings.send_backoff_secs
                )
            except SmsError as exc:
                return exc

    outcomes = await asyncio.gather(
        *(send(m, body, c.counterparty, number) for m, body, c, number in jobs)
    )
    results = [
        bulk.Outcome(m, o.status, provider_sid=o.sid)
        if isinstance(o, SendResult)
        else bulk.Outcome(
            m,
            "failed",
            error_code=o.provider_code or "provider_unreachable",
            error_message=o.message,
        )
        for (m, _, _, _), o in zip(jobs, outcomes, strict=True)
    ]
    if not jobs:
        return
    events: list[EventRecord | None] = []
    async with svc.db.write() as session:
        events += await bulk.record_outcomes(session, jobs[0][2].team_id, results)
        for (_, _, conversation, _), outcome in zip(jobs, outcomes, strict=True):
            if isinstance(outcome, SmsError) and outcome.provider_code == TWILIO_UNSUBSCRIBED:
                events.append(await mark_opted_out(session, conversation.inbox_id, conversation))
    await svc.announce(*events)


async def bulk_send(request: Request) -> JSONResponse:
    user, visible = await caller(request)
    payload = await json_body(request)
    body = messages.validate_body(payload.get("body"))
    svc = services(request)
    async with svc.db.read() as session:
        inbox = await conversations.get_inbox(session, path_id(request, "inbox_id"), visible)
        recipients = await _recipients(session, user, payload)
    results: list[dict[str, Any]] = []
    message_ids: list[int] = []
    for start in range(0, len(recipients), BULK_BATCH):
        async with svc.db.write() as session:
            inbox_now = await session.get(Inbox, inbox.id)
            assert inbox_now is not None
            batch = recipients[start : start + BULK_BATCH]
            await _skip_held(svc, session, inbox_now, user, batch)
            stored, events, ids = await _store_batch(session, inbox_now, user, body, batch)
        results += stored
        message_ids += ids
        await svc.announce(*events)
        await asyncio.sleep(0)  # let other requests and socket frames through between batches
    if message_ids:
        base = str(request.base_url)
        svc.spawn(_deliver_all(svc, message_ids, base), name=f"bulk-{message_ids[0]}")
    queued = sum(1 for r in results if r["status"] == "queued")
    return JSONResponse({"items": results, "queued": queued, "skipped": len(results) - queued})


routes = [Route("/inboxes/{inbox_id}/bulk", bulk_send, methods=["POST"])]
