"""Throttling failed logins and bad tokens (docs/security.md, "Logins"), in Redis so every
process counts the same failures. Each username and each client address has a counter; past a
rule's free failures, every further failure refuses the next attempt for a delay that doubles
(up to a cap), and attempts while refused get 429 with `Retry-After` (held up to a second
first) and cost no password check.
A counter is forgotten after the rule's window without a failure; a successful login clears
its username's (not its address's). Redis down: nothing is throttled (the password pool's bound
still holds) and a warning is logged."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from server.config import Settings
from server.errors import ApiError
from server.keys import throttle_key

logger = logging.getLogger(__name__)

TARPIT_MAX_MS = 1000  # a refused attempt is answered after its wait, or this, if sooner

_NOW = """
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""
# KEYS: counters. Returns the longest wait (ms) any of them still imposes.
_WAIT = (
    _NOW
    + """
local wait = 0
for _, key in ipairs(KEYS) do
  local until_ms = tonumber(redis.call('HGET', key, 'until') or '0')
  wait = math.max(wait, until_ms - now)
end
return wait
"""
)
# KEYS[1]: counter. ARGV: free failures, first delay ms, max delay ms, window ms.
_FAIL = (
    _NOW
    + """
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local free, first, cap, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4])
local delay = 0
if n > free then
  delay = math.min(cap, first * 2 ^ math.min(n - free - 1, 40))
  redis.call('HSET', KEYS[1], 'until', now + delay)
end
redis.call('PEXPIRE', KEYS[1], math.floor(window + delay))
return math.floor(delay)
"""
)


@dataclass(frozen=True)
class Rule:
    kind: str  # "user", "address", "token"
    free: int  # failures before any delay
    first_delay_ms: int
    max_delay_ms: int
    window_ms: int


def rules(settings: Settings) -> tuple[Rule, Rule, Rule]:
    """The username, address and token rules of these settings."""
    s = settings

    def rule(kind: str, free: int) -> Rule:
        return Rule(
            kind,
            free,
            int(s.login_delay_secs * 1000),
            int(s.login_max_delay_secs * 1000),
            int(s.login_failure_window_secs * 1000),
        )

    return (
        rule("user", s.login_user_failures),
        rule("address", s.login_address_failures),
        rule("token", s.token_address_failures),
    )


class TooManyFailuresError(ApiError):
    def __init__(self, wait_ms: int) -> None:
        self.retry_after_secs = max(1, math.ceil(wait_ms / 1000))
        super().__init__(
            429,
            "rate_limited",
            f"too many failed attempts; try again in {self.retry_after_secs} s",
            retry_after_ms=wait_ms,
        )


class Throttle:
    def __init__(self, redis: aioredis.Redis, settings: Settings) -> None:
        self.user, self.address, self.token = rules(settings)
        self._wait = redis.register_script(_WAIT)
        self._fail = redis.register_script(_FAIL)
        self._redis = redis

    async def check(self, *subjects: tuple[Rule, str]) -> None:
        """Raise TooManyFailuresError while any of the subjects is refused."""
        try:
            wait = int(await self._wait(keys=[_key(rule, s) for rule, s in subjects]))
        except RedisError:
            logger.warning("could not read the login throttle; not throttling")
            return
        if wait > 0:
            # Held a moment before the answer: a loop that ignores Retry-After then costs the
            # loop a few requests a second, not hundreds (each answer is a page to render).
            await asyncio.sleep(min(wait, TARPIT_MAX_MS) / 1000)
            raise TooManyFailuresError(wait)

    async def failed(self, *subjects: tuple[Rule, str]) -> None:
        for rule, subject in subjects:
            args = [rule.free, rule.first_delay_ms, rule.max_delay_ms, rule.window_ms]
            try:
                await self._fail(keys=[_key(rule, subject)], args=args)
            except RedisError:
                logger.warning("could not count a failed %s attempt", rule.kind)

    async def forget(self, subjects: Sequence[tuple[Rule, str]]) -> None:
        try:
            await self._redis.delete(*(_key(rule, s) for rule, s in subjects))
        except RedisError:
            logger.warning("could not clear the login throttle")


def _key(rule: Rule, subject: str) -> str:
    return throttle_key(rule.kind, hashlib.sha256(subject.encode()).hexdigest()[:32])
