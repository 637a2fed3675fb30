"""Errors of presence and locks. `server/` turns them into HTTP answers and error frames.

PresenceError
├── ConversationLockedError   (409 locked: another user holds the conversation; carries holder)
├── LockNotHeldError          (409 not_holder: the caller does not hold the lock it touched)
└── PresenceUnavailableError  (503: Redis did not answer; the adapter converts RedisError here)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import RedisError

from presence.types import Holder


class PresenceError(Exception):
    code = "presence_error"


class ConversationLockedError(PresenceError):
    code = "locked"

    def __init__(self, conversation_id: int, holder: Holder | None) -> None:
        super().__init__(f"conversation {conversation_id} is locked")
        self.conversation_id, self.holder = conversation_id, holder


class LockNotHeldError(PresenceError):
    code = "not_holder"

    def __init__(self, conversation_id: int) -> None:
        super().__init__(f"you do not hold the lock on conversation {conversation_id}")
        self.conversation_id = conversation_id


class PresenceUnavailableError(PresenceError):
    code = "unavailable"


@contextmanager
def redis_errors() -> Iterator[None]:
    """The one place a `RedisError` becomes a `PresenceError` (no redis error reaches server/)."""
    try:
        yield
    except RedisError as exc:
        raise PresenceUnavailableError(f"presence store unavailable: {exc}") from exc
