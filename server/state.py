"""What the lifespan builds and every route uses."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy import select
from sqlmodel import col
from starlette.requests import HTTPConnection
from starlette.templating import Jinja2Templates

from inbox import eventlog
from inbox.db import Database
from inbox.models import EventRecord, Team
from inbox.providers.base import SmsProvider
from inbox.views import iso
from presence.locks import LockStore, LockTimings
from presence.status import PresenceStore
from realtime.connections import ACCESS_CHANGED
from realtime.events import frame
from realtime.hub import Hub, LoggedEvent
from server.config import Settings
from server.lock_events import LockEvents

logger = logging.getLogger(__name__)


def logged(record: EventRecord) -> LoggedEvent:
    data_frame = frame(record.id, record.type, iso(record.created_at) or "", record.data)
    access = None
    if record.type == ACCESS_CHANGED:  # the bus applies it before any later event
        access = frozenset(json.loads(record.data)["inbox_ids"])
    return LoggedEvent(
        record.team_id, record.id, record.inbox_id, record.user_id, data_frame, access
    )


class StoreEvents:
    """The event log, as the bus reads it."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def events_after(self, team_id: int, after_id: int, limit: int) -> list[LoggedEvent]:
        async with self._db.read() as session:
            return [
                logged(r) for r in await eventlog.events_after(session, team_id, after_id, limit)
            ]

    async def last_ids(self, team_ids: Iterable[int]) -> dict[int, int]:
        async with self._db.read() as session:
            rows = await session.execute(
                select(col(Team.id), col(Team.last_event_id)).where(
                    col(Team.id).in_(list(team_ids))
                )
            )
            return {team: last for team, last in rows if team is not None}


@dataclass
class Services:
    settings: Settings
    db: Database
    redis: aioredis.Redis
    hub: Hub
    provider: SmsProvider
    templates: Jinja2Templates
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    @cached_property
    def locks(self) -> LockStore:
        s = self.settings
        return LockStore(self.redis, LockTimings(s.lock_ttl, s.lock_idle_after, s.lock_grace))

    @cached_property
    def lock_events(self) -> LockEvents:
        """`lock.*` events, written and announced after the lock round trip."""

        async def announce(records: Iterable[EventRecord]) -> None:
            await self.announce(*records)

        return LockEvents(self.db, announce, self.spawn)

    @cached_property
    def presence(self) -> PresenceStore:
        s = self.settings
        return PresenceStore(self.redis, s.presence_ttl, s.presence_away_after)

    async def announce(self, *records: EventRecord | None) -> None:
        await self.hub.announce([logged(r) for r in records if r is not None])

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """Run slow work after the answer; kept referenced so it is not collected mid-flight."""
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task %s failed", task.get_name(), exc_info=task.exception())


def services(conn: HTTPConnection) -> Services:
    svc: Services = conn.state.services
    return svc
