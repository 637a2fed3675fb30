"""Whether Redis lost its data (README.md, "When Redis loses its data"): a restart without
persistence, a FLUSHALL, a failover to a replica that had not caught up. Presence and locks
live only in Redis, so each process must then record its connections again, and what the
locks were is known only from the event log (server/flows/recovery.py).

The deployment's epoch is one key, made by the first process to find it missing: its value is a
random token and the moment it was made. Every process checks it every second or so; a value
other than the one it saw last means the data it wrote before is gone. Exactly one process
makes each epoch, and that one reconciles the locks."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from presence.errors import redis_errors
from presence.keys import Keys

# The key outlives any pause of every process by far, and is refreshed by every check: it
# disappears only with the data around it.
EPOCH_TTL_MS = 24 * 3600 * 1000

# KEYS: epoch  ARGV: a new token, ttl_ms -> {value, made 0|1}
_CHECK = """
local v = redis.call('GET', KEYS[1])
if v then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {v, 0}
end
local t = redis.call('TIME')
v = ARGV[1] .. ' ' .. t[1]
redis.call('SET', KEYS[1], v, 'PX', ARGV[2])
return {v, 1}
"""


@dataclass(frozen=True)
class EpochChange:
    """The epoch is not the one this process saw last. `first`: this process had seen none (it
    just started, and has nothing to record again). `made_here`: this process made the new
    epoch, so it is the one that reconciles what the old one held."""

    first: bool
    made_here: bool


class EpochWatch:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._keys = keys
        self._check = redis.register_script(_CHECK)
        self.current: str | None = None
        self._pending: EpochChange | None = None  # a change whose rebuild has not succeeded
        self._renewed_at: float | None = None  # monotonic time a new epoch was made or seen
        self._one_at_a_time = asyncio.Lock()  # so the maker of an epoch is the one told so

    async def check(self) -> EpochChange | None:
        """None while the epoch is the one whose rebuild succeeded last; else what changed. The
        same change is returned again until `rebuilt()` says its rebuild succeeded (a Redis
        that just came back fails some commands)."""
        async with self._one_at_a_time:
            with redis_errors():
                value, made = await self._check(
                    keys=[self._keys.epoch_key()], args=[secrets.token_hex(8), EPOCH_TTL_MS]
                )
            value = value.decode() if isinstance(value, bytes) else str(value)
            if value != self.current:
                first = self.current is None
                self._pending = EpochChange(first=first, made_here=made == 1)
                self.current = value
                if not first:  # Redis lost what it held while this process ran
                    self._renewed_at = time.monotonic()
            return self._pending

    def rebuilt(self, change: EpochChange) -> None:
        """The rebuild `change` asked for is done."""
        if self._pending is change:
            self._pending = None

    def renewed_within(self, secs: float) -> bool:
        """Whether Redis lost its data less than `secs` ago, as this process saw it: other
        processes may not have recorded their connections again yet."""
        return self._renewed_at is not None and time.monotonic() - self._renewed_at < secs
