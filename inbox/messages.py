"""Messages: receiving inbound texts, queueing outbound ones, and their delivery status.

Each function runs inside the caller's write transaction and appends the event that describes
its change to the event log, so the change and its event commit together."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.conversations import describe, get_or_create_conversation
from inbox.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from inbox.eventlog import append_event, rowcount
from inbox.mailroom import mailroom_for_number
from inbox.models import Conversation, EventRecord, Inbox, Message, User, utcnow
from inbox.optout import is_opted_out
from inbox.phones import to_e164
from inbox.segments import MAX_BODY_CHARS, segment_count
from inbox.views import message_view, users_by_id

# Delivery statuses in the order Twilio moves through them; callbacks arrive out of order, so a
# status only ever moves to a higher rank. Final states share the top rank but for "read".
STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "receiving": 3,
    "received": 4,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "read": 5,
}


@dataclass
class Stored:
    """What a write stored: the message, its conversation, and the event to announce."""

    message: Message
    conversation: Conversation
    event: EventRecord | None  # None when nothing changed (a duplicate webhook)


async def _message_created(
    session: AsyncSession, message: Message, conversation: Conversation, sender: User | None
) -> EventRecord:
    (conversation_data,) = await describe(session, [conversation], None)
    data = {"message": message_view(message, sender), "conversation": conversation_data}
    return await append_event(
        session, message.team_id, "message.created", data, inbox_id=message.inbox_id
    )


async def receive_inbound(
    session: AsyncSession,
    *,
    to: str,
    from_: str,
    body: str,
    provider_sid: str,
    media_urls: Sequence[str] = (),
) -> Stored:
    """Store an inbound text once per `provider_sid`; route it by the `to` number."""
    to_number, from_number = to_e164(to), to_e164(from_)
    inbox = await session.scalar(select(Inbox).where(col(Inbox.phone_number) == to_number))
    if inbox is None:  # a team number no inbox has: the team's Mailroom takes it
        inbox = await mailroom_for_number(session, to_number)
    if inbox is None:
        raise NotFoundError(f"no inbox has the number {to_number}")
    conversation, _ = await get_or_create_conversation(session, inbox, from_number)
    conversation_id = _id(conversation)
    now = utcnow()
    message = Message(
        team_id=inbox.team_id,
        inbox_id=conversation.inbox_id,
        conversation_id=conversation_id,
        direction="inbound",
        body=body,
        media_urls=json.dumps(list(media_urls)),
        provider_sid=provider_sid,
        status="received",
        segments=segment_count(body)[0],
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(message)
    except IntegrityError:
        existing = await session.scalar(
            select(Message).where(col(Message.provider_sid) == provider_sid)
        )
        if existing is None:
            raise
        return Stored(existing, conversation, None)
    conversation.last_message_at = now
    conversation.last_inbound_at = now
    if conversation.status == "archived":
        conversation.status = "open"  # a customer writing again revives the conversation
        conversation.handed_off = False  # a new request: an inbox's bot may take it again
    session.add(conversation)
    await session.flush()
    return Stored(
        message, conversation, await _message_created(session, message, conversation, None)
    )


def _id(conversation: Conversation) -> int:
    if conversation.id is None:
        raise RuntimeError("Cannot store a message in a conversation that was never flushed.")
    return conversation.id


def validate_body(body: Any) -> str:
    if not isinstance(body, str) or not body.strip():
        raise InvalidInputError("body is required", "empty")
    if len(body) > MAX_BODY_CHARS:
        raise InvalidInputError(
            f"body is {len(body)} characters; at most {MAX_BODY_CHARS} fit in a text", "too_long"
        )
    return body


async def queue_outbound(
    session: AsyncSession,
    conversation: Conversation,
    sender: User | None,
    body: str,
    *,
    automatic: bool = False,
    help_answer: bool = False,
) -> Stored:
    """Store an outbound text as `queued`; the caller hands it to the SMS provider after commit.
    A `help_answer` may reach an opted-out number (carriers require HELP to be answered)."""
    body = validate_body(body)
    if conversation.read_only:
        raise ConflictError(
            "this conversation is read-only: the contact's number changed", "read_only"
        )
    conversation_id = _id(conversation)
    inbox = await session.get(Inbox, conversation.inbox_id)
    assert inbox is not None
    if inbox.registration != "registered":
        raise ForbiddenError(
            "this inbox is not registered with carriers yet and cannot send", "not_registered"
        )
    if inbox.phone_number is None:
        raise ConflictError("this inbox has no number to send from; move it first", "no_number")
    if not help_answer and await is_opted_out(session, inbox.id or 0, conversation.counterparty):
        raise ConflictError(f"{conversation.counterparty} has opted out (STOP)", "opted_out")
    now = utcnow()
    message = Message(
        team_id=conversation.team_id,
        inbox_id=conversation.inbox_id,
        conversation_id=conversation_id,
        direction="outbound",
        body=body,
        sender_id=sender.id if sender else None,
        automatic=automatic,
        status="queued",
        segments=segment_count(body)[0],
        created_at=now,
        updated_at=now,
    )
    session.add(message)
    conversation.last_message_at = now
    session.add(conversation)
    await session.flush()
    return Stored(
        message, conversation, await _message_created(session, message, conversation, sender)
    )


async def update_status(
    session: AsyncSession,
    message_id: int,
    status: str,
    *,
    provider_sid: str | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
) -> EventRecord | None:
    """Move a message's status forward (never back); return the `message.status` event, if any."""
    rank = STATUS_RANK.get(status)
    if rank is None:
        raise InvalidInputError(f"unknown message status {status!r}")
    lower = [s for s, r in STATUS_RANK.items() if r < rank]
    values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
    if error_code is not None:
        values["error_code"] = error_code
        values["error_message"] = error_message
    result = await session.execute(
        update(Message)
        .where(col(Message.id) == message_id, col(Message.status).in_(lower))
        .values(**values)
    )
    changed = rowcount(result) > 0
    if provider_sid is not None:
        # The provider's id is news too: the text has left us, even if its status is the same.
        result = await session.execute(
            update(Message)
            .where(col(Message.id) == message_id, col(Message.provider_sid).is_(None))
            .values(provider_sid=provider_sid)
        )
        changed = changed or rowcount(result) > 0
    if not changed:
        return None
    message = await session.get(Message, message_id, populate_existing=True)
    assert message is not None
    sender = (await users_by_id(session, [message.sender_id])).get(message.sender_id or 0)
    return await append_event(
        session,
        message.team_id,
        "message.status",
        {"message": message_view(message, sender)},
        inbox_id=message.inbox_id,
    )


