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

from inbox import eventlog
from inbox.models import EventRecord, User
from presence.errors import LockNotHeldError
from presence.locks import Claim, IdlePrompt, Lock, Released
from presence.types import Holder
from realtime.events import (
    LOCK_ACQUIRED,
    LOCK_CONFIRMED,
    LOCK_RELEASED,
    LockAcquiredData,
    LockReleasedData,
)
from server.flows.events import (
    append_idle_prompt,
    append_lock_prompted,
    confirmed_data,
    lock_data,
    released_data,
)
from server.services import Services

logger = logging.getLogger(__name__)

Decided = Callable[[Any], None]
LOG_PAGE = 1000  # lock events read per query when reconciling


def _ignore(_: Any) -> None:
    return None


def holder_of(user: User) -> Holder:
    assert user.id is not None
    return Holder(user.id, user.name, "bot" if user.role == "bot" else "user")


def queue_released(svc: Services, released: Released) -> None:
    svc.lock_events.add(released.team_id, LOCK_RELEASED, released_data(released), released.inbox_id)


def queue_confirmed(
    svc: Services, lock_scope: tuple[int, int], conversation_id: int, holder: Holder,
    expires_at_ms: int, version: int,
) -> None:  # fmt: skip
    """The holder answered their idle prompt (`lock_scope`: team, inbox)."""
    team_id, inbox_id = lock_scope
    data = confirmed_data(conversation_id, holder, expires_at_ms, version)
    svc.lock_events.add(team_id, LOCK_CONFIRMED, data, inbox_id)


def queue_claim(svc: Services, claim: Claim) -> None:
    """Queue the events of a successful acquire: a lapsed holder's release, then the new hold
    (or, for the holder taking it again while prompted, that they answered)."""
    lock = claim.lock
    if claim.lapsed is not None:
        queue_released(svc, claim.lapsed)
    if claim.fresh:
        svc.lock_events.add(lock.team_id, LOCK_ACQUIRED, lock_data(lock), lock.inbox_id)
    elif claim.answered_prompt:
        scope = (lock.team_id, lock.inbox_id)
        queue_confirmed(
            svc, scope, lock.conversation_id, lock.holder, lock.expires_at_ms, lock.token
        )


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


async def reconcile_lost(svc: Services) -> int:
    """After Redis lost its data (flows/presence.py, `check_epoch`): tell everyone of every lock
    the event log shows held that Redis no longer has, as `lock.released` with reason `lost`,
    one above the hold's version (so a hold taken since, with a larger one, stays shown).
    Returns how many."""
    held = await _held_per_log(svc)
    if not held:
        return 0
    live = {lock.conversation_id: lock.token for lock in await svc.locks.all_locks(list(held))}
    lost = 0
    for conversation_id, (record, data) in held.items():
        if live.get(conversation_id) == data.version:
            continue  # Redis kept this one
        holder = Holder(data.holder.id, data.holder.name, data.holder.kind)
        version = (data.version or 0) + 1
        assert record.inbox_id is not None
        released = Released(
            conversation_id, record.team_id, record.inbox_id, holder, "lost", version
        )
        queue_released(svc, released)
        lost += 1
    if lost:
        logger.warning("Redis lost %d locks; their holders and viewers are told", lost)
    return lost


async def _held_per_log(svc: Services) -> dict[int, tuple[EventRecord, LockAcquiredData]]:
    """conversation id -> its newest lock event by version, where that is a hold."""
    newest: dict[int, tuple[int, EventRecord, LockAcquiredData | LockReleasedData]] = {}
    after = (0, 0)
    while True:
        async with svc.db.read() as session:
            page = await eventlog.events_of_types(session, (LOCK_ACQUIRED, LOCK_RELEASED), after)
        for record in page:
            model = LockAcquiredData if record.type == LOCK_ACQUIRED else LockReleasedData
            data = model.model_validate_json(record.data)
            version = data.version or 0
            known = newest.get(data.conversation_id)
            if known is None or version >= known[0]:
                newest[data.conversation_id] = (version, record, data)
        if len(page) < LOG_PAGE:
            break
        after = (page[-1].team_id, page[-1].id)
    return {
        cid: (record, data)
        for cid, (_, record, data) in newest.items()
        if isinstance(data, LockAcquiredData)
    }


async def sweep_locks(svc: Services) -> None:
    """Send due idle prompts and release lapsed locks; one sweep of one process."""
    for team_id, conversation_id in await svc.locks.due():
        outcome = await svc.locks.sweep(team_id, conversation_id)
        if isinstance(outcome, Released):
            queue_released(svc, outcome)
        elif isinstance(outcome, IdlePrompt):  # to the holder, and to the board
            async with svc.db.write() as session:
                records = [
                    await append_idle_prompt(session, outcome),
                    await append_lock_prompted(session, outcome),
                ]
            await svc.announce(*records)
