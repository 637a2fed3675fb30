"""Conversation locks: one holder per conversation across every process (README.md, "Locks").

Each operation is one Lua script (`_lock_scripts.py`), so Redis alone decides who holds what.
A lock carries its holder, a fencing token and a deadline; every key has a TTL. A sorted set
of "team:conversation" scored by the next time something is due (an idle prompt, a release)
is swept by every process; the script's ZSCORE check lets exactly one of them act on an entry.
This module returns what happened and never publishes anything itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from presence import _lock_scripts as lua
from presence.errors import ConversationLockedError, LockNotHeldError, redis_errors
from presence.keys import Keys
from presence.types import Holder

# A lapsed lock's hash outlives its deadline by this much so a sweeper that was busy (or a
# process restarting) can still announce the release with the holder's name.
LOCK_KEY_SLACK_MS = 60_000
# Fencing tokens are microsecond clock readings kept strictly growing by this key; a week is far
# longer than any lock, and after it lapses the clock alone still gives a larger token.
FENCE_TTL_MS = 7 * 24 * 3600 * 1000
SWEEP_BATCH = 100  # due entries handled per sweep; the rest wait one sweep interval


@dataclass(frozen=True)
class LockTimings:
    ttl_secs: float
    idle_after_secs: float
    grace_secs: float


@dataclass(frozen=True)
class Lock:
    conversation_id: int
    team_id: int
    inbox_id: int
    holder: Holder
    token: int
    since_ms: int
    expires_at_ms: int
    prompt_release_at_ms: int = 0  # set while an idle prompt waits for an answer


@dataclass(frozen=True)
class Released:
    conversation_id: int
    team_id: int
    inbox_id: int
    holder: Holder
    reason: str  # released | expired | idle | forced | disconnected | lost
    version: int = 0  # the conversation's lock sequence number of this release (0: unknown)


@dataclass(frozen=True)
class IdlePrompt:
    conversation_id: int
    team_id: int
    inbox_id: int
    holder: Holder
    release_at_ms: int
    version: int = 0  # the hold's fencing token (the lock's version)


@dataclass(frozen=True)
class Touched:
    """Activity on a held lock: its new deadline, and whether it answered an idle prompt."""

    deadline_ms: int
    answered_prompt: bool
    version: int


@dataclass(frozen=True)
class Claim:
    """An acquire that succeeded: `fresh` when the caller did not hold it before; `lapsed` is
    a previous holder's expired lock the sweepers had not announced yet."""

    lock: Lock
    fresh: bool
    lapsed: Released | None = None
    answered_prompt: bool = False  # the holder took it again while an idle prompt waited


def _member(team_id: int, conversation_id: int) -> str:
    return f"{team_id}:{conversation_id}"


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _holder(user: Any, name: Any, kind: Any) -> Holder:
    return Holder(int(_s(user)), _s(name), _s(kind))


