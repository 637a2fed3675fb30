"""The socket bus of one server process (README.md, "The bus").

Every event is first committed to the event log, then announced on a Redis channel. Redis is
only the doorbell: each process delivers a team's events strictly in id order, and when an
announcement skips ids (a missed publish, a Redis restart, two processes racing) it reads the
missing ones from the log first. A periodic check of the log's newest id covers announcements
that never came. Each connection has a bounded send queue; one that cannot keep up is closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

CHANNEL = "switchboard:events"
# One browser tab rarely has more than a few events in flight; 1024 queued frames is minutes of
# a busy team's traffic, so a full queue means the client stopped reading.
SEND_QUEUE_FRAMES = 1024
CLOSE_SLOW_CONSUMER = 4008  # private-use close code: "your send queue overflowed"
CLOSE_GOING_AWAY = 1001
# How often the log's newest ids are compared with what was delivered, in case a doorbell was lost.
LOG_CHECK_SECS = 2.0
REPLAY_PAGE = 500
MAX_BACKOFF_SECS = 60.0


@dataclass(frozen=True)
class LoggedEvent:
    """An event as the log holds it, with its frame already encoded."""

    team_id: int
    id: int
    inbox_id: int | None
    user_id: int | None
    frame: str


class EventSource(Protocol):
    """What the bus needs from the store (given by `server/`, which owns both)."""

    async def events_after(self, team_id: int, after_id: int, limit: int) -> list[LoggedEvent]: ...

    async def last_ids(self, team_ids: Iterable[int]) -> dict[int, int]: ...

    async def oldest_id(self, team_id: int) -> int | None: ...


class ResyncNeededError(Exception):
    """The client's last event id is older than the log keeps: it must refetch its state."""


@dataclass(eq=False)
class Connection:
    user_id: int
    team_id: int
    inbox_ids: set[int]
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(SEND_QUEUE_FRAMES))
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    close_code: int = 1000
    close_reason: str = ""
    last_id: int = 0  # newest event id offered to this connection
    _buffer: list[LoggedEvent] | None = None  # events arriving during a replay

    def may_see(self, event: LoggedEvent) -> bool:
        if event.user_id is not None:
            return event.user_id == self.user_id
        return event.inbox_id is None or event.inbox_id in self.inbox_ids

    def offer(self, event: LoggedEvent) -> None:
        if self._buffer is not None:
            self._buffer.append(event)
            return
        if event.id <= self.last_id:
            return
        self.last_id = event.id
        if self.may_see(event):
            self.send(event.frame)

    def send(self, text: str) -> None:
        """Queue a frame; a connection whose queue is full is closed as a slow consumer."""
        if self.closed.is_set():
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.close(CLOSE_SLOW_CONSUMER, "slow consumer: send queue full")

    def close(self, code: int, reason: str) -> None:
        if not self.closed.is_set():
            self.close_code, self.close_reason = code, reason
            self.closed.set()


