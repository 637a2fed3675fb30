"""Lock and presence events: each decision made in Redis (`presence/`) is appended to the event
log and announced on the bus, like every other change (README.md, "Locks").

A lock decision is one script in Redis; the caller is answered right after it, and its
`lock.acquired`/`lock.released` event is queued and written afterwards (`server/lock_events.py`),
so the lock round trip never waits for the store's writer. Two decisions on one conversation
may so get event ids in the other order than Redis made them: each carries the conversation's
lock `version` (the fencing sequence), and clients ignore one older than what they show."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.eventlog import append_event
from inbox.models import EventRecord, Team, User
from presence.errors import (
    ConversationLockedError,
    Holder,
    LockNotHeldError,
    PresenceError,
)
from presence.locks import Claim, IdlePrompt, Lock, Released
from presence.status import PresenceState
from server.errors import ApiError
from server.state import Services

logger = logging.getLogger(__name__)


def holder_of(user: User) -> Holder:
    assert user.id is not None
    return Holder(user.id, user.name, "bot" if user.role == "bot" else "user")


def iso_ms(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def lock_view(lock: Lock, *, board: bool = False) -> dict[str, Any]:
    """`lock.acquired` data; the supervisor board adds `since` and `idle_prompt_pending`."""
    view: dict[str, Any] = {
        "conversation_id": lock.conversation_id,
        "holder": lock.holder.view(),
        "expires_at": iso_ms(lock.expires_at_ms),
        "version": lock.token,
    }
    if board:
        view["since"] = iso_ms(lock.since_ms)
        view["idle_prompt_pending"] = lock.prompt_release_at_ms > 0
    return view


def presence_view(state: PresenceState) -> dict[str, Any]:
    return {"user": state.user.view(), "status": state.status, "viewing": state.viewing}


@contextmanager
def presence_errors() -> Iterator[None]:
    """PresenceError -> ApiError, which REST and the socket both know how to answer."""
    try:
        yield
    except ConversationLockedError as exc:
        holder = exc.holder.view() if exc.holder else None
        who = exc.holder.name if exc.holder else "someone else"
        raise ApiError(
            409, "locked", f"{who} is replying to this conversation", holder=holder
        ) from exc
    except LockNotHeldError as exc:
        raise ApiError(409, "not_holder", str(exc)) from exc
    except PresenceError as exc:
        raise ApiError(503, "unavailable", str(exc)) from exc


async def lock_team(session: AsyncSession, team_id: int) -> None:
    """Take the team row's lock (a no-op clause on SQLite, whose BEGIN IMMEDIATE holds it all):
    fenced sends and presence announcements of a team are serialised around it."""
    await session.execute(select(col(Team.id)).where(col(Team.id) == team_id).with_for_update())


def released_data(released: Released) -> dict[str, Any]:
    return {
        "conversation_id": released.conversation_id,
        "holder": released.holder.view(),
        "reason": released.reason,
        "version": released.version,
    }


async def claim_events(session: AsyncSession, claim: Claim) -> list[EventRecord]:
    """A send's claim, inside its write transaction: a lapsed holder's release, then the new
    hold (the send is fenced in that transaction, so its events are written there too)."""
    records = []
    if claim.lapsed is not None:
        lapsed = claim.lapsed
        records.append(
            await append_event(
                session,
                lapsed.team_id,
                "lock.released",
                released_data(lapsed),
                inbox_id=lapsed.inbox_id,
            )
        )
    if claim.fresh:
        lock = claim.lock
        records.append(
            await append_event(
                session, lock.team_id, "lock.acquired", lock_view(lock), inbox_id=lock.inbox_id
            )
        )
    return records


def queue_released(svc: Services, released: Released) -> None:
    svc.lock_events.add(
        released.team_id, "lock.released", released_data(released), released.inbox_id
    )


def queue_claim(svc: Services, claim: Claim) -> None:
    """Queue the events of a successful acquire (written after the caller's answer)."""
    if claim.lapsed is not None:
        queue_released(svc, claim.lapsed)
    if claim.fresh:
        lock = claim.lock
        svc.lock_events.add(lock.team_id, "lock.acquired", lock_view(lock), lock.inbox_id)


Decided = Callable[[Any], None]


def _ignore(_: Any) -> None:
    return None


async def acquire(
    svc: Services,
    who: Holder,
    conversation_id: int,
    team_id: int,
    inbox_id: int,
    decided: Decided = _ignore,
) -> Lock:
    """Take or extend the lock: one script in Redis. `decided` is called with the lock as soon
    as Redis has decided; the events are queued and written after (`server/lock_events.py`)."""
    with presence_errors():
        claim = await svc.locks.acquire(conversation_id, team_id, inbox_id, who)
    decided(claim.lock)
    queue_claim(svc, claim)
    return claim.lock


async def release(
    svc: Services,
    team_id: int,
    conversation_id: int,
    user_id: int | None,
    reason: str,
    decided: Decided = _ignore,
) -> Released | None:
    """Release `user_id`'s lock (or anyone's, with None); the event is queued."""
    with presence_errors():
        released = await svc.locks.release(conversation_id, team_id, user_id, reason)
    decided(released)
    if released is not None:
        queue_released(svc, released)
    return released


async def release_all(svc: Services, team_id: int, user_id: int, reason: str) -> None:
    """Release every lock the user holds (their last connection closed)."""
    for conversation_id in await svc.locks.held_by(user_id):
        try:
            await release(svc, team_id, conversation_id, user_id, reason)
        except ApiError as exc:
            if exc.code != "not_holder":  # someone took it over meanwhile: nothing to do
                raise


async def sweep_locks(svc: Services) -> None:
    """Send due idle prompts and release lapsed locks; one sweep of one process."""
    for team_id, conversation_id in await svc.locks.due():
        outcome = await svc.locks.sweep(team_id, conversation_id)
        if isinstance(outcome, Released):
            queue_released(svc, outcome)
        elif isinstance(outcome, IdlePrompt):
            data = {"conversation_id": conversation_id, "release_at": iso_ms(outcome.release_at_ms)}
            async with svc.db.write() as session:
                record = await append_event(
                    session, team_id, "lock.idle_prompt", data, user_id=outcome.holder.id
                )
            await svc.announce(record)


async def publish_presence(svc: Services, team_id: int, user_id: int) -> None:
    """Announce the user's presence as Redis holds it now. Reading it under the team lock (not
    passing the state that changed) keeps two processes' near-simultaneous changes in order."""
    async with svc.db.write() as session:
        await lock_team(session, team_id)
        state = await svc.presence.current(user_id)
        record = None
        if state is not None:
            record = await append_event(session, team_id, "presence.changed", presence_view(state))
    await svc.announce(record)
