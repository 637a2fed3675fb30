"""What the lifespan builds (server/app.py) and every route, command and flow uses."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import redis.asyncio as aioredis
from starlette.requests import HTTPConnection
from starlette.templating import Jinja2Templates

from inbox.db import Database, head_revision
from inbox.models import EventRecord
from inbox.providers.base import SmsProvider
from presence.epoch import EpochWatch
from presence.keys import Keys
from presence.locks import LockStore
from presence.status import PresenceStore
from realtime.hub import Hub
from server.batches import Batcher
from server.bus import DeferredEvents, logged
from server.config import Settings
from server.metrics import Metrics
from server.passwords import Passwords
from server.sockets import SocketRegistry
from server.spool import SPOOL_DIR, Spool
from server.storage import make_store
from server.storage.base import MediaStore
from server.throttle import Throttle

logger = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    redis: aioredis.Redis
    hub: Hub
    provider: SmsProvider
    templates: Jinja2Templates
    metrics: Metrics = field(default_factory=lambda: Metrics(enabled=False))
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    # Set when this process queued a text: its outbox worker wakes at once (flows/outbox.py).
    owed: asyncio.Event = field(default_factory=asyncio.Event)
    # This process's batchers of writes, by the flow that made each (flows/inbound.py).
    batchers: dict[str, Batcher[Any, Any]] = field(default_factory=dict)
    # Received media being fetched from the provider now, by attachment id (flows/media.py).
    media_fetches: dict[int, asyncio.Lock] = field(default_factory=dict)

    @cached_property
    def keys(self) -> Keys:
        return Keys(self.settings.deployment_name)

    @cached_property
    def epoch(self) -> EpochWatch:
        return EpochWatch(self.redis, self.keys)

    @cached_property
    def locks(self) -> LockStore:
        return LockStore(self.redis, self.keys, self.settings.lock_timings)

    @cached_property
    def lock_events(self) -> DeferredEvents:
        """`lock.*` events, written and announced after the lock round trip."""

        async def announce(records: Iterable[EventRecord]) -> None:
            await self.announce(*records)

        return DeferredEvents(self.db, announce, self.spawn)

    @cached_property
    def spool(self) -> Spool:
        """Webhooks kept while the store could not take them."""
        return Spool(self.settings.data_dir / SPOOL_DIR)

    @cached_property
    def media(self) -> MediaStore:
        """The bytes of pictures and files (server/storage/)."""
        s = self.settings
        return make_store(
            s.data_dir,
            s3_endpoint=s.s3_endpoint,
            s3_bucket=s.s3_bucket,
            s3_access_key_id=s.s3_access_key_id,
            s3_secret_access_key=str(s.s3_secret_access_key or ""),
            s3_region=s.s3_region,
        )

    @cached_property
    def passwords(self) -> Passwords:
        """argon2 off the event loop, on a bounded pool (server/passwords.py)."""
        return Passwords()

    @cached_property
    def throttle(self) -> Throttle:
        return Throttle(self.redis, self.settings)

    @cached_property
    def sockets(self) -> SocketRegistry:
        """This process's sockets by user and credential (ending a session closes its own)."""
        return SocketRegistry(self.redis)

    @cached_property
    def presence(self) -> PresenceStore:
        s = self.settings
        return PresenceStore(self.redis, self.keys, s.presence_ttl_secs, s.presence_away_after_secs)

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


class SchemaNotReadyError(RuntimeError):
    """The store's schema is not the one this version needs, and starting should not migrate."""


async def open_database(settings: Settings) -> Database:
    """The store, its schema at the newest revision: migrated here on SQLite (or when asked,
    `--migrate`), else only checked, `switchboard migrate` having done it once for every
    process (docs/deploy.md, "Schema")."""
    db = Database(settings.database_url, settings.pool)
    try:
        if settings.migrates_on_start:
            await db.upgrade()
            return db
        found, needed = await db.revision(), head_revision()
        if found != needed:
            at = f"is at revision {found}" if found else "has no schema yet"
            raise SchemaNotReadyError(
                f"the store {at}; this version needs {needed}: run `switchboard migrate` "
                "first (or start with --migrate / SWITCHBOARD_MIGRATE=1)"
            )
    except BaseException:
        await db.dispose()
        raise
    return db


def services(conn: HTTPConnection) -> Services:
    svc: Services = conn.state.services
    return svc
