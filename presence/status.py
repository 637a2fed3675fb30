"""Who is online, away or offline, and what they are viewing (README.md, "Presence").

A user's status folds all their connections, on every process: online while any live
connection had input lately, away when all have been quiet for `away_after`, offline when the
last one closes or none was refreshed for `ttl` (a process that died stops refreshing, so it
leaves no ghosts). Each process refreshes its own connections (`heartbeat`) and sweeps a shared
sorted set of users whose status may change with time; the script reports each change once."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from presence import _presence_scripts as lua
from presence.errors import redis_errors
from presence.keys import Keys
from presence.types import Holder

# Offline users stay on the supervisor board (and their record in Redis) for a day.
PRESENCE_RECORD_TTL_MS = 24 * 3600 * 1000
# The traffic cop remembers what a user was shown in a conversation for as long as a shift.
SEEN_TTL_MS = 12 * 3600 * 1000
SWEEP_BATCH = 200  # users re-evaluated per sweep
HEARTBEAT_BATCH = 50  # users refreshed per round trip


@dataclass(frozen=True)
class PresenceState:
    user: Holder
    team_id: int
    status: str  # online | away | offline
    viewing: int | None
    live_connections: int
    since_ms: int | None = None  # in this status since (Redis's clock); None: not known


@dataclass(frozen=True)
class _Local:
    user: Holder
    team_id: int


def _s(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class PresenceStore:
    def __init__(
        self, redis: aioredis.Redis, keys: Keys, ttl_secs: float, away_after_secs: float
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl_ms = int(ttl_secs * 1000)
        self._away_ms = int(away_after_secs * 1000)
        self._update = redis.register_script(lua.UPDATE)
        self._process = uuid.uuid4().hex[:12]
        self._serial = 0
        self._local: dict[str, _Local] = {}  # this process's connections
        # What each connection here last told Redis, to tell it again should Redis lose it:
        # what it views ("-": nothing), and when its input was written (monotonic).
        self._viewing: dict[str, str] = {}
        self._input_at: dict[str, float] = {}

    def new_connection_id(self) -> str:
        self._serial += 1
        return f"{self._process}-{self._serial}"

    async def _run(
        self, op: str, conn: str, user_id: int, local: _Local | None, viewing: str = "-"
    ) -> tuple[PresenceState | None, bool]:
        """Run one step; the state, and whether it changed from the last one published."""
        keys, args = self._step(op, conn, user_id, local, viewing)
        with redis_errors():
            result = await self._update(keys=keys, args=args)
        return _state(user_id, result)

    def _step(
        self, op: str, conn: str, user_id: int, local: _Local | None, viewing: str = "-"
    ) -> tuple[list[str], list[str | int]]:
        """The update script's keys and arguments for one step."""
        team = str(local.team_id) if local else ""
        name, kind = (local.user.name, local.user.kind) if local else ("", "")
        keys = [
            self._keys.connections_key(user_id),
            self._keys.presence_key(user_id),
            self._keys.team_users_key(local.team_id if local else 0),
            self._keys.presence_due_key(),
        ]
        args: list[str | int] = [op, conn, viewing, team, name, kind, self._ttl_ms, self._away_ms]
        return keys, [*args, user_id, PRESENCE_RECORD_TTL_MS]

    async def connect(self, conn: str, team_id: int, user: Holder) -> PresenceState | None:
        """Record a new connection; the user's new state when it changed, else None."""
        local = self._local[conn] = _Local(user, team_id)
        self._input_at[conn] = time.monotonic()
        state, changed = await self._run("connect", conn, user.id, local)
        return state if changed else None

    async def disconnect(self, conn: str) -> tuple[PresenceState | None, bool]:
        """Forget a closed connection; the user's state afterwards (always, so the caller can
        see `live_connections` reach 0 and release the user's locks), and whether it changed."""
        local = self._local.pop(conn, None)
        self._viewing.pop(conn, None)
        self._input_at.pop(conn, None)
        if local is None:
            return None, False
        return await self._run("disconnect", conn, local.user.id, local)

    async def input(self, conn: str) -> PresenceState | None:
        """The user did something on this connection (any command but ping)."""
        local = self._local.get(conn)
        if local is None:
            return None
        self._input_at[conn] = time.monotonic()
        state, changed = await self._run("input", conn, local.user.id, local)
        return state if changed else None

    async def view(self, conn: str, conversation_id: int | None) -> PresenceState | None:
        local = self._local.get(conn)
        if local is None:
            return None
        viewing = "-" if conversation_id is None else str(conversation_id)
        self._viewing[conn], self._input_at[conn] = viewing, time.monotonic()
        state, changed = await self._run("view", conn, local.user.id, local, viewing)
        return state if changed else None

    async def heartbeat(self) -> list[PresenceState]:
        """Refresh this process's live connections: one step per user for all their connections
        here (the step folds every connection of the user: one step per connection made a user
        with 1,000 sockets cost Redis a second per beat), HEARTBEAT_BATCH users per round trip
        (one at a time, 10,000 sockets took seconds of round trips). Connections Redis no longer
        has (it lost its data) and that are still open here are recorded again, with what they
        view. Returns the states that changed (rarely any)."""
        by_user = self._by_user(self._local)
        changes, missing = await self._steps("alive", by_user, lambda conns: " ".join(conns))
        lost = self._by_user({c: self._local[c] for c in missing if c in self._local})
        if lost:  # still open: not closed meanwhile (a closed one must not come back)
            revived, _ = await self._steps("revive", lost, self._revival)
            changes += revived
        return changes

    def _by_user(self, conns: dict[str, _Local]) -> list[tuple[_Local, list[str]]]:
        by_user: dict[int, tuple[_Local, list[str]]] = {}
        for conn, local in conns.items():
            by_user.setdefault(local.user.id, (local, []))[1].append(conn)
        return list(by_user.values())

    def _revival(self, conns: list[str]) -> str:
        now = time.monotonic()
        return " ".join(
            f"{c}={self._viewing.get(c, '-')}={int((now - self._input_at.get(c, now)) * 1000)}"
            for c in conns
        )

    async def _steps(
        self, op: str, users: list[tuple[_Local, list[str]]], arg: Callable[[list[str]], str]
    ) -> tuple[list[PresenceState], list[str]]:
        """One `op` step per user, HEARTBEAT_BATCH users per round trip: the states that
        changed, and the connections the steps reported missing."""
        changes, missing = [], []
        for start in range(0, len(users), HEARTBEAT_BATCH):
            batch = users[start : start + HEARTBEAT_BATCH]
            with redis_errors():
                async with self._redis.pipeline(transaction=False) as pipe:
                    for local, conns in batch:
                        keys, args = self._step(op, arg(conns), local.user.id, local)
                        await self._update(keys=keys, args=args, client=pipe)
                    results = await pipe.execute()
            for (local, _), result in zip(batch, results, strict=True):
                state, changed = _state(local.user.id, result)
                if changed and state is not None:
                    changes.append(state)
                if result:
                    missing += _s(result[7]).split()
        return changes, missing

    async def look(self, user_id: int) -> tuple[PresenceState | None, bool]:
        """Fold the user's connections now (the aged ones dropped): their state (None: no
        record), and whether it changed from the one last published."""
        return await self._run("sweep", "", user_id, None)

    async def sweep(self) -> list[PresenceState]:
        """Re-evaluate users whose status may have changed with time (away, gone)."""
        with redis_errors():
            t = await self._redis.time()
            now = int(t[0]) * 1000 + int(t[1]) // 1000
            due = await self._redis.zrangebyscore(
                self._keys.presence_due_key(), "-inf", now, 0, SWEEP_BATCH
            )
        changes = []
        for member in due:
            state, changed = await self._run("sweep", "", int(_s(member)), None)
            if changed and state is not None:
                changes.append(state)
        return changes

    async def team(self, team_id: int) -> list[PresenceState]:
        """Everyone of the team with a presence record, as last published."""
        with redis_errors():
            members = await self._redis.smembers(self._keys.team_users_key(team_id))
        return [s for s in await self.records(sorted(int(_s(m)) for m in members))]

    async def current(self, user_id: int) -> PresenceState | None:
        """The user's state as last published."""
        found = await self.records([user_id])
        return found[0] if found else None

    async def records(self, users: list[int]) -> list[PresenceState]:
        with redis_errors():
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in users:
                    pipe.hgetall(self._keys.presence_key(user_id))
                rows = await pipe.execute()
        states = []
        for user_id, row in zip(users, rows, strict=True):
            f = {_s(k): _s(v) for k, v in row.items()}
            if not f:
                continue
            states.append(
                PresenceState(
                    user=Holder(user_id, f["name"], f["kind"]),
                    team_id=int(f["team"]),
                    status=f["status"],
                    viewing=None if f["viewing"] == "-" else int(f["viewing"]),
                    live_connections=0 if f["status"] == "offline" else 1,
                    since_ms=int(f["since"]) if "since" in f else None,
                )
            )
        return states

    async def mark_seen(self, user_id: int, conversation_id: int, message_id: int) -> None:
        """The user has been shown the conversation up to `message_id` (the traffic cop)."""
        with redis_errors():
            await self._redis.set(
                self._keys.seen_key(user_id, conversation_id), message_id, px=SEEN_TTL_MS
            )

    async def seen(self, user_id: int, conversation_id: int) -> int | None:
        with redis_errors():
            value = await self._redis.get(self._keys.seen_key(user_id, conversation_id))
        return None if value is None else int(_s(value))


def _state(user_id: int, result: Any) -> tuple[PresenceState | None, bool]:
    """The update script's answer: the user's state, and whether it changed."""
    if not result:
        return None, False
    changed, live, status, view, team_id, name, kind, _missing = result
    state = PresenceState(
        user=Holder(user_id, _s(name), _s(kind)),
        team_id=int(_s(team_id)),
        status=_s(status),
        viewing=None if _s(view) == "-" else int(_s(view)),
        live_connections=int(live),
    )
    return state, changed == 1
