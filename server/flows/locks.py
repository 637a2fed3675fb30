"""Lock decisions and their events (README.md, "Locks").

A lock decision is one script in Redis (`presence/locks.py`); the caller is answered right
after it, and the `lock.acquired`/`lock.released` event is queued and written afterwards
(`server/bus.py`, `DeferredEvents`), so the lock round trip never waits for the store's writer.
Two decisions on one conversation may so get event ids in the other order than Redis made
them: each carries the conversation's lock `version` (the fencing sequence), and clients
ignore one older than what they show. Sends take the lock inside their own transaction and
log its events there (flows/sending.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from inbox.models import User
from presence.errors import LockNotHeldError
from presence.locks import Claim, IdlePrompt, Lock, Released
from presence.types import Holder
from realtime.events import LOCK_ACQUIRED, LOCK_RELEASED
from server.flows.events import append_idle_prompt, lock_data, released_data
from server.services import Services

logger = logging.getLogger(__name__)

Decided = Callable[[Any], None]


def _ignore(_: Any) -> None:
    return None


def holder_of(user: User) -> Holder:
    assert user.id is not None
    return Holder(user.id, user.name, "bot" if user.role == "bot" else "user")


def queue_released(svc: Services, released: Released) -> None:
    svc.lock_events.add(released.team_id, LOCK_RELEASED, released_data(released), released.inbox_id)


def queue_claim(svc: Services, claim: Claim) -> None:
    """Queue the events of a successful acquire: a lapsed holder's release, then the new hold."""
    if claim.lapsed is not None:
        queue_released(svc, claim.lapsed)
    if claim.fresh:
        lock = claim.lock
        svc.lock_events.add(lock.team_id, LOCK_ACQUIRED, lock_data(lock), lock.inbox_id)


async def acquire(
    svc: Services,
    who: Holder,
    conversation_id: int,
    team_id: int,
    inbox_id: int,
    decided: Decided = _ignore,
) -> Lock:
    """Take or extend the lock. `decided` is called with the lock as soon as Redis has
    decided; the events are queued and written after."""
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
        except LockNotHeldError:
            pass  # someone took it over meanwhile: nothing of theirs to release


async def sweep_locks(svc: Services) -> None:
    """Send due idle prompts and release lapsed locks; one sweep of one process."""
    for team_id, conversation_id in await svc.locks.due():
        outcome = await svc.locks.sweep(team_id, conversation_id)
        if isinstance(outcome, Released):
            queue_released(svc, outcome)
        elif isinstance(outcome, IdlePrompt):
            async with svc.db.write() as session:
                record = await append_idle_prompt(session, outcome)
            await svc.announce(record)
