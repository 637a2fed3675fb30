"""Conversations: one per (inbox, counterparty number); listing with filters, and read state."""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox import report_days
from inbox.contacts import newest_contacts
from inbox.errors import ForbiddenError, InvalidInputError, NotFoundError
from inbox.eventlog import rowcount
from inbox.models import (
    Contact,
    Conversation,
    Inbox,
    Message,
    OptOut,
    ReadMarker,
    User,
    utcnow,
)
from inbox.tags import tagged_clause, tags_by_conversation
from inbox.views import contacts_by_id, conversation_view, matters_by_id, users_by_id

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PAGE_SIZE = 50


async def get_inbox(session: AsyncSession, inbox_id: int, visible: set[int]) -> Inbox:
    inbox = await session.get(Inbox, inbox_id)
    if inbox is None:
        raise NotFoundError(f"no inbox {inbox_id}")
    if inbox_id not in visible:
        raise ForbiddenError("you are not a member of this inbox")
    return inbox


async def get_conversation(
    session: AsyncSession, conversation_id: int, visible: set[int]
) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFoundError(f"no conversation {conversation_id}")
    if conversation.inbox_id not in visible:
        raise ForbiddenError("you are not a member of this conversation's inbox")
    return conversation


async def get_or_create_conversation(
    session: AsyncSession, inbox: Inbox, counterparty: str
) -> tuple[Conversation, bool]:
    """The conversation with `counterparty` in `inbox`; the unique constraint settles races."""
    query = select(Conversation).where(
        col(Conversation.inbox_id) == inbox.id, col(Conversation.counterparty) == counterparty
    )
    found = await session.scalar(query)
    if found is not None:
        return found, False
    assert inbox.id is not None
    contact_id = (await newest_contacts(session, inbox.team_id, [counterparty])).get(counterparty)
    conversation = Conversation(
        team_id=inbox.team_id,
        inbox_id=inbox.id,
        counterparty=counterparty,
        contact_id=contact_id,
        last_message_at=utcnow(),
    )
    try:
        async with session.begin_nested():
            session.add(conversation)
    except IntegrityError:
        found = await session.scalar(query)
        assert found is not None
        return found, False
    await _count_opened(session, [conversation])
    return conversation, True


async def _count_opened(session: AsyncSession, made: Sequence[Conversation]) -> None:
    tally = report_days.Tally()
    for conversation in made:
        tally.add(conversation.inbox_id, conversation.created_at, opened=1)
    await report_days.count(session, tally)


async def get_or_create_many(
    session: AsyncSession, inbox: Inbox, numbers: Sequence[str]
) -> dict[str, Conversation]:
    """`get_or_create_conversation` for many numbers in a handful of queries (a bulk send)."""
    assert inbox.id is not None
    found = {
        c.counterparty: c
        for c in await session.scalars(
            select(Conversation).where(
                col(Conversation.inbox_id) == inbox.id, col(Conversation.counterparty).in_(numbers)
            )
        )
    }
    missing = [n for n in numbers if n not in found]
    if not missing:
        return found
    contact_of = await newest_contacts(session, inbox.team_id, missing)
    now = utcnow()
    made = [
        Conversation(
            team_id=inbox.team_id,
            inbox_id=inbox.id,
            counterparty=n,
            contact_id=contact_of.get(n),
            last_message_at=now,
        )
        for n in missing
    ]
    try:
        async with session.begin_nested():
            session.add_all(made)
    except IntegrityError:  # another writer made some of them meanwhile: one by one then
        for n in missing:
            found[n], _ = await get_or_create_conversation(session, inbox, n)
        return found
    await _count_opened(session, made)
    return found | {c.counterparty: c for c in made}


async def ids_by_number(
    session: AsyncSession, inbox_id: int, numbers: Sequence[str]
) -> dict[int, str]:
    """The inbox's conversations with these numbers: id -> number."""
    if not numbers:
        return {}
    rows = await session.execute(
        select(col(Conversation.id), col(Conversation.counterparty)).where(
            col(Conversation.inbox_id) == inbox_id, col(Conversation.counterparty).in_(numbers)
        )
    )
    return {cid: number for cid, number in rows if cid is not None}


async def fence(session: AsyncSession, conversation_id: int, token: int) -> bool:
    """Write the lock's fencing token onto the conversation unless a newer one is there (a
    newer holder's reply is already stored): whether this token may store a reply
    (README.md, "Locks", and server/flows/sending.py)."""
    result = await session.execute(
        update(Conversation)
        .where(col(Conversation.id) == conversation_id, col(Conversation.lock_fence) <= token)
        .values(lock_fence=token)
    )
    return rowcount(result) > 0


async def start_away_period(session: AsyncSession, conversation_id: int, period: str) -> bool:
    """Record that the conversation gets the away message of `period`; False when it already
    got it (at most once per conversation per away period, decided in the store)."""
    result = await session.execute(
        update(Conversation)
        .where(
            col(Conversation.id) == conversation_id,
            or_(col(Conversation.away_period).is_(None), col(Conversation.away_period) != period),
        )
        .values(away_period=period)
    )
    return rowcount(result) > 0


def unread_clause(user_id: int) -> Any:
    read_at = (
        select(col(ReadMarker.read_at))
        .where(
            col(ReadMarker.conversation_id) == col(Conversation.id),
            col(ReadMarker.user_id) == user_id,
        )
        .scalar_subquery()
    )
    return and_(
        col(Conversation.last_inbound_at).is_not(None),
        or_(read_at.is_(None), col(Conversation.last_inbound_at) > read_at),
    )