async def message_id_by_sid(session: AsyncSession, provider_sid: str) -> int | None:
    return await session.scalar(
        select(col(Message.id)).where(col(Message.provider_sid) == provider_sid)
    )


async def list_messages(
    session: AsyncSession,
    conversation: Conversation,
    *,
    before: int | None = None,
    limit: int = 200,
) -> tuple[list[dict[str, Any]], int | None]:
    """History oldest first; `next` is the id to pass as `before` for the page before it."""
    query = select(Message).where(col(Message.conversation_id) == conversation.id)
    if before is not None:
        query = query.where(col(Message.id) < before)
    rows = list(await session.scalars(query.order_by(col(Message.id).desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = list(reversed(rows[:limit]))
    users = await users_by_id(session, (m.sender_id for m in rows))
    items = [message_view(m, users.get(m.sender_id) if m.sender_id else None) for m in rows]
    return items, (rows[0].id if more and rows else None)


async def last_bodies(session: AsyncSession, conversation_ids: Sequence[int]) -> dict[int, str]:
    """The newest message body of each conversation, for list previews."""
    if not conversation_ids:
        return {}
    newest = (
        select(func.max(col(Message.id)))
        .where(col(Message.conversation_id).in_(conversation_ids))
        .group_by(col(Message.conversation_id))
    )
    rows = await session.execute(
        select(col(Message.conversation_id), col(Message.body)).where(col(Message.id).in_(newest))
    )
    return {int(row[0]): str(row[1]) for row in rows}
