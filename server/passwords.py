"""Password hashing off the event loop (docs/security.md, "Logins"). argon2 costs about 0.15 s
of CPU by design; run on the loop, eight wrong-password loops stalled every socket for seconds.
It runs on a small pool of threads at a lower CPU priority (the loop wins the core when both
want it), and a bounded number may wait for the pool: past that a login is refused as busy
(429) at once, so a flood from many addresses (which the per-address throttle does not stop)
cannot queue without end."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from inbox import accounts
from server.errors import ApiError

logger = logging.getLogger(__name__)

# One thread: a verification is single-threaded (argon2-cffi's lanes run one after another),
# so one core at most goes to guesses and the loop keeps the other (bench/login_flood.py: two
# threads doubled the flood's ping p99 on two cores). About six verifications a second.
PASSWORD_THREADS = 1
# Verifications running or waiting at once: 16 is under three seconds of waiting, well above a
# team's logins at nine in the morning.
MAX_PENDING = 16
# The threads' niceness (Linux: per thread). 10 gives the loop about ten times their CPU share.
THREAD_NICENESS = 10

T = TypeVar("T")
MIN_PASSWORD_CHARS = 8  # NIST SP 800-63B's floor for a chosen password
MAX_PASSWORD_CHARS = 1024  # argon2 takes any length; this only bounds the work


def check_password(value: object, field: str = "password") -> str:
    """A password someone chose: 422 `weak_password` when it is too short (or not text)."""
    if not isinstance(value, str) or not MIN_PASSWORD_CHARS <= len(value) <= MAX_PASSWORD_CHARS:
        raise ApiError(
            422,
            "weak_password",
            f"{field} must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters",
        )
    return value


def _lower_priority() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), THREAD_NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed: the pool still works
        logger.debug("could not lower the password threads' priority")


class PasswordBusyError(ApiError):
    def __init__(self) -> None:
        super().__init__(429, "busy", "too many logins at once; try again in a second")


class Passwords:
    def __init__(self, threads: int = PASSWORD_THREADS, max_pending: int = MAX_PENDING) -> None:
        self._pool = ThreadPoolExecutor(
            threads, thread_name_prefix="argon2", initializer=_lower_priority
        )
        self._max_pending = max_pending
        self._pending = 0

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches (a None hash still costs one verification: timing)."""
        return await self._run(accounts.verify_password, password_hash, password)

    async def hash(self, password: str) -> str:
        return await self._run(accounts.hash_password, password)

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        if self._pending >= self._max_pending:
            raise PasswordBusyError
        self._pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        finally:
            self._pending -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
