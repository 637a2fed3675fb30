"""Private notes: message rows with direction "note" (docs/decisions.md, "Inbox features").
A note is stored and shown to the inbox's members in the thread; it is never handed to the SMS
provider, never the list's preview, and changes neither the conversation's activity time nor
anyone's read state. `@username` names a teammate: a `Mention` row, and the caller appends a
`mention.created` event to them, so they hear of it live and find it in their Mentions view."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.errors import InvalidInputError
from inbox.memberships import member_ids
from inbox.messages import new_message
from inbox.models import NOTE, Conversation, Mention, Message, User, utcnow

NOTE_STATUS = "stored"  # a note is never sent, so it has no delivery status
MAX_NOTE_CHARS = 10_000  # a long hand-over; notes are not SMS, so not 1600
# @username, not inside a word or an email address (a@b.com names nobody).
MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9_][A-Za-z0-9_.-]*)")


def validate_note(body: Any) -> str:
    if not isinstance(body, str) or not body.strip():
        raise InvalidInputError("body is required", "empty")
    if len(body) > MAX_NOTE_CHARS:
        raise InvalidInputError(
            f"a note is at most {MAX_NOTE_CHARS} characters; this one is {len(body)}", "too_long"
        )
    return body


def mentioned_usernames(body: str) -> set[str]:
    """The usernames a note names, lower-cased (a sentence's full stop is not part of one)."""
    return {m.rstrip(".-").lower() for m in MENTION.findall(body)}


async def _mentioned(session: AsyncSession, conversation: Conversation, body: str) -> list[User]:
    """Teammates the note names. An @word that is no username is plain text; a teammate who
    cannot see this inbox is refused, since they could not read the note."""
    names = mentioned_usernames(body)
    if not names:
        return []
    users = list(
        await session.scalars(
            select(User)
            .where(
                col(User.team_id) == conversation.team_id,
                func.lower(col(User.username)).in_(names),
            )
            .order_by(col(User.id))
        )
    )
    members = await member_ids(session, conversation.inbox_id)
    outside = [u for u in users if u.id not in members]
    if outside:
        who = ", ".join(f"@{u.username}" for u in outside)
        raise InvalidInputError(
            f"{who} cannot see this inbox, so they could not read the note", "not_member"
        )
    return users


async def add_note(
    session: AsyncSession, conversation: Conversation, author: User, body: Any
) -> tuple[Message, list[User]]:
    """Store a private note by `author`; return it and the teammates it mentions (the author
    naming themselves is no mention)."""
    text = validate_note(body)
    mentioned = [u for u in await _mentioned(session, conversation, text) if u.id != author.id]
    message = new_message(conversation, NOTE, text, NOTE_STATUS, utcnow(), sender_id=author.id)
    message.segments = 0
    session.add(message)
    await session.flush()
    assert message.id is not None
    session.add_all(Mention(message_id=message.id, user_id=u.id) for u in mentioned if u.id)
    await session.flush()
    return message, mentioned


async def list_mentions(
    session: AsyncSession, user_id: int, visible: set[int], before: int | None, limit: int
) -> tuple[list[tuple[Message, Conversation, bool]], int | None]:
    """The notes naming the user in inboxes they may see, newest first: (note, conversation,
    read), and the `before` of the next page."""
    query = (
        select(Message, Conversation, col(Mention.read_at))
        .join(Message, col(Message.id) == col(Mention.message_id))
        .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
        .where(col(Mention.user_id) == user_id, col(Conversation.inbox_id).in_(visible))
    )
    if before is not None:
        query = query.where(col(Mention.message_id) < before)
    rows = list(
        await session.execute(query.order_by(col(Mention.message_id).desc()).limit(limit + 1))
    )
    page = [(m, c, read_at is not None) for m, c, read_at in rows[:limit]]
    return page, (page[-1][0].id if len(rows) > limit else None)


async def unread_mentions(session: AsyncSession, user_id: int, visible: set[int]) -> int:
    found = await session.scalar(
        select(func.count())
        .select_from(Mention)
        .join(Message, col(Message.id) == col(Mention.message_id))
        .where(
            col(Mention.user_id) == user_id,
            col(Mention.read_at).is_(None),
            col(Message.inbox_id).in_(visible),
        )
    )
    return int(found or 0)


async def mark_mentions_read(session: AsyncSession, user_id: int) -> None:
    await session.execute(
        update(Mention)
        .where(and_(col(Mention.user_id) == user_id, col(Mention.read_at).is_(None)))
        .values(read_at=utcnow())
    )
