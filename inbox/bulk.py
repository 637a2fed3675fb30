"""Bulk send, stored in batches: one individual text per recipient (never a group text), each
in the recipient's own conversation, with its `message.created` event. A batch takes a handful
of queries however many recipients it holds, so a large send holds the write lock briefly."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, literal_column, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.conversations import describe, get_or_create_conversation
from inbox.errors import ConflictError, ForbiddenError
from inbox.eventlog import append_events
from inbox.messages import STATUS_RANK, validate_body
from inbox.models import ContactNumber, Conversation, EventRecord, Inbox, Message, User, utcnow
from inbox.optout import opted_out_numbers
from inbox.segments import segment_count
from inbox.views import message_view, users_by_id


@dataclass
class Queued:
    number: str
    message: Message | None = None
    conversation: Conversation | None = None
    skipped: tuple[str, str] | None = None  # (code, message)


async def _conversations(
    session: AsyncSession, inbox: Inbox, numbers: Sequence[str]
) -> dict[str, Conversation]:
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
    contact_of = dict(
        (
            await session.execute(
                select(col(ContactNumber.number), col(ContactNumber.contact_id)).where(
                    col(ContactNumber.team_id) == inbox.team_id,
                    col(ContactNumber.number).in_(missing),
                )
            )
        ).all()
    )
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
    return found | {c.counterparty: c for c in made}


async def queue_many(
    session: AsyncSession, inbox: Inbox, sender: User, body: str, numbers: Sequence[str]
) -> tuple[list[Queued], list[EventRecord]]:
    """Queue `body` to each (distinct, E.164) number; skip opted-out and read-only ones."""
    body = validate_body(body)
    assert inbox.id is not None
    if inbox.registration != "registered":
        raise ForbiddenError("this inbox is not registered with carriers yet", "not_registered")
    if inbox.phone_number is None:
        raise ConflictError("this inbox has no number to send from", "no_number")
    opted = await opted_out_numbers(session, inbox.id)
    results = [Queued(n) for n in numbers]
    for r in results:
        if r.number in opted:
            r.skipped = ("opted_out", f"{r.number} has opted out (STOP)")
    wanted = [r.number for r in results if r.skipped is None]
    conversations = await _conversations(session, inbox, wanted) if wanted else {}
    now = utcnow()
    segments = segment_count(body)[0]
    for r in results:
        if r.skipped is not None:
            continue
        r.conversation = conversations[r.number]
        if r.conversation.read_only:
            r.skipped = ("read_only", "this conversation is read-only: the number changed")
            continue
        assert r.conversation.id is not None
        r.message = Message(
            team_id=inbox.team_id,
            inbox_id=inbox.id,
            conversation_id=r.conversation.id,
            direction="outbound",
            body=body,
            sender_id=sender.id,
            status="queued",
            segments=segments,
            created_at=now,
            updated_at=now,
        )
        r.conversation.last_message_at = now
    sent = [r for r in results if r.message is not None and r.conversation is not None]
    session.add_all([r.message for r in sent if r.message is not None])
    await session.flush()
    views = await describe(session, [r.conversation for r in sent if r.conversation], None)
    events = await append_events(
        session,
        inbox.team_id,
        [
            (
                "message.created",
                {"message": message_view(r.message, sender), "conversation": v},
                inbox.id,
            )
            for r, v in zip(sent, views, strict=True)
            if r.message is not None
        ],
    )
    return results, events


@dataclass
class Outcome:
    """What the provider answered for one text of a bulk send."""

    message_id: int
    status: str  # the provider's status, or "failed"
    provider_sid: str | None = None
    error_code: str | None = None
    error_message: str | None = None


async def record_outcomes(
    session: AsyncSession, team_id: int, outcomes: Sequence[Outcome]
) -> list[EventRecord]:
    """Store many delivery outcomes in a few statements, with their `message.status` events.
    A status only moves forward (messages.STATUS_RANK), as in `messages.update_status`."""
    if not outcomes:
        return []
    table = cast(Table, Message.__table__)  # type: ignore[attr-defined]
    now = utcnow()
    with_sid = [{"mid": o.message_id, "sid": o.provider_sid} for o in outcomes if o.provider_sid]
    if with_sid:
        await session.execute(
            update(table)
            .where(table.c.id == bindparam("mid"), table.c.provider_sid.is_(None))
            .values(provider_sid=bindparam("sid"), updated_at=now),
            with_sid,
        )
    for status in {o.status for o in outcomes}:
        lower = [s for s, r in STATUS_RANK.items() if r < STATUS_RANK.get(status, 0)]
        if not lower:
            continue
        await session.execute(
            update(table)
            # Statuses are our own constants, inlined: executemany cannot expand an IN list.
            .where(
                table.c.id == bindparam("mid"),
                or_(*(table.c.status == literal_column(f"'{s}'") for s in lower)),
            )
            .values(
                status=status,
                error_code=bindparam("code"),
                error_message=bindparam("text"),
                updated_at=now,
            ),
            [
                {"mid": o.message_id, "code": o.error_code, "text": o.error_message}
                for o in outcomes
                if o.status == status
            ],
        )
    rows = list(
        await session.scalars(
            select(Message)
            .where(col(Message.id).in_([o.message_id for o in outcomes]))
            .execution_options(populate_existing=True)
        )
    )
    users = await users_by_id(session, (m.sender_id for m in rows))
    return await append_events(
        session,
        team_id,
        [
            (
                "message.status",
                {"message": message_view(m, users.get(m.sender_id or 0))},
                m.inbox_id,
            )
            for m in rows
        ],
    )
