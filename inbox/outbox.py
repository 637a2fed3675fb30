"""The outbox in the store (README.md, "Sending"; docs/reliability.md): one row per text owed
to the provider, written in the same transaction as its message, so a text accepted is a text
owed whatever happens to the process. A worker claims due rows (`claim`: PostgreSQL's `FOR
UPDATE SKIP LOCKED`, SQLite's write lock), tries each (inbox/delivery.py) with no transaction
open, and records what came of it (`settle`). A claim runs out: a process that died holding
one leaves its texts to any other, which treats them as in doubt (the dead one may have reached
the provider) and asks the provider before sending. Functions run in the caller's
transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox import attachments
from inbox.delivery import Outcome, Schedule, Tried
from inbox.models import Conversation, Inbox, Message, Outbox

# How far our clock and the provider's may disagree when the look-up window opens at a text's
# creation: seconds in practice (NTP); a minute costs nothing, since the sids of our other
# texts with the same words are excluded anyway.
CLOCK_SKEW = timedelta(minutes=1)
UNREACHABLE = "provider_unreachable"  # the error code of a text whose attempts all failed


@dataclass(frozen=True)
class Claimed:
    """An owed text this process now holds, as the provider needs it."""

    message_id: int
    to: str
    from_: str  # "" when the inbox has no number any more
    body: str
    media_keys: tuple[str, ...]  # the media store's names of its attachments, in order
    callback_base: str | None
    conversation: Conversation
    attempt: int  # 1 for the first
    ask_first: bool  # an earlier attempt may have reached the provider
    since: datetime  # no attempt can have reached the provider before this
    exclude: frozenset[str]  # sids of our other texts with the same words in the conversation


def add(
    session: AsyncSession,
    messages: Sequence[Message],
    now: datetime,
    *,
    callback_base: str | None = None,
    bulk: bool = False,
) -> None:
    """Owe these new (flushed) messages to the provider, due at once."""
    for message in messages:
        if message.id is None:
            raise RuntimeError("Cannot owe a message that was never flushed.")
        session.add(
            Outbox(message_id=message.id, callback_base=callback_base, bulk=bulk, due_at=now)
        )


async def next_due(session: AsyncSession) -> datetime | None:
    """When the next text may be taken: its due time, or when the claim on it runs out."""
    claimed_until = col(Outbox.claimed_until)
    due = case((claimed_until > col(Outbox.due_at), claimed_until), else_=col(Outbox.due_at))
    found: datetime | None = await session.scalar(select(func.min(due)))
    return found


async def owed(session: AsyncSession) -> tuple[int, datetime | None]:
    """How many texts are owed to the provider, and when the oldest of them was written."""
    row = (
        await session.execute(
            select(func.count(), func.min(col(Message.created_at)))
            .select_from(Outbox)
            .join(Message, col(Message.id) == col(Outbox.message_id))
        )
    ).one()
    return int(row[0]), row[1]


async def claim(
    session: AsyncSession, token: str, now: datetime, claim_secs: float, limit: int
) -> list[Claimed]:
    """Take up to `limit` due texts for `token` until `now + claim_secs`, replies before bulk
    texts, oldest first. The attempt is recorded here, before any call to the provider: a
    claimed text is in doubt until its outcome is settled."""
    rows = list(
        await session.scalars(
            select(Outbox)
            .where(
                col(Outbox.due_at) <= now,
                or_(col(Outbox.claimed_until).is_(None), col(Outbox.claimed_until) < now),
            )
            .order_by(col(Outbox.bulk), col(Outbox.due_at), col(Outbox.message_id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not rows:
        return []
    asked = {row.message_id: row.in_doubt for row in rows}
    for row in rows:
        row.attempts += 1
        row.in_doubt = True
        row.claimed_by = token
        row.claimed_until = now + timedelta(seconds=claim_secs)
    await session.flush()
    found = await session.execute(
        select(Message, Conversation, col(Inbox.phone_number))
        .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
        .join(Inbox, col(Inbox.id) == col(Message.inbox_id))
        .where(col(Message.id).in_(asked))
        .order_by(col(Message.id))
    )
    texts = [(message, conversation, number) for message, conversation, number in found]
    media = await attachments.of_messages(session, asked)
    others = await _sids_of_the_same_words(session, [m for m, _, _ in texts if asked[m.id or 0]])
    by_id = {row.message_id: row for row in rows}
    return [
        Claimed(
            message_id=message.id or 0,
            to=conversation.counterparty,
            from_=number or "",
            body=message.body,
            media_keys=tuple(
                a.storage_key for a in media.get(message.id or 0, []) if a.storage_key
            ),
            callback_base=by_id[message.id or 0].callback_base,
            conversation=conversation,
            attempt=by_id[message.id or 0].attempts,
            ask_first=asked[message.id or 0],
            since=message.created_at - CLOCK_SKEW,
            exclude=frozenset(others.get((message.conversation_id, message.body), set())),
        )
        for message, conversation, number in texts
    ]


async def _sids_of_the_same_words(
    session: AsyncSession, messages: Sequence[Message]
) -> dict[tuple[int, str], set[str]]:
    """For texts about to be looked for at the provider: the sids our other texts with the same
    words in the same conversation already have (the look-up must not adopt one of those)."""
    if not messages:
        return {}
    rows = await session.execute(
        select(col(Message.conversation_id), col(Message.body), col(Message.provider_sid)).where(
            col(Message.conversation_id).in_({m.conversation_id for m in messages}),
            col(Message.direction) == "outbound",
            col(Message.provider_sid).is_not(None),
        )
    )
    sids: dict[tuple[int, str], set[str]] = {}
    for conversation_id, body, sid in rows:
        if sid is not None:
            sids.setdefault((conversation_id, body), set()).add(sid)
    return sids


async def settle(
    session: AsyncSession, token: str, tried: Sequence[Tried], now: datetime, schedule: Schedule
) -> list[Outcome]:
    """Record what the attempts came to: a text the provider has (or that failed for good, or
    ran out of attempts) leaves the outbox and its message records it; any other is due again
    after the backoff, in doubt if the provider may have it. A row another process has taken
    over meanwhile is left to it, but a sid the provider gave is recorded all the same."""
    ids = [t.message_id for t in tried]
    rows = {
        row.message_id: row
        for row in await session.scalars(
            select(Outbox).where(col(Outbox.message_id).in_(ids)).with_for_update()
        )
    }
    known = await _sids_of(session, col(Message.id).in_(ids))
    sids = {t.sent.sid for t in tried if t.sent is not None}
    holders = {
        sid: id_
        for id_, sid in (await _sids_of(session, col(Message.provider_sid).in_(sids))).items()
    }
    settled: list[Outcome] = []
    done: list[int] = []
    for t in tried:
        row = rows.get(t.message_id)
        sent = t.sent
        if sent is not None and holders.setdefault(sent.sid, t.message_id) != t.message_id:
            # The look-up found a text another of ours holds (recorded meanwhile, or found by
            # the same words' other look-up in this batch): look again, with that sid excluded.
            sent = None
            t = Tried(t.message_id, in_doubt=True)
        ours = row is not None and row.claimed_by == token
        if sent is not None:
            if known.get(t.message_id) in (None, sent.sid):
                settled.append(Outcome(t.message_id, sent.status, sent.sid))
            done.append(t.message_id)
            continue
        if row is None or not ours:
            continue  # settled by a status callback, or taken over by another process
        if known.get(t.message_id):  # a status callback named its sid meanwhile: it is out
            done.append(t.message_id)
        elif not t.started:
            row.attempts -= 1
            row.in_doubt = t.in_doubt
            row.claimed_by = row.claimed_until = None
        elif t.final or row.attempts >= schedule.attempts:
            settled.append(_failed(t))
            done.append(t.message_id)
        else:
            row.due_at = now + timedelta(seconds=schedule.wait_after(row.attempts))
            row.in_doubt = t.in_doubt
            row.claimed_by = row.claimed_until = None
            row.last_error = t.error.message if t.error is not None else None
    await forget(session, done)
    return settled


async def _sids_of(session: AsyncSession, where: Any) -> dict[int, str | None]:
    """Message id -> provider sid of the messages `where` selects."""
    rows = await session.execute(select(col(Message.id), col(Message.provider_sid)).where(where))
    return {id_: sid for id_, sid in rows if id_ is not None}


def _failed(t: Tried) -> Outcome:
    error = t.error
    message = error.message if error is not None else "the provider did not take the text"
    if t.in_doubt and not t.final:
        message += " (the provider may have taken it; it could not be confirmed)"
    code = (error.provider_code if error is not None else None) or UNREACHABLE
    return Outcome(t.message_id, "failed", error_code=code, error_message=message)


async def forget(session: AsyncSession, message_ids: Sequence[int]) -> None:
    """These texts are owed no more (the provider has them, or they failed for good)."""
    if message_ids:
        await session.execute(delete(Outbox).where(col(Outbox.message_id).in_(message_ids)))
