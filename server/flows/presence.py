"""Presence of socket connections (README.md, "Presence"): `/ws` calls these as connections
open, act and close, and the background loops refresh and sweep them; each change is logged
as `presence.changed`. Presence is best effort: a Redis hiccup is logged and never breaks the
socket (the next heartbeat or sweep repairs the record). When Redis loses its data (README.md,
"When Redis loses its data"), `check_epoch` records this process's connections again and the
process that notices first reconciles the locks (flows/locks.py, `reconcile_lost`)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from inbox.accounts import lock_team
from inbox.models import User
from presence.errors import PresenceError
from presence.status import PresenceState
from presence.types import Holder
from realtime.connections import Connection
from server.flows.events import append_presence_changed
from server.flows.locks import holder_of, reconcile_lost, release_all
from server.services import Services

logger = logging.getLogger(__name__)

# Commands that do not count as the user doing something (a ping is the browser, not a person).
NOT_INPUT = frozenset({"ping", "hello"})
# Input is written to Redis at most once per this share of the away time per connection (15 s
# of the default 5 minutes): typing sends lock.activity many times a second, and someone typing
# all along is so seen as away at most 5 % early. Input after a quiet spell is written at once.
INPUT_REFRESHES_PER_AWAY = 20


@dataclass(slots=True)
class Presence:
    """What this process knows about one of its connections."""

    id: str
    holder: Holder
    input_at: float  # monotonic time of the input last written to Redis


_ids: WeakKeyDictionary[Connection, Presence] = WeakKeyDictionary()


def holder(conn: Connection) -> Holder | None:
    """The connection's user as a lock holder (known since it connected)."""
    known = _ids.get(conn)
    return known.holder if known else None


async def publish_presence(svc: Services, team_id: int, user_id: int) -> None:
    """Announce the user's presence as Redis holds it now. Reading it under the team lock (not
    passing the state that changed) keeps two processes' near-simultaneous changes in order."""
    async with svc.db.write() as session:
        await lock_team(session, team_id)
        state = await svc.presence.current(user_id)
        record = None if state is None else await append_presence_changed(session, state)
    await svc.announce(record)


async def _publish(svc: Services, state: PresenceState | None) -> None:
    if state is not None:
        await publish_presence(svc, state.team_id, state.user.id)


async def connected(svc: Services, conn: Connection, user: User) -> None:
    conn_id = svc.presence.new_connection_id()
    _ids[conn] = Presence(conn_id, holder_of(user), time.monotonic())
    try:
        await _publish(svc, await svc.presence.connect(conn_id, conn.team_id, holder_of(user)))
    except PresenceError:
        logger.warning("could not record connection %s of user %d", conn_id, conn.user_id)


def acted(svc: Services, conn: Connection, command_type: str) -> None:
    """Record input (at most INPUT_REFRESHES_PER_AWAY times per away time, per connection) in
    the background: the command itself, a lock round trip say, does not wait for the write."""
    known = _ids.get(conn)
    if known is None or command_type in NOT_INPUT:
        return
    now = time.monotonic()
    every = svc.settings.presence_away_after_secs / INPUT_REFRESHES_PER_AWAY
    if now - known.input_at < every:
        return
    known.input_at = now
    svc.spawn(_input(svc, known.id), "presence-input")


async def _input(svc: Services, conn_id: str) -> None:
    try:
        await _publish(svc, await svc.presence.input(conn_id))
    except PresenceError:
        logger.warning("could not record input on connection %s", conn_id)


async def viewing(svc: Services, conn: Connection, conversation_id: int | None) -> None:
    known = _ids.get(conn)
    if known is not None:
        known.input_at = time.monotonic()
        await _publish(svc, await svc.presence.view(known.id, conversation_id))


async def disconnected(svc: Services, conn: Connection) -> None:
    """Forget the connection; when it was the user's last one anywhere, release their locks."""
    known = _ids.pop(conn, None)
    if known is None:
        return
    conn_id = known.id
    try:
        state, changed = await svc.presence.disconnect(conn_id)
        if state is not None and state.live_connections == 0:
            await _release_after_last(svc, conn.team_id, conn.user_id)
        if changed:
            await _publish(svc, state)
    except PresenceError:
        logger.exception("could not clean up after connection %s", conn_id)


async def _release_after_last(svc: Services, team_id: int, user_id: int) -> None:
    """The user's last connection anywhere closed: release their locks, at once, unless Redis
    lost its data lately. Then their other tabs may not be recorded again yet (each process
    does so within a second of the loss, flows/background.py): look again once all have."""
    await check_epoch(svc)  # a loss this process has not noticed yet
    settle_secs = svc.settings.presence_ttl_secs
    if not svc.epoch.renewed_within(settle_secs):
        await release_all(svc, team_id, user_id, "disconnected")
        return

    async def later() -> None:
        await asyncio.sleep(settle_secs)
        state, changed = await svc.presence.look(user_id)
        if state is None or state.live_connections == 0:
            await release_all(svc, team_id, user_id, "disconnected")
        if changed:
            await _publish(svc, state)

    svc.spawn(later(), f"release-after-loss-{user_id}")


async def heartbeat(svc: Services) -> None:
    """Refresh this process's connections so they outlive the presence TTL."""
    for state in await svc.presence.heartbeat():
        await _publish(svc, state)


async def check_epoch(svc: Services) -> None:
    """Notice that Redis lost its data (presence/epoch.py) and rebuild: this process's
    connections are recorded again (their users show online again), and the process that made
    the new epoch tells the holders and viewers of every lock that vanished (`lost`)."""
    change = await svc.epoch.check()
    if change is None:
        return
    if not change.first:
        logger.warning("Redis lost its data; recording this process's connections again")
        # Pooled connections to a Redis that restarted fail once each on their next command
        # ("closed by server"); drop the idle ones, so requests from now on do not.
        await svc.redis.connection_pool.disconnect(inuse_connections=False)
        await heartbeat(svc)  # records every connection Redis no longer has
    if change.made_here:
        await reconcile_lost(svc)
    svc.epoch.rebuilt(change)  # else (a step failed) the next check asks again


async def sweep(svc: Services) -> None:
    """Publish the changes time made (away, gone); a user whose every connection aged out (their
    processes died: nobody refreshed them) has their locks released now, not at the lock TTL."""
    for state in await svc.presence.sweep():
        if state.live_connections == 0:
            await release_all(svc, state.team_id, state.user.id, "disconnected")
        await _publish(svc, state)
