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
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from realtime.connections import CLOSE_GOING_AWAY, Connection, Outbox
from realtime.errors import ResyncNeededError
from realtime.events import RESYNC_FRAME, LoggedEvent
from realtime.keys import events_channel

logger = logging.getLogger(__name__)

# How often the log's newest ids are compared with what was delivered, in case a doorbell was lost.
LOG_CHECK_SECS = 2.0
REPLAY_PAGE = 500  # events read from the log per query: bounded memory, few round trips
MAX_BACKOFF_SECS = 60.0
GOING_AWAY_REASON = "server shutting down"
ANNOUNCE_BATCH = 200  # events per doorbell message (a bulk action's thousands go in several)


class EventSource(Protocol):
    """What the bus needs from the store (given by `server/`, which owns both)."""

    async def events_after(self, team_id: int, after_id: int, limit: int) -> list[LoggedEvent]: ...

    async def last_ids(self, team_ids: Iterable[int]) -> dict[int, int]: ...


class Observer(Protocol):
    """Told what the hub did, for metrics (server/metrics.py); one call per event or hello."""

    def fanned_out(self, sockets: int) -> None: ...

    def replayed(self, events: int) -> None: ...


class Hub:
    def __init__(
        self,
        redis: aioredis.Redis,
        source: EventSource,
        deployment: str,
        observer: Observer | None = None,
    ) -> None:
        self._redis = redis
        self._observer = observer
        self._source = source
        self._deployment = deployment
        self._channel = events_channel(deployment)
        self._teams: dict[int, set[Connection]] = {}
        self._delivered: dict[int, int] = {}  # team id -> newest event id delivered here
        self._team_locks: dict[int, asyncio.Lock] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._outbox = Outbox()
        self.subscribed = asyncio.Event()
        self.stopping = False

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="bus-listen"),
            asyncio.create_task(self._check_log(), name="bus-check-log"),
        ]

    async def going_away(self) -> None:
        """Close every socket with 1001 "going away", so clients reconnect (to another process),
        and return once each close frame went out; sockets opened from now on are closed so at
        once."""
        self.stopping = True
        conns = [conn for conns in self._teams.values() for conn in conns]
        for conn in conns:
            conn.close(CLOSE_GOING_AWAY, GOING_AWAY_REASON)
        if conns:
            await asyncio.wait([conn.wait_ended() for conn in conns])

    async def stop(self) -> None:
        self.stopping = True
        for conns in self._teams.values():
            for conn in conns:
                conn.close(CLOSE_GOING_AWAY, GOING_AWAY_REASON)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def connections(self) -> int:
        return sum(len(c) for c in self._teams.values())

    def connections_of(self, team_id: int) -> Iterable[Connection]:
        return tuple(self._teams.get(team_id, ()))

    # -- publishing -----------------------------------------------------------------------

    async def announce(self, events: Sequence[LoggedEvent]) -> None:
        """Ring the doorbell for committed events (one message per ANNOUNCE_BATCH), then deliver
        them here without waiting for the message to come back: this process's sockets get
        them a Redis round trip sooner, and the echo is dropped on its id. A lost announcement
        delays delivery on the other processes, never loses (the log check)."""
        for start in range(0, len(events), ANNOUNCE_BATCH):
            batch = events[start : start + ANNOUNCE_BATCH]
            try:
                await self._redis.publish(self._channel, _doorbell(self._deployment, batch))
            except RedisError:
                logger.warning(
                    "could not announce %d events of team %s from id %s; the log check will "
                    "deliver them",
                    len(batch),
                    batch[0].team_id,
                    batch[0].id,
                )
        for event in events:
            await self._deliver(event)

    # -- connections ----------------------------------------------------------------------

    async def register(self, conn: Connection) -> None:
        """Add a held connection: it is offered every event committed after this call, buffered
        until `replay()` or `conn.release()`."""
        team = conn.team_id
        conn.outbox = self._outbox
        if self.stopping:  # opened after the stop signal: go elsewhere at once
            conn.close(CLOSE_GOING_AWAY, GOING_AWAY_REASON)
        async with self._lock(team):
            if not self._teams.get(team):  # nobody here was following this team's events
                self._delivered[team] = (await self._source.last_ids([team])).get(team, 0)
            conn.hold(self._delivered[team])
            self._teams.setdefault(team, set()).add(conn)

    def unregister(self, conn: Connection) -> None:
        conns = self._teams.get(conn.team_id)
        if conns is not None:
            conns.discard(conn)

    async def replay(self, conn: Connection, after_id: int) -> bool:
        """Send `conn` every event after `after_id` it may see, then live ones, with no gap and
        no duplicate. When that cannot be done, send `{"type": "resync"}` and return False: the
        log no longer has them, or (a hello after live delivery began) they would come after
        newer events the client has already been sent, which clients drop."""
        try:
            if conn.started:
                if await self._missed_before_live(conn, after_id):
                    raise ResyncNeededError
                return True
            await self._replay_held(conn, after_id)
            return True
        except ResyncNeededError:
            conn.send(RESYNC_FRAME)
            return False
        finally:
            if not conn.started:
                conn.release()

    async def _replay_held(self, conn: Connection, after_id: int) -> None:
        newest = await self._check_replayable(conn.team_id, after_id)

        def replayed(event: LoggedEvent) -> None:
            if event.id > after_id:
                conn.admit(event)
            else:  # the client saw it on another process; only its access applies here
                conn.apply_access(event)

        start = min(after_id, conn.last_id)
        cursor = await self._read_log(conn, start, None, replayed, newest)
        conn.last_id = max(cursor, after_id, conn.last_id)
        if self._observer is not None:
            self._observer.replayed(max(cursor - after_id, 0))

    async def _missed_before_live(self, conn: Connection, after_id: int) -> bool:
        """Whether the log has an event after `after_id` that `conn` may see and was never
        sent, live delivery having started after it."""
        await self._check_replayable(conn.team_id, after_id)
        cursor = after_id
        while cursor < conn.live_from:
            page = await self._source.events_after(conn.team_id, cursor, REPLAY_PAGE)
            if cursor == after_id and (not page or page[0].id != cursor + 1):
                return True  # pruned: whatever it was, it can no longer be sent
            for event in page:
                if event.id > conn.live_from:
                    return False
                if conn.may_see(event):
                    return True
                cursor = event.id
            if len(page) < REPLAY_PAGE:
                return False
        return False

    async def _check_replayable(self, team: int, after_id: int) -> int:
        newest = (await self._source.last_ids([team])).get(team, 0)
        if after_id > newest:
            raise ResyncNeededError  # an id this store never handed out
        return newest

    async def _read_log(
        self,
        conn: Connection,
        after_id: int,
        up_to: int | None,
        each: Callable[[LoggedEvent], None],
        newest: int,
    ) -> int:
        """Pass the log's events after `after_id` (up to `up_to`) to `each`. Ids are contiguous
        in the log, so a first event that is not `after_id + 1` means it was pruned: resync
        (checked on what was read, so a prune racing with the replay is caught too)."""
        cursor = after_id
        while up_to is None or cursor < up_to:
            page = await self._source.events_after(conn.team_id, cursor, REPLAY_PAGE)
            if cursor == after_id and after_id < newest and (not page or page[0].id != cursor + 1):
                raise ResyncNeededError
            for event in page:
                if up_to is not None and event.id > up_to:
                    return cursor
                each(event)
                cursor = event.id
            if len(page) < REPLAY_PAGE:
                break
        return cursor

    # -- delivery -------------------------------------------------------------------------

    def _lock(self, team_id: int) -> asyncio.Lock:
        return self._team_locks.setdefault(team_id, asyncio.Lock())

    async def _deliver(self, event: LoggedEvent) -> None:
        team = event.team_id
        if team not in self._teams or event.id <= self._delivered.get(team, 0):
            return  # nobody of this team is connected here, or it went out already
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
        conns = tuple(self._teams.get(event.team_id, ()))
        for conn in conns:
            conn.offer(event)
        if self._observer is not None:
            self._observer.fanned_out(len(conns))

    async def _listen(self) -> None:
        backoff = 1.0
        while not _cancel_requested():
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    self.subscribed.set()
                    backoff = 1.0
                    # Anything committed while we were not subscribed is in the log.
                    for team in list(self._teams):
                        async with self._lock(team):
                            await self._catch_up(team)
                    async for message in pubsub.listen():
                        for event in _parse(message["data"], self._deployment):
                            await self._deliver(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.subscribed.clear()
                logger.exception("event subscription failed; retrying in %.0f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECS)

    async def _check_log(self) -> None:
        backoff = LOG_CHECK_SECS
        while not _cancel_requested():
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


def _cancel_requested() -> bool:
    # redis-py can swallow a CancelledError that lands mid-command; check before going on.
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _doorbell(deployment: str, events: Sequence[LoggedEvent]) -> str:
    """A doorbell message: the deployment's name on the first line, then two lines per event."""
    return "\n".join([deployment, *map(_message, events)])


def _message(event: LoggedEvent) -> str:
    """An event as two lines of a doorbell message: a header, and the data (JSON text, which
    has no raw newline)."""
    header = (
        f"{event.team_id} {event.id} {event.type} {event.inbox_id or '-'} "
        f"{event.user_id or '-'} {event.ts}"
    )
    return header + "\n" + event.data


def _parse(data: bytes | str, deployment: str) -> list[LoggedEvent]:
    """A doorbell message's events: none when another deployment rang it (its ids are another
    store's); `_deliver` drops those that went out here already (this process's own, delivered
    as it announced them)."""
    ringer, *lines = (data.decode() if isinstance(data, bytes) else data).split("\n")
    if ringer != deployment:
        return []
    events = []
    for header, event_data in zip(lines[::2], lines[1::2], strict=True):
        team, ident, type, inbox, user, ts = header.split(" ")
        events.append(
            LoggedEvent(
                team_id=int(team),
                id=int(ident),
                type=type,
                inbox_id=None if inbox == "-" else int(inbox),
                user_id=None if user == "-" else int(user),
                ts=ts,
                data=event_data,
            )
        )
    return events
