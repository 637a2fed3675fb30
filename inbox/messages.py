"""Messages: their rows, their history, and the rules every text obeys. Functions that write
run inside the caller's write transaction; the caller appends the events that describe the
change (server/flows/events.py), so the change and its events commit together. Receiving is
`inbox/inbound.py`; the outbound side (queueing sends, delivery outcomes) `inbox/outbound.py`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox import attachments
from inbox.errors import InvalidInputError
from inbox.models import NOTE, Conversation, Inbox, Message
from inbox.segments import MAX_BODY_CHARS, segment_count
from inbox.views import mentioned_by_message, message_view, users_by_id


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
) -> Message:
    """A message of `conversation`, to add to the session."""
    if conversation.id is None:
        raise RuntimeError("Cannot store a message in a conversation that was never flushed.")
    return Message(
        **message_row(
            conversation.team_id,
            conversation.inbox_id,
            conversation.id,
            direction,
            body,
            status,
            now,
            sender_id=sender_id,
            automatic=automatic,
            provider_sid=provider_sid,
        )
    )


def message_row(
    team_id: int,
    inbox_id: int,
    conversation_id: int,
    direction: str,
    body: str,
    status: str,
    now: datetime,
    *,
    sender_id: int | None = None,
    automatic: bool = False,
    provider_sid: str | None = None,
    routed: str | None = None,
    starts_thread: bool = False,
) -> dict[str, Any]:
    """The columns of a message (the one constructor of messages, both directions: through
    `new_message` for the session, or as they are for a table insert)."""
    return {
        "team_id": team_id,
        "inbox_id": inbox_id,
        "conversation_id": conversation_id,
        "direction": direction,
        "body": body,
        "sender_id": sender_id,
        "automatic": automatic,
        "bulk": False,
        "provider_sid": provider_sid,
        "status": status,
        "error_code": None,
        "error_message": None,
        "segments": segment_count(body)[0],
        "routed": routed,
        "starts_thread": starts_thread,
        "created_at": now,
        "updated_at": now,
    }


def validate_body(body: Any, *, allow_empty: bool = False) -> str:
    """A text's words; `allow_empty` for a text that carries pictures or files."""
    if allow_empty and body in (None, ""):
        return ""
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
    media = await attachments.of_messages(session, (m.id for m in rows))
    items = [
        message_view(
            m,
            users.get(m.sender_id) if m.sender_id else None,
            mentions.get(m.id or 0, []),
            media.get(m.id or 0, []),
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