class Hub:
    def __init__(self, redis: aioredis.Redis, source: EventSource) -> None:
        self._redis = redis
        self._source = source
        self._teams: dict[int, set[Connection]] = {}
        self._delivered: dict[int, int] = {}  # team id -> newest event id delivered here
        self._team_locks: dict[int, asyncio.Lock] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.subscribed = asyncio.Event()

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="bus-listen"),
            asyncio.create_task(self._check_log(), name="bus-check-log"),
        ]

    async def stop(self) -> None:
        for conns in self._teams.values():
            for conn in conns:
                conn.close(CLOSE_GOING_AWAY, "server shutting down")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def connections(self) -> int:
        return sum(len(c) for c in self._teams.values())

    def connections_of(self, team_id: int) -> Iterable[Connection]:
        return tuple(self._teams.get(team_id, ()))

    # -- publishing -----------------------------------------------------------------------

    async def announce(self, event: LoggedEvent) -> None:
        """Ring the doorbell for a committed event. A lost announcement delays, never loses."""
        header = f"{event.team_id} {event.id} {event.inbox_id or '-'} {event.user_id or '-'}"
        try:
            await self._redis.publish(CHANNEL, header + "\n" + event.frame)
        except RedisError:
            logger.warning(
                "could not announce event %s/%s; the log check will deliver it",
                event.team_id,
                event.id,
            )

    # -- connections ----------------------------------------------------------------------

    async def register(self, conn: Connection) -> None:
        """Add a live connection: it receives every event committed after this call."""
        team = conn.team_id
        async with self._lock(team):
            if team not in self._delivered:
                self._delivered[team] = (await self._source.last_ids([team])).get(team, 0)
            conn.last_id = self._delivered[team]
            self._teams.setdefault(team, set()).add(conn)

    def unregister(self, conn: Connection) -> None:
        conns = self._teams.get(conn.team_id)
        if conns is not None:
            conns.discard(conn)

    async def replay(self, conn: Connection, after_id: int) -> None:
        """Send `conn` every event after `after_id` it may see, then resume live delivery,
        with no gap and no duplicate (live events arriving meanwhile are buffered)."""
        conn._buffer = []
        try:
            if after_id < conn.last_id:
                oldest = await self._source.oldest_id(conn.team_id)
                if oldest is None or oldest > after_id + 1:
                    raise ResyncNeededError
            cursor = after_id
            while True:
                page = await self._source.events_after(conn.team_id, cursor, REPLAY_PAGE)
                for event in page:
                    if conn.may_see(event):
                        conn.send(event.frame)
                    cursor = event.id
                if len(page) < REPLAY_PAGE:
                    break
            conn.last_id = max(cursor, after_id)
        finally:
            buffered, conn._buffer = conn._buffer, None
            for event in buffered:
                conn.offer(event)

    # -- delivery -------------------------------------------------------------------------

    def _lock(self, team_id: int) -> asyncio.Lock:
        return self._team_locks.setdefault(team_id, asyncio.Lock())

    async def _deliver(self, event: LoggedEvent) -> None:
        team = event.team_id
        if team not in self._teams:
            return  # nobody of this team is connected here
        if event.id == self._delivered.get(team, 0) + 1 and not self._lock(team).locked():
            self._fan_out(event)
            return
        async with self._lock(team):
            await self._catch_up(team, event.id)

    async def _catch_up(self, team: int, up_to: int | None = None) -> None:
        """Deliver the team's events from the log after the newest one delivered here."""
        while True:
            last = self._delivered.get(team, 0)
            if up_to is not None and last >= up_to:
                return
            page = await self._source.events_after(team, last, REPLAY_PAGE)
            for event in page:
                self._fan_out(event)
            if len(page) < REPLAY_PAGE:
                return

    def _fan_out(self, event: LoggedEvent) -> None:
        if event.id <= self._delivered.get(event.team_id, 0):
            return
        self._delivered[event.team_id] = event.id
        for conn in tuple(self._teams.get(event.team_id, ())):
            conn.offer(event)

    async def _listen(self) -> None:
        backoff = 1.0
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self.subscribed.set()
                    backoff = 1.0
                    # Anything committed while we were not subscribed is in the log.
                    for team in list(self._teams):
                        async with self._lock(team):
                            await self._catch_up(team)
                    async for message in pubsub.listen():
                        await self._deliver(_parse(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:
                self.subscribed.clear()
                logger.exception("event subscription failed; retrying in %.0f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECS)

    async def _check_log(self) -> None:
        backoff = LOG_CHECK_SECS
        while True:
            await asyncio.sleep(backoff)
            try:
                teams = [t for t, conns in self._teams.items() if conns]
                newest = await self._source.last_ids(teams) if teams else {}
                for team, last in newest.items():
                    if last > self._delivered.get(team, 0):
                        async with self._lock(team):
                            await self._catch_up(team)
                backoff = LOG_CHECK_SECS
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("event log check failed")
                backoff = min(backoff * 2, MAX_BACKOFF_SECS)


def _parse(data: bytes | str) -> LoggedEvent:
    text = data.decode() if isinstance(data, bytes) else data
    header, frame = text.split("\n", 1)
    team, ident, inbox, user = header.split(" ")
    return LoggedEvent(
        team_id=int(team),
        id=int(ident),
        inbox_id=None if inbox == "-" else int(inbox),
        user_id=None if user == "-" else int(user),
        frame=frame,
    )
