"""Which of this process's sockets were opened with which credential, so that ending a
session (logout, a password change, disabling a user) closes its sockets at once on every
process (docs/security.md, "Sessions"). The process that ends a session closes its own sockets
first, then rings a Redis channel; the others close theirs when it rings and skip their own
echo (STYLE.md section 4, `origin`). A lost message is caught by the session sweep
(server/flows/sessions.py), which closes sockets whose session is gone."""

from __future__ import annotations

import asyncio
import logging
import uuid

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from realtime.connections import Connection
from server.keys import sockets_ended_channel

logger = logging.getLogger(__name__)

CLOSE_SESSION_ENDED = 4401  # as for a socket that was never authenticated: log in again
ALL = "*"
MAX_BACKOFF_SECS = 60.0


class SocketRegistry:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self.origin = uuid.uuid4().hex
        self._by_user: dict[int, dict[Connection, str]] = {}
        self.subscribed = asyncio.Event()

    def add(self, conn: Connection, credential: str) -> None:
        self._by_user.setdefault(conn.user_id, {})[conn] = credential

    def discard(self, conn: Connection) -> None:
        conns = self._by_user.get(conn.user_id)
        if conns is not None:
            conns.pop(conn, None)
            if not conns:
                del self._by_user[conn.user_id]

    def credentials(self) -> set[str]:
        return {c for conns in self._by_user.values() for c in conns.values()}

    def close_here(self, user_id: int, credential: str = ALL) -> int:
        """Close this process's sockets of the user (of that credential only, unless ALL)."""
        closed = 0
        for conn, used in list(self._by_user.get(user_id, {}).items()):
            if credential in (ALL, used):
                conn.close(CLOSE_SESSION_ENDED, "session ended")
                closed += 1
        return closed

    def close_credentials_here(self, credentials: set[str]) -> None:
        for conns in list(self._by_user.values()):
            for conn, used in list(conns.items()):
                if used in credentials:
                    conn.close(CLOSE_SESSION_ENDED, "session ended")

    async def close(self, user_id: int, credential: str = ALL) -> None:
        """Close the user's sockets of `credential` on every process: here first, then the
        others through Redis."""
        self.close_here(user_id, credential)
        try:
            await self._redis.publish(
                sockets_ended_channel(), f"{self.origin} {user_id} {credential}"
            )
        except RedisError:
            logger.warning("could not tell other processes to close sockets of user %d", user_id)

    async def listen(self) -> None:
        backoff = 1.0
        while not _cancel_requested():
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(sockets_ended_channel())
                    self.subscribed.set()
                    backoff = 1.0
                    async for message in pubsub.listen():
                        self._on_message(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:
                self.subscribed.clear()
                logger.exception("socket-close subscription failed; retrying in %.0f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECS)

    def _on_message(self, data: bytes | str) -> None:
        text = data.decode() if isinstance(data, bytes) else data
        origin, user, credential = text.split(" ")
        if origin != self.origin:
            self.close_here(int(user), credential)


def _cancel_requested() -> bool:
    # redis-py can swallow a CancelledError that lands mid-command; check before going on.
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