async def is_unread(session: AsyncSession, conversation: Conversation, user_id: int) -> bool:
    if conversation.last_inbound_at is None:
        return False
    marker = await session.get(ReadMarker, (conversation.id, user_id))
    return marker is None or conversation.last_inbound_at > marker.read_at


async def describe(
    session: AsyncSession, conversations: list[Conversation], user_id: int | None
) -> list[dict[str, Any]]:
    """Public views of conversations. `unread` is the user's, or, with no user, whether the
    newest message is inbound (the shared view sent in events)."""
    contacts = await contacts_by_id(session, (c.contact_id for c in conversations))
    users = await users_by_id(session, (c.assignee_id for c in conversations))
    opted_out = await _opted_out(session, conversations)
    tags = await tags_by_conversation(session, (c.id for c in conversations))
    matters = await matters_by_id(session, (c.matter_id for c in conversations))
    views = []
    for c in conversations:
        if user_id is None:
            unread = c.last_inbound_at is not None and c.last_inbound_at == c.last_message_at
        else:
            unread = await is_unread(session, c, user_id)
        views.append(
            conversation_view(
                c,
                contacts.get(c.contact_id) if c.contact_id else None,
                users.get(c.assignee_id) if c.assignee_id else None,
                unread,
                (c.inbox_id, c.counterparty) in opted_out,
                tags.get(c.id or 0, []),
                matters.get(c.matter_id) if c.matter_id else None,
            )
        )
    return views


async def _opted_out(
    session: AsyncSession, conversations: list[Conversation]
) -> set[tuple[int, str]]:
    if not conversations:
        return set()
    rows = await session.execute(
        select(col(OptOut.inbox_id), col(OptOut.number)).where(
            col(OptOut.inbox_id).in_({c.inbox_id for c in conversations}),
            col(OptOut.number).in_({c.counterparty for c in conversations}),
        )
    )
    return {(inbox_id, number) for inbox_id, number in rows}


def _encode_cursor(conversation: Conversation) -> str:
    when = conversation.last_message_at or EPOCH
    raw = json.dumps([when.isoformat(), conversation.id])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        when, ident = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(when), int(ident)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError("cursor is not one this server gave", "invalid_cursor") from exc


async def list_conversations(
    session: AsyncSession,
    inbox: Inbox,
    user: User,
    *,
    folder: str = "inbox",
    assignee: str | None = None,
    read: str | None = None,
    q: str | None = None,
    tag: str | None = None,
    matter: str | None = None,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the inbox's conversations, newest activity first, and the next cursor."""
    assert user.id is not None
    if folder not in ("inbox", "archived"):
        raise InvalidInputError("folder must be inbox or archived")
    status = "open" if folder == "inbox" else "archived"
    activity = col(Conversation.last_message_at)
    query = select(Conversation).where(
        col(Conversation.inbox_id) == inbox.id, col(Conversation.status) == status
    )
    if assignee == "me":
        query = query.where(col(Conversation.assignee_id) == user.id)
    elif assignee == "unassigned":
        query = query.where(col(Conversation.assignee_id).is_(None))
    elif assignee:
        if not (assignee.isascii() and assignee.isdigit()) or len(assignee) > 18:
            raise InvalidInputError("assignee must be me, unassigned or a user id")
        query = query.where(col(Conversation.assignee_id) == int(assignee))
    if read == "unread":
        query = query.where(unread_clause(user.id))
    elif read == "read":
        query = query.where(~unread_clause(user.id))
    elif read:
        raise InvalidInputError("read must be read or unread")
    if tag:
        if not (tag.isascii() and tag.isdigit()) or len(tag) > 18:
            raise InvalidInputError("tag must be a tag id")
        query = query.where(tagged_clause(int(tag)))
    if matter:
        if not (matter.isascii() and matter.isdigit()) or len(matter) > 18:
            raise InvalidInputError("matter must be a matter id")
        query = query.where(col(Conversation.matter_id) == int(matter))
    if q:
        # Notes count: every member who can search may read them.
        like = f"%{q.strip()}%"
        query = query.where(
            or_(
                col(Conversation.counterparty).like(like),
                exists().where(
                    col(Contact.id) == col(Conversation.contact_id),
                    col(Contact.name).ilike(like),
                ),
                exists().where(
                    col(Message.conversation_id) == col(Conversation.id),
                    col(Message.body).ilike(like),
                ),
            )
        )
    if cursor:
        when, ident = _decode_cursor(cursor)
        query = query.where(
            or_(
                activity < when,
                and_(activity == when, col(Conversation.id) < ident),
            )
        )
    query = query.order_by(activity.desc(), col(Conversation.id).desc()).limit(limit + 1)
    rows = list(await session.scalars(query))
    page, more = rows[:limit], len(rows) > limit
    return await describe(session, page, user.id), (_encode_cursor(page[-1]) if more else None)


async def describe_ids(
    session: AsyncSession, ids: Sequence[int], visible: set[int], user_id: int | None
) -> list[dict[str, Any]]:
    """Views of the conversations with these ids that the user may see (others are left out),
    in the order asked."""
    if not ids:
        return []
    rows = await session.scalars(
        select(Conversation).where(
            col(Conversation.id).in_(ids), col(Conversation.inbox_id).in_(visible)
        )
    )
    by_id = {c.id: c for c in rows}
    return await describe(session, [by_id[i] for i in dict.fromkeys(ids) if i in by_id], user_id)


async def stop_waiting(session: AsyncSession, conversation_ids: Collection[int]) -> None:
    """Nobody is to answer these conversations now (a STOP): they wait for no one."""
    await session.execute(
        update(Conversation)
        .where(col(Conversation.id).in_(list(conversation_ids)))
        .values(waiting_since=None)
    )
