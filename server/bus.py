"""The store's side of the socket bus (README.md, "The bus"): the event log as the hub reads it,
a logged record in the hub's form, and the writer of events decided outside a store
transaction (a lock decision in Redis), appended in batches right after the decision."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from inbox import eventlog
from inbox.db import Database
from inbox.models import EventRecord
from inbox.views import iso
from realtime.events import LoggedEvent

logger = logging.getLogger(__name__)

WRITE_ATTEMPTS = 3  # a failed batch is retried this many times in all before it is dropped
RETRY_PAUSE_SECS = 0.2
# The writer waits this long after the first queued event, so that the decisions made meanwhile
# share its transaction: a write costs about the same for one event or ten, and was the largest
# part of the server's CPU per lock operation (docs/performance.md, "Locks"). The lock round
# trip does not wait for it; other agents see "Bob is replying" this much later.
BATCH_WINDOW_SECS = 0.02


def logged(record: EventRecord) -> LoggedEvent:
    return LoggedEvent(
        team_id=record.team_id,
        id=record.id,
        type=record.type,
        inbox_id=record.inbox_id,
        user_id=record.user_id,
        ts=iso(record.created_at) or "",
        data=record.data,
    )


class LogSource:
    """The event log, as the bus reads it (realtime/hub.py, `EventSource`)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def events_after(self, team_id: int, after_id: int, limit: int) -> list[LoggedEvent]:
        async with self._db.read() as session:
            return [
                logged(r) for r in await eventlog.events_after(session, team_id, after_id, limit)
            ]

    async def last_ids(self, team_ids: Iterable[int]) -> dict[int, int]:
        async with self._db.read() as session:
            return await eventlog.last_event_ids(session, list(team_ids))


@dataclass(frozen=True)
class PendingEvent:
    team_id: int
    type: str
    data: dict[str, Any]
    inbox_id: int | None


Announce = Callable[[Sequence[EventRecord]], Awaitable[None]]
Spawn = Callable[[Coroutine[Any, Any, Any], str], None]


class DeferredEvents:
    """Events decided in Redis, written after the decision: one task per process takes
    whatever queued meanwhile and appends it in one write transaction, then announces it.

    Event ids still grow strictly per team (`append_events` bumps the team's counter), and
    hello replay reads them from the log as for any event. What no longer holds is that two
    decisions on one conversation get their ids in the order Redis made them (two processes may
    commit in the other order); lock events carry the conversation's lock `version` for that
    (presence/_lock_scripts.py), and clients drop one older than what they show
    (web/static/js/locks.js)."""

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
            self._spawn(self._drain(), "deferred-events")

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
                    logger.exception("could not announce %d deferred events", len(records))
        finally:
            self._idle.set()
            if self._pending:  # queued while the writer was stopping on an error
                self._idle.clear()
                self._spawn(self._drain(), "deferred-events")

    async def _write(self, batch: list[PendingEvent]) -> list[EventRecord]:
        by_team: dict[int, list[tuple[str, dict[str, Any], int | None]]] = {}
        for event in batch:
            by_team.setdefault(event.team_id, []).append((event.type, event.data, event.inbox_id))
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                async with self._db.write() as session:
                    records: list[EventRecord] = []
                    for team_id, events in by_team.items():
                        records += await eventlog.append_events(session, team_id, events)
                return records
            except Exception:
                if attempt == WRITE_ATTEMPTS:
                    logger.exception("dropping %d events: the store refused them", len(batch))
                    return []
                logger.warning("could not write deferred events; retrying", exc_info=True)
                await asyncio.sleep(RETRY_PAUSE_SECS * attempt)
        return []
