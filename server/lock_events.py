"""Lock events, written after the decision (README.md, "Locks").

Redis decides who holds a lock (one Lua script, atomic across processes) and the socket acks
right there. The `lock.*` event is queued here and written to the event log afterwards, by one
task per process that takes whatever queued meanwhile and appends it in one write transaction,
then announces it. Nothing a lock command needs waits for the store.

Event ids still grow strictly per team (`append_events` bumps the team's counter), and hello
replay reads them from the log as before. What no longer holds is that two decisions on one
conversation get their ids in the order Redis made them (two processes may commit in the other
order); the events carry the conversation's lock `version` for that (`_lock_scripts.py`) and
clients drop an event older than what they show (web/static/js/lockorder.js)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from inbox.db import Database
from inbox.eventlog import append_events
from inbox.models import EventRecord

logger = logging.getLogger(__name__)

WRITE_ATTEMPTS = 3  # a failed batch is retried this many times in all before it is dropped
RETRY_PAUSE_SECS = 0.2
# The writer waits this long after the first queued event, so that the decisions made meanwhile
# share its transaction: a write costs about the same for one event or ten, and was the largest
# part of the server's CPU per lock operation (docs/performance.md, "Locks"). The lock round
# trip does not wait for it; other agents see "Bob is replying" this much later.
BATCH_WINDOW_SECS = 0.02


@dataclass(frozen=True)
class PendingEvent:
    team_id: int
    type: str
    data: dict[str, Any]
    inbox_id: int | None


Announce = Callable[[Sequence[EventRecord]], Awaitable[None]]
Spawn = Callable[[Coroutine[Any, Any, Any], str], None]


class LockEvents:
    def __init__(self, db: Database, announce: Announce, spawn: Spawn) -> None:
        self._db = db
        self._announce = announce
        self._spawn = spawn
        self._pending: list[PendingEvent] = []
        self._idle = asyncio.Event()
        self._idle.set()

    def add(self, team_id: int, type: str, data: dict[str, Any], inbox_id: int | None) -> None:
        """Queue an event; the writer starts if it is not running."""
        self._pending.append(PendingEvent(team_id, type, data, inbox_id))
        if self._idle.is_set():
            self._idle.clear()
            self._spawn(self._drain(), "lock-events")

    async def flush(self) -> None:
        """Wait until everything queued so far is written and announced."""
        await self._idle.wait()

    async def _drain(self) -> None:
        try:
            await asyncio.sleep(BATCH_WINDOW_SECS)
            while self._pending:
                batch, self._pending = self._pending, []
                records = await self._write(batch)
                try:
                    await self._announce(records)
                except Exception:  # the bus's log check delivers them anyway
                    logger.exception("could not announce %d lock events", len(records))
        finally:
            self._idle.set()
            if self._pending:  # queued while the writer was stopping on an error
                self._idle.clear()
                self._spawn(self._drain(), "lock-events")

    async def _write(self, batch: list[PendingEvent]) -> list[EventRecord]:
        by_team: dict[int, list[tuple[str, dict[str, Any], int | None]]] = {}
        for event in batch:
            by_team.setdefault(event.team_id, []).append((event.type, event.data, event.inbox_id))
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                async with self._db.write() as session:
                    records: list[EventRecord] = []
                    for team_id, events in by_team.items():
                        records += await append_events(session, team_id, events)
                return records
            except Exception:
                if attempt == WRITE_ATTEMPTS:
                    logger.exception("dropping %d lock events: the store refused them", len(batch))
                    return []
                logger.warning("could not write lock events; retrying", exc_info=True)
                await asyncio.sleep(RETRY_PAUSE_SECS * attempt)
        return []
