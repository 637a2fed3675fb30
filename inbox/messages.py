"""Messages: receiving inbound texts, their history, and the rules every text obeys. Functions
that write run inside the caller's write transaction; the caller appends the events that
describe the change (server/flows/events.py), so the change and its events commit together.
The outbound side (queueing sends, delivery outcomes) is `inbox/outbound.py`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.conversations import get_or_create_conversation
from inbox.errors import InvalidInputError, NotFoundError
from inbox.inboxes import inbox_by_number
from inbox.mailroom import mailroom_for_number
from inbox.models import NOTE, Conversation, Inbox, Message, utcnow
from inbox.phones import to_e164
from inbox.segments import MAX_BODY_CHARS, segment_count
from inbox.views import mentioned_by_message, message_view, users_by_id


@dataclass
class Stored:
    """What an inbound text stored: the message and its conversation."""

    message: Message
    conversation: Conversation
    created: bool  # False for a repeated MessageSid: nothing changed
    new_mailroom: Inbox | None = None  # the team's Mailroom, when this text made it
    new_conversation: bool = False  # the customer wrote first: an unsolicited text


def new_message(
    conversation: Conversation,
    direction: str,
    body: str,
    status: str,
    now: datetime,
    *,
    sender_id: int | None = None,
    automatic: bool = False,
    provider_sid: str | None = None,
    media_urls: Sequence[str] = (),
) -> Message:
    """A message row of `conversation` (the one constructor of messages, both directions)."""
    if conversation.id is None:
        raise RuntimeError("Cannot store a message in a conversation that was never flushed.")
    return Message(
        team_id=conversation.team_id,
        inbox_id=conversation.inbox_id,
        conversation_id=conversation.id,
        direction=direction,
        body=body,
        media_urls=json.dumps(list(media_urls)),
        sender_id=sender_id,
        automatic=automatic,
        provider_sid=provider_sid,
        status=status,
        segments=segment_count(body)[0],
        created_at=now,
        updated_at=now,
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
    new_mailroom = None
    inbox = await inbox_by_number(session, to_number)
    if inbox is None:  # a team number no inbox has: the team's Mailroom takes it
        inbox, made = await mailroom_for_number(session, to_number)
        new_mailroom = inbox if made else None
    if inbox is None:
        raise NotFoundError(f"no inbox has the number {to_number}")
    conversation, new = await get_or_create_conversation(session, inbox, from_number)
    now = utcnow()
    message = new_message(
        conversation,
        "inbound",
        body,
        "received",
        now,
        provider_sid=provider_sid,
        media_urls=media_urls,
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
        return Stored(existing, conversation, created=False)
    conversation.last_message_at = now
    conversation.last_inbound_at = now
    if conversation.waiting_since is None:
        conversation.waiting_since = now  # the customer waits for a person from this text on
    if conversation.status == "archived":
        conversation.status = "open"  # a customer writing again revives the conversation
        conversation.handed_off = False  # a new request: an inbox's bot may take it again
    session.add(conversation)
    await session.flush()
    return Stored(message, conversation, True, new_mailroom, new_conversation=new)


def validate_body(body: Any) -> str:
    if not isinstance(body, str) or not body.strip():
        raise InvalidInputError("body is required", "empty")
    if len(body) > MAX_BODY_CHARS:
        raise InvalidInputError(
            f"body is {len(body)} characters; at most {MAX_BODY_CHARS} fit in a text", "too_long"
        )
    return body


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
    mentions = await mentioned_by_message(session, rows)
    items = [
        message_view(
            m, users.get(m.sender_id) if m.sender_id else None, mentions.get(m.id or 0, [])
        )
        for m in rows
    ]
    return items, (rows[0].id if more and rows else None)


async def unseen_inbound(
    session: AsyncSession, conversation_id: int, seen_message_id: int | None
) -> list[int]:
    """Inbound messages newer than what a sender was last shown (none if never shown)."""
    if seen_message_id is None:
        return []
    rows = await session.scalars(
        select(col(Message.id))
        .where(
            col(Message.conversation_id) == conversation_id,
            col(Message.direction) == "inbound",
            col(Message.id) > seen_message_id,
        )
        .order_by(col(Message.id))
    )
    return [i for i in rows.all() if i is not None]


async def newest_message_id(session: AsyncSession, conversation_id: int) -> int:
    found = await session.scalar(
        select(func.max(col(Message.id))).where(col(Message.conversation_id) == conversation_id)
    )
    return int(found or 0)


async def last_bodies(session: AsyncSession, conversation_ids: Sequence[int]) -> dict[int, str]:
    """The newest text's body of each conversation, for list previews (private notes are
    not texts: they are never the preview)."""
    if not conversation_ids:
        return {}
    newest = (
        select(func.max(col(Message.id)))
        .where(col(Message.conversation_id).in_(conversation_ids), col(Message.direction) != NOTE)
        .group_by(col(Message.conversation_id))
    )
    rows = await session.execute(
        select(col(Message.conversation_id), col(Message.body)).where(col(Message.id).in_(newest))
    )
    return {int(row[0]): str(row[1]) for row in rows}


async def with_number(
    session: AsyncSession, team_id: int, number: str
) -> list[tuple[Message, str | None]]:
    """Every text of the team's conversations with `number`, oldest first, with the number
    of the inbox it went through (what that phone has sent and received: no private notes)."""
    rows = await session.execute(
        select(Message, col(Inbox.phone_number))
        .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
        .join(Inbox, col(Inbox.id) == col(Message.inbox_id))
        .where(
            col(Conversation.counterparty) == number,
            col(Message.team_id) == team_id,
            col(Message.direction) != NOTE,
        )
        .order_by(col(Message.id))
    )
    return [(m, inbox_number) for m, inbox_number in rows]
