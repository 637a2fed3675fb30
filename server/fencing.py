"""Fenced sends (DESIGN.md, "Sends are fenced"; README.md, "Locks").

A send is stored only if, at that moment, the sender holds the conversation's lock or nobody
does (then the sender takes it). We check in Redis *inside* the send's write transaction and
then write a fencing token onto the conversation row in that same transaction:

1. The transaction first locks the team row (PostgreSQL; SQLite's BEGIN IMMEDIATE holds the
   whole database), so a team's sends are serialised around the check. (Lock commands do not
   take it: they are one script in Redis, their events written after; `server/locking.py`.)
2. The acquire script (take if free, extend if ours, refuse if another user's) returns the
   lock's fencing token. Tokens only grow per conversation (microsecond clock, kept above the
   last one handed out), so a newer holder always has a larger token.
3. `UPDATE conversation SET lock_fence = token WHERE id = ? AND lock_fence <= token` in the
   same transaction as the message insert. Once a newer holder's reply is stored, an older
   holder's token can never pass again, whatever the delays between Redis and the store.

Why not the Redis check alone: the check and the INSERT are two systems, and a process can
stall between them (GC pause, slow disk) while its lock lapses and another user takes it and
replies. Why not the fence alone: a lapsed holder who never sent would pass until the new
holder sent. Together, every stored reply was made by the holder at the time of its check, and
replies are stored in holder order. The traffic cop (unseen inbound messages) rides along."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.eventlog import rowcount
from inbox.models import Conversation, EventRecord, Message, User
from presence.errors import ConversationLockedError
from presence.locks import Claim
from server.locking import claim_events, holder_of, lock_team, presence_errors
from server.state import Services


async def claim_for_send(
    svc: Services, session: AsyncSession, user: User, conversation: Conversation
) -> tuple[Claim, list[EventRecord]]:
    """Inside the send's write transaction: hold the lock (or take it) and fence the row."""
    assert conversation.id is not None
    with presence_errors():
        await lock_team(session, conversation.team_id)
        claim = await svc.locks.acquire(
            conversation.id, conversation.team_id, conversation.inbox_id, holder_of(user)
        )
        fenced = await session.execute(
            update(Conversation)
            .where(
                col(Conversation.id) == conversation.id,
                col(Conversation.lock_fence) <= claim.lock.token,
            )
            .values(lock_fence=claim.lock.token)
        )
        if rowcount(fenced) == 0:  # a newer holder's reply is already stored
            current = await svc.locks.get(conversation.id)
            raise ConversationLockedError(conversation.id, current.holder if current else None)
    return claim, await claim_events(session, claim)


async def unseen_inbound(
    session: AsyncSession, conversation_id: int, seen_message_id: int | None
) -> Sequence[int]:
    """Inbound messages newer than what the sender was last shown (none if never shown)."""
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
