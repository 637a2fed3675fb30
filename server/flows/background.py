"""Background loops of every process (README.md, "Locks", "Presence", "The bus" and "Sending"):
check that Redis still has its data, sweep due locks (idle prompts, releases), sweep presence
(away, gone), refresh this process's connections, send what the outbox owes (flows/outbox.py),
apply webhooks kept while the store was stalled (flows/spooling.py), checkpoint the SQLite
store's write-ahead log (inbox/db.py), prune the event log, release idle phone numbers after
warning (flows/numbers.py), poll pending carrier registrations (flows/registration.py) and send
campaigns whose time has come (flows/campaigns.py: claimed in the write that stores them).
Every process runs them; the Lua scripts make sure each change is published once, the outbox's
claims that each text is sent by one process, Redis locks that one process sweeps numbers and
checks a team's registration at a time, and the prune and the spool's applying are
idempotent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from inbox import eventlog
from inbox.db import CHECKPOINT_SECS
from inbox.models import utcnow
from server.flows import campaigns, media, numbers, presence, registration, sessions, spooling
from server.flows.locks import sweep_locks
from server.flows.outbox import OUTBOX_POLL_SECS, OutboxWorker
from server.services import Services

logger = logging.getLogger(__name__)

# How often due locks are swept: a lock released by TTL is announced at most this late (plus
# the time to write the event), well inside "about a second" after its deadline.
LOCK_SWEEP_SECS = 0.2
# Presence changes with time (away, gone) are noticed at most this late.
PRESENCE_SWEEP_SECS = 0.25
# A connection is refreshed three times per presence TTL, so one late beat never drops it.
HEARTBEATS_PER_TTL = 3
MAX_BACKOFF_SECS = 60.0
# How often each process checks that Redis still has its data (presence/epoch.py): a loss is
# repaired (connections recorded again, vanished locks announced) at most this late.
EPOCH_CHECK_SECS = 1.0
# Prune about ten times per retention period: the log then holds at most 10% more than it
# must. Bounded so a test's tiny retention does not spin, and a week's is still hourly.
MIN_PRUNE_EVERY_SECS = 0.5
MAX_PRUNE_EVERY_SECS = 3600.0
# How long a stopping process gives the outbox's batch in flight to be recorded.
OUTBOX_DRAIN_SECS = 5.0

Step = Callable[[], Awaitable[float | None]]


def cancel_requested() -> bool:
    """Whether this task was asked to stop. redis-py can swallow a CancelledError that lands
    mid-command; a loop that checks this still stops instead of running on forever."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def run_every(
    interval_secs: float, step: Step, name: str, wake: asyncio.Event | None = None
) -> None:
    """Run `step` every `interval_secs`, or sooner when it returns how long until it has work
    again, or when `wake` is set."""
    backoff = 1.0
    while not cancel_requested():
        try:
            if wake is not None:
                wake.clear()  # before the step: a wake during it means another step
            wait = await step()
            backoff = 1.0
            await _pause(interval_secs if wait is None else min(wait, interval_secs), wake)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s failed; retrying in %.0f s", name, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECS)


async def _pause(secs: float, wake: asyncio.Event | None) -> None:
    if secs <= 0:
        return
    if wake is None:
        await asyncio.sleep(secs)
        return
    try:
        async with asyncio.timeout(secs):
            await wake.wait()
    except TimeoutError:
        pass


def prune_every_secs(retention_days: float) -> float:
    period = retention_days * 86400 / 10
    return min(MAX_PRUNE_EVERY_SECS, max(MIN_PRUNE_EVERY_SECS, period))


async def prune_events(svc: Services) -> None:
    """Delete events older than the retention: a client asking for them is told to resync."""
    days = svc.settings.event_retention_days
    async with svc.db.write() as session:
        removed = await eventlog.prune_events(session, utcnow() - timedelta(days=days))
    if removed:
        logger.info("pruned %d events older than %g days", removed, days)


@dataclass
class Loops:
    tasks: list[asyncio.Task[None]]
    outbox: OutboxWorker


def start(svc: Services) -> Loops:
    heartbeat_secs = svc.settings.presence_ttl_secs / HEARTBEATS_PER_TTL
    worker = OutboxWorker(svc)
    loops: list[tuple[float, Step, str]] = [
        (EPOCH_CHECK_SECS, lambda: presence.check_epoch(svc), "redis epoch check"),
        (LOCK_SWEEP_SECS, lambda: sweep_locks(svc), "lock sweep"),
        (PRESENCE_SWEEP_SECS, lambda: presence.sweep(svc), "presence sweep"),
        (heartbeat_secs, lambda: presence.heartbeat(svc), "presence heartbeat"),
        (CHECKPOINT_SECS, svc.db.checkpoint, "store checkpoint"),
        (
            prune_every_secs(svc.settings.event_retention_days),
            lambda: prune_events(svc),
            "event pruning",
        ),
        (spooling.APPLY_EVERY_SECS, lambda: spooling.apply_kept(svc), "kept webhooks"),
        (media.UNSENT_SWEEP_SECS, lambda: media.drop_unsent(svc), "unsent uploads"),
    ]
    loops += [
        (sessions.SESSION_SWEEP_SECS, lambda: sessions.sweep(svc), "session sweep"),
        (
            prune_every_secs(svc.settings.session_idle_days),
            lambda: sessions.prune(svc),
            "session pruning",
        ),
    ]
    loops += [
        (numbers.sweep_every_secs(svc), lambda: numbers.sweep_idle(svc), "idle number sweep"),
        (svc.settings.registration_poll_secs, lambda: registration.poll(svc), "registration"),
        (campaigns.CAMPAIGN_SWEEP_SECS, lambda: campaigns.send_due(svc), "campaign scheduler"),
    ]
    tasks = [asyncio.create_task(run_every(*loop), name=loop[2]) for loop in loops]
    tasks.append(asyncio.create_task(svc.sockets.listen(), name="socket-close listener"))
    outbox = run_every(OUTBOX_POLL_SECS, worker.step, "outbox", wake=svc.owed)
    tasks.append(asyncio.create_task(outbox, name="outbox"))
    return Loops(tasks, worker)


async def stop(loops: Loops) -> None:
    await loops.outbox.drain(OUTBOX_DRAIN_SECS)
    for task in loops.tasks:
        task.cancel()
    await asyncio.gather(*loops.tasks, return_exceptions=True)
