"""Presence of socket connections (README.md, "Presence"): `/ws` calls these as connections
open, act and close. Presence is best effort: a Redis hiccup is logged and never breaks the
socket (the next heartbeat or sweep repairs the record)."""

from __future__ import annotations

import logging
from weakref import WeakKeyDictionary

from inbox.models import User
from presence.errors import PresenceError
from presence.status import PresenceState
from realtime.hub import Connection
from server.errors import ApiError
from server.locking import holder_of, publish_presence, release_all
from server.state import Services

logger = logging.getLogger(__name__)

_ids: WeakKeyDictionary[Connection, str] = WeakKeyDictionary()
# Commands that do not count as the user doing something (a ping is the browser, not a person).
NOT_INPUT = frozenset({"ping", "hello"})


def connection_id(conn: Connection) -> str | None:
    return _ids.get(conn)


async def _publish(svc: Services, state: PresenceState | None) -> None:
    if state is not None:
        await publish_presence(svc, state.team_id, state.user.id)


async def connected(svc: Services, conn: Connection, user: User) -> None:
    conn_id = _ids[conn] = svc.presence.new_connection_id()
    try:
        await _publish(svc, await svc.presence.connect(conn_id, conn.team_id, holder_of(user)))
    except PresenceError:
        logger.warning("could not record connection %s of user %d", conn_id, conn.user_id)


async def acted(svc: Services, conn: Connection, command_type: str) -> None:
    conn_id = _ids.get(conn)
    if conn_id is None or command_type in NOT_INPUT:
        return
    try:
        await _publish(svc, await svc.presence.input(conn_id))
    except PresenceError:
        logger.warning("could not record input on connection %s", conn_id)


async def viewing(svc: Services, conn: Connection, conversation_id: int | None) -> None:
    conn_id = _ids.get(conn)
    if conn_id is not None:
        await _publish(svc, await svc.presence.view(conn_id, conversation_id))


async def disconnected(svc: Services, conn: Connection) -> None:
    """Forget the connection; when it was the user's last one anywhere, release their locks."""
    conn_id = _ids.pop(conn, None)
    if conn_id is None:
        return
    try:
        state, changed = await svc.presence.disconnect(conn_id)
        if state is not None and state.live_connections == 0:
            await release_all(svc, conn.team_id, conn.user_id, "disconnected")
        if changed:
            await _publish(svc, state)
    except (PresenceError, ApiError):
        logger.exception("could not clean up after connection %s", conn_id)


async def heartbeat(svc: Services) -> None:
    """Refresh this process's connections so they outlive the presence TTL."""
    for state in await svc.presence.heartbeat():
        await _publish(svc, state)


async def sweep(svc: Services) -> None:
    for state in await svc.presence.sweep():
        await _publish(svc, state)
