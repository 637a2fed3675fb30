"""Background loops of every process (README.md, "Locks" and "Presence"): sweep due locks
(idle prompts, releases), sweep presence (away, gone), and refresh this process's connections.
Every process runs them; the Lua scripts make sure each change is published once. Each also
checkpoints the SQLite store's write-ahead log (inbox/db.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from inbox.db import CHECKPOINT_SECS
from server import online
from server.locking import sweep_locks
from server.state import Services

logger = logging.getLogger(__name__)

# How often due locks are swept: a lock released by TTL is announced at most this late (plus
# the time to write the event), well inside "about a second" after its deadline.
LOCK_SWEEP_SECS = 0.2
# Presence changes with time (away, gone) are noticed at most this late.
PRESENCE_SWEEP_SECS = 0.25
# A connection is refreshed three times per presence TTL, so one late beat never drops it.
HEARTBEATS_PER_TTL = 3
MAX_BACKOFF_SECS = 60.0


def cancel_requested() -> bool:
    """Whether this task was asked to stop. redis-py can swallow a CancelledError that lands
    mid-command; a loop that checks this still stops instead of running on forever."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def run_every(interval_secs: float, step: Callable[[], Awaitable[None]], name: str) -> None:
    backoff = 1.0
    while not cancel_requested():
        try:
            await step()
            backoff = 1.0
            await asyncio.sleep(interval_secs)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s failed; retrying in %.0f s", name, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECS)


def start(svc: Services) -> list[asyncio.Task[None]]:
    heartbeat_secs = svc.settings.presence_ttl / HEARTBEATS_PER_TTL
    loops: list[tuple[float, Callable[[], Awaitable[None]], str]] = [
        (LOCK_SWEEP_SECS, lambda: sweep_locks(svc), "lock sweep"),
        (PRESENCE_SWEEP_SECS, lambda: online.sweep(svc), "presence sweep"),
        (heartbeat_secs, lambda: online.heartbeat(svc), "presence heartbeat"),
        (CHECKPOINT_SECS, svc.db.checkpoint, "store checkpoint"),
    ]
    return [asyncio.create_task(run_every(*loop), name=loop[2]) for loop in loops]


async def stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