class LockStore:
    def __init__(self, redis: aioredis.Redis, keys: Keys, timings: LockTimings) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl_ms = int(timings.ttl_secs * 1000)
        self._idle_ms = int(timings.idle_after_secs * 1000)
        self._grace_ms = int(timings.grace_secs * 1000)
        self._acquire = redis.register_script(lua.ACQUIRE)
        self._touch = redis.register_script(lua.TOUCH)
        self._release = redis.register_script(lua.RELEASE)
        self._due = redis.register_script(lua.DUE)
        self._sweep = redis.register_script(lua.SWEEP)

    async def acquire(
        self, conversation_id: int, team_id: int, inbox_id: int, who: Holder
    ) -> Claim:
        """Take the lock, or extend it when `who` holds it already (another tab, a send)."""
        keys = [
            self._keys.lock_key(conversation_id),
            self._keys.fence_key(conversation_id),
            self._keys.locks_due_key(),
            self._keys.held_key(who.id),
        ]
        args: list[str | int] = [
            _member(team_id, conversation_id),
            who.id,
            who.name,
            who.kind,
            team_id,
            inbox_id,
            self._ttl_ms,
            self._idle_ms,
            LOCK_KEY_SLACK_MS,
            self._keys.held_key_prefix(),
            conversation_id,
            FENCE_TTL_MS,
        ]
        with redis_errors():
            result = await self._acquire(keys=keys, args=args)
        if result[0] == 0:
            raise ConversationLockedError(conversation_id, _holder(*result[1:4]))
        token, since, deadline = int(_s(result[1])), int(result[2]), int(result[3])
        lock = Lock(conversation_id, team_id, inbox_id, who, token, since, deadline)
        lapsed = None
        if result[0] == 2:
            return Claim(lock, fresh=False, answered_prompt=int(result[4]) == 1)
        if len(result) > 4:
            lapsed = Released(
                conversation_id,
                team_id,
                inbox_id,
                _holder(*result[4:7]),
                _s(result[7]),
                int(_s(result[8])),
            )
        return Claim(lock, fresh=result[0] == 1, lapsed=lapsed)

    async def touch(self, conversation_id: int, team_id: int, user_id: int) -> Touched:
        """Activity or an answer to the idle prompt: push the deadline out."""
        keys = [
            self._keys.lock_key(conversation_id),
            self._keys.locks_due_key(),
            self._keys.held_key(user_id),
        ]
        args: list[str | int] = [
            _member(team_id, conversation_id),
            user_id,
            self._ttl_ms,
            self._idle_ms,
        ]
        with redis_errors():
            result = await self._touch(keys=keys, args=[*args, LOCK_KEY_SLACK_MS])
        if result[0] != 1:
            raise LockNotHeldError(conversation_id)
        return Touched(int(result[1]), int(result[2]) == 1, int(_s(result[3])))

    async def release(
        self, conversation_id: int, team_id: int, user_id: int | None, reason: str
    ) -> Released | None:
        """Drop the lock. With `user_id`, only that user's (else LockNotHeldError); with None,
        whoever holds it (a supervisor's force). None when there was no lock."""
        keys = [
            self._keys.lock_key(conversation_id),
            self._keys.locks_due_key(),
            self._keys.fence_key(conversation_id),
        ]
        args: list[str | int] = [
            _member(team_id, conversation_id),
            "" if user_id is None else user_id,
            self._keys.held_key_prefix(),
            conversation_id,
            FENCE_TTL_MS,
        ]
        with redis_errors():
            result = await self._release(keys=keys, args=args)
        if result[0] == 0:
            return None
        if result[0] == -1:
            raise LockNotHeldError(conversation_id)
        holder = _holder(*result[1:4])
        inbox, version = int(_s(result[4])), int(_s(result[5]))
        return Released(conversation_id, team_id, inbox, holder, reason, version)

    async def held_by(self, user_id: int) -> list[int]:
        with redis_errors():
            members = await self._redis.smembers(self._keys.held_key(user_id))
        return sorted(int(_s(m)) for m in members)

    async def get(self, conversation_id: int) -> Lock | None:
        """The conversation's live lock, if any."""
        found = await self.all_locks([conversation_id])
        return found[0] if found else None

    async def all_locks(self, conversation_ids: Sequence[int] | None = None) -> list[Lock]:
        """Live locks (of the given conversations, or all), as the supervisor board shows them."""
        with redis_errors():
            if conversation_ids is None:
                members = await self._redis.zrange(self._keys.locks_due_key(), 0, -1)
                conversation_ids = [int(_s(m).split(":")[1]) for m in members]
            async with self._redis.pipeline(transaction=False) as pipe:
                for cid in conversation_ids:
                    pipe.hgetall(self._keys.lock_key(cid))
                pipe.time()
                *rows, (secs, micros) = await pipe.execute()
        now = int(secs) * 1000 + int(micros) // 1000
        locks = []
        for cid, row in zip(conversation_ids, rows, strict=True):
            f = {_s(k): _s(v) for k, v in row.items()}
            prompt = int(f.get("prompt", "0"))
            if not f or now >= int(f["deadline"]) or (prompt and now >= prompt):
                continue
            locks.append(
                Lock(
                    conversation_id=cid,
                    team_id=int(f["team"]),
                    inbox_id=int(f["inbox"]),
                    holder=_holder(f["holder"], f["name"], f["kind"]),
                    token=int(f["token"]),
                    since_ms=int(f["since"]),
                    expires_at_ms=int(f["deadline"]),
                    prompt_release_at_ms=prompt,
                )
            )
        return locks

    async def due(self) -> list[tuple[int, int]]:
        """(team, conversation) pairs whose idle prompt or release time has come."""
        with redis_errors():
            members = await self._due(keys=[self._keys.locks_due_key()], args=[SWEEP_BATCH])
        pairs = (_s(m).split(":") for m in members)
        return [(int(team), int(cid)) for team, cid in pairs]

    async def sweep(self, team_id: int, conversation_id: int) -> Released | IdlePrompt | None:
        """Act on one due entry; only one process gets a result for each due moment."""
        keys = [
            self._keys.lock_key(conversation_id),
            self._keys.locks_due_key(),
            self._keys.fence_key(conversation_id),
        ]
        args: list[str | int] = [
            _member(team_id, conversation_id),
            self._idle_ms,
            self._grace_ms,
            self._keys.held_key_prefix(),
            conversation_id,
            FENCE_TTL_MS,
        ]
        with redis_errors():
            result = await self._sweep(keys=keys, args=args)
        if result[0] == 0:
            return None
        holder, inbox = _holder(*result[1:4]), int(_s(result[4]))
        if result[0] == 1:
            version = int(_s(result[6]))
            return IdlePrompt(conversation_id, team_id, inbox, holder, int(result[5]), version)
        return Released(conversation_id, team_id, inbox, holder, _s(result[5]), int(_s(result[6])))
