"""Fault cases too long for the test suite, and the figures of docs/reliability.md.

    .venv/bin/python bench/faults.py bot [--races 2000 --window 1,16,64 --sends]
    .venv/bin/python bench/faults.py restart [--sockets 200 --signal TERM|KILL]
    .venv/bin/python bench/faults.py redis-kill [--agents 50 --outage 5 --workers 1]
    .venv/bin/python bench/faults.py redis-flush [--agents 50]

Each starts a private redis-server and a real `switchboard serve --demo` on a temp data dir
(loopback only, tests/faults/parts.py), does what it says, checks that nothing was lost or
doubled (it stops with an AssertionError otherwise), and prints figures.

- `bot`: one bot (a token socket, its allowance lifted) takes and releases locks at full speed
  (`--sends`: takes, sends a text, releases), `--window` races in flight at once: commands a
  second and round-trip percentiles (what the socket allowance of docs/reliability.md, "Rate
  limits", is sized against).
- `restart`: `--sockets` bus clients of one user with texts arriving every 20 ms; the app gets
  SIGTERM or SIGKILL and starts again on its port. Downtime, time from the signal until each
  client is back, close codes, texts refused meanwhile (Twilio sends those again), and events
  missed or doubled.
- `redis-kill`: `--agents` bus clients, texts every 20 ms; Redis is killed for `--outage`
  seconds and restarted empty. Webhook answers, webhook-to-agent delay before, during and
  after the outage, and events missed or doubled.
- `redis-flush`: `--agents` agents (one user each), each holding a lock; FLUSHALL. Time until the
  board shows every agent online again, and until every holder was told `lost`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inbox import accounts  # noqa: E402
from inbox.db import Database  # noqa: E402
from inbox.models import InboxMember  # noqa: E402
from realtime.client import BusClient  # noqa: E402
from tests.faults.parts import (  # noqa: E402
    App,
    Listener,
    PrivateRedis,
    Texter,
    doubled,
    listeners,
    session_cookie,
)
from tests.stores import sqlite_url  # noqa: E402

FRONT_DESK_ID = 1
TEXT_EVERY_SECS = 0.02


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else 0.0


def spread(samples: list[float], unit: str = "ms", scale: float = 1000) -> str:
    if not samples:
        return "none"
    p50, p99, top = (pct(samples, 50) * scale, pct(samples, 99) * scale, max(samples) * scale)
    digits = 2 if unit == "s" else 0
    return (
        f"p50 {max(p50, 0):.{digits}f} {unit}, p99 {p99:.{digits}f} {unit}, "
        f"max {top:.{digits}f} {unit} (n={len(samples)})"
    )


@asynccontextmanager
async def deployment(workers: int = 1, **env: str) -> AsyncIterator[tuple[App, PrivateRedis]]:
    with tempfile.TemporaryDirectory(prefix="faults-") as tmp:
        root = Path(tmp)
        redis = PrivateRedis(root / "redis")
        redis.start()
        app = App(root / "data", sqlite_url(root / "data"), redis.url, workers, **env)
        try:
            app.start()
            yield app, redis
        finally:
            app.stop()
            redis.kill()


async def make_users(app: App, names: list[str], role: str) -> list[str]:
    """Users of Front Desk with a token each (as `switchboard token create` makes them)."""
    db = Database(app.database_url)
    tokens = []
    try:
        async with db.write() as session:
            for name in names:
                user = await accounts.create_user(session, 1, name, name.title(), role)
                assert user.id is not None
                session.add(InboxMember(inbox_id=FRONT_DESK_ID, user_id=user.id))
                tokens.append(await accounts.create_token(session, user.id, "bench"))
    finally:
        await db.dispose()
    return tokens


async def conversations(app: App, count: int, prefix: str = "+1555740") -> list[int]:
    async with httpx.AsyncClient(base_url=app.url, headers={"Origin": app.url}) as client:
        await client.post("/login", data={"username": "alice", "password": "switchboard"})
        ids = []
        for i in range(count):
            body = {"inbox_id": FRONT_DESK_ID, "to": f"{prefix}{i:04d}"}
            ids.append(int((await client.post("/api/v1/conversations", json=body)).json()["id"]))
        return ids


def check_exact(swarm: list[Listener], stored: list[str]) -> tuple[int, int]:
    """Events missed and doubled over all clients; both must be 0."""
    missed = sum(len([b for b in stored if b not in s.bodies]) for s in swarm)
    twice = sum(len(doubled(s.bodies)) for s in swarm)
    assert missed == 0 and twice == 0, (missed, twice)
    assert all(s.bodies == stored for s in swarm), "out of order"
    return missed, twice


# -- bot ---------------------------------------------------------------------------------------


async def bot_races(args: argparse.Namespace) -> None:
    lifted = {"SWITCHBOARD_BOT_SOCKET_RATE": "1e9", "SWITCHBOARD_BOT_SOCKET_BURST": "1e9"}
    kinds = ["lock.acquire", "message.send", "lock.release"] if args.sends else ["lock.acquire"]
    kinds += [] if args.sends else ["lock.release"]
    async with deployment(**lifted) as (app, _):
        (token,) = await make_users(app, ["racer"], "bot")
        targets = await conversations(app, 64)
        async with BusClient(app.url, token=token) as bot:
            events = asyncio.create_task(_drain(bot))
            for window in [int(w) for w in args.window.split(",")]:
                samples: list[float] = []
                gate = asyncio.Semaphore(window)
                began = time.perf_counter()
                await asyncio.gather(
                    *(
                        _race(bot, gate, kinds, targets[i % len(targets)], samples)
                        for i in range(args.races)
                    )
                )
                secs = time.perf_counter() - began
                print(
                    f"window {window:3d}: {len(samples) / secs:7.0f} commands/s, round trip "
                    f"p50 {pct(samples, 50):6.2f} ms, p99 {pct(samples, 99):6.2f} ms"
                )
            events.cancel()


async def _race(
    bot: BusClient, gate: asyncio.Semaphore, kinds: list[str], target: int, samples: list[float]
) -> None:
    async with gate:
        for kind in kinds:
            data: dict[str, object] = {"conversation_id": target}
            if kind == "message.send":
                data["body"] = "On it."
            started = time.perf_counter()
            await bot.command(kind, data)
            samples.append((time.perf_counter() - started) * 1000)


async def _drain(bot: BusClient) -> None:
    async for _ in bot.events():
        pass


# -- restart -----------------------------------------------------------------------------------


async def restart(args: argparse.Namespace) -> None:
    stop = signal.Signals[f"SIG{args.signal}"]
    async with deployment() as (app, _):
        cookie = await session_cookie(app.url, "bob")
        seeded = len(await app.stored_inbound())
        async with listeners(app.url, cookie, args.sockets) as swarm:
            texter = Texter(app.twilio, "before", TEXT_EVERY_SECS)
            texting = asyncio.create_task(texter.run())
            await texter.until_taken(20)
            back_at: dict[int, float] = {}
            watching = asyncio.create_task(_watch_reconnects(swarm, back_at))
            assert app.proc is not None
            signalled = time.monotonic()
            app.proc.send_signal(stop)
            await asyncio.to_thread(app.proc.wait, 60)
            gone = time.monotonic() - signalled
            await asyncio.to_thread(app.start)
            up = time.monotonic() - signalled
            await texter.until_taken(len(texter.taken) + 20)
            texter.stop()
            await texting
            assert await texter.post("the last one")
            async with asyncio.timeout(120):
                await asyncio.gather(*(s.until_seen("the last one") for s in swarm))
                while len(back_at) < len(swarm):
                    await asyncio.sleep(0.01)
            watching.cancel()
            stored = (await app.stored_inbound())[seeded:]
            assert set(texter.taken) <= set(stored) and doubled(stored) == []
            missed, twice = check_exact(swarm, stored)
            codes = Counter(s.client.close_codes[0] for s in swarm)
            resumed = [at - signalled for at in back_at.values()]
            print(f"SIG{args.signal}, {args.sockets} sockets of one user, a text every 20 ms")
            print(f"  close codes seen first: {dict(codes)}")
            print(f"  signal to the old process gone: {gone:.2f} s")
            print(f"  signal to the new process answering /healthz: {up:.2f} s")
            print(f"  signal to each client connected again: {spread(resumed, 's', 1)}")
            print(f"  texts taken {len(texter.taken)}, refused while down {len(texter.refused)}")
            print(f"  events missed {missed}, doubled {twice}, over {len(stored)} texts")


async def _watch_reconnects(swarm: list[Listener], back_at: dict[int, float]) -> None:
    while True:
        now = time.monotonic()
        for i, listener in enumerate(swarm):
            if i not in back_at and listener.client.connects >= 2:
                back_at[i] = now
        await asyncio.sleep(0.005)


# -- redis-kill --------------------------------------------------------------------------------


async def redis_kill(args: argparse.Namespace) -> None:
    async with deployment(args.workers) as (app, redis):
        cookie = await session_cookie(app.url, "carol")
        seeded = len(await app.stored_inbound())
        async with listeners(app.url, cookie, args.agents) as swarm:
            texter = Texter(app.twilio, "load", TEXT_EVERY_SECS)
            texting = asyncio.create_task(texter.run())
            await texter.until_taken(50)
            phase_of: dict[str, str] = {}
            mark = len(texter.taken)
            redis.kill()
            await asyncio.sleep(args.outage)
            during = len(texter.taken)
            redis.start()
            await texter.until_taken(during + 100)
            texter.stop()
            await texting
            assert await texter.post("the last one")
            async with asyncio.timeout(120):
                await asyncio.gather(*(s.until_seen("the last one") for s in swarm))
            for i, body in enumerate(texter.taken):
                phase_of[body] = "before" if i < mark else "during" if i < during else "after"
            stored = (await app.stored_inbound())[seeded:]
            assert set(texter.taken) <= set(stored) and doubled(stored) == []
            missed, twice = check_exact(swarm, stored)
            print(
                f"Redis killed {args.outage:.0f} s, {args.agents} agents, {args.workers} "
                "worker(s), a text every 20 ms"
            )
            print(f"  webhooks answered 200 {len(texter.taken)}, refused {len(texter.refused)}")
            for phase in ("before", "during", "after"):
                lags = [
                    s.arrived_at[body] - texter.taken_at[body]
                    for body, p in phase_of.items()
                    if p == phase
                    for s in swarm
                ]
                print(f"  webhook answer to agent, {phase} the outage: {spread(lags)}")
            print(f"  events missed {missed}, doubled {twice}, over {len(stored)} texts")


# -- redis-flush -------------------------------------------------------------------------------


async def redis_flush(args: argparse.Namespace) -> None:
    async with deployment() as (app, redis):
        names = [f"agent{i}" for i in range(args.agents)]
        tokens = await make_users(app, names, "agent")
        targets = await conversations(app, args.agents, "+1555750")
        clients = [BusClient(app.url, token=t) for t in tokens]
        await asyncio.gather(*(c.start() for c in clients))
        told: dict[int, float] = {}
        watchers = [asyncio.create_task(_lost(c, i, told)) for i, c in enumerate(clients)]
        for client, conversation in zip(clients, targets, strict=True):
            await client.command("lock.acquire", {"conversation_id": conversation})
        cookie = await session_cookie(app.url, "carol")
        async with httpx.AsyncClient(base_url=app.url, headers={"Cookie": cookie}) as board:
            assert await _online(board) >= args.agents
            client = aioredis.Redis.from_url(redis.url)
            flushed = time.monotonic()
            await client.flushall()
            await client.aclose()
            async with asyncio.timeout(120):
                while await _online(board) < args.agents:
                    await asyncio.sleep(0.01)
                online_again = time.monotonic() - flushed
                while len(told) < args.agents:
                    await asyncio.sleep(0.01)
        for task in watchers:
            task.cancel()
        await asyncio.gather(*(c.close() for c in clients))
        lost = [at - flushed for at in told.values()]
        print(f"FLUSHALL with {args.agents} agents connected, each holding a lock")
        print(f"  FLUSHALL to the board showing them all online again: {online_again:.2f} s")
        print(f"  FLUSHALL to each holder told lost: {spread(lost, 's', 1)}")


async def _online(board: httpx.AsyncClient) -> int:
    answer = await board.get("/api/v1/presence")
    if answer.status_code == 503:  # a connection of the old Redis, once each
        return 0
    items: list[dict[str, Any]] = answer.json()["items"]
    return sum(
        1 for i in items if i["user"]["name"].startswith("Agent") and i["status"] == "online"
    )


async def _lost(client: BusClient, i: int, told: dict[int, float]) -> None:
    async for event in client.events():
        if event.get("type") == "lock.released" and event["data"]["reason"] == "lost":
            told.setdefault(i, time.monotonic())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    sub = parser.add_subparsers(dest="case", required=True)
    p = sub.add_parser("bot")
    p.add_argument("--races", type=int, default=2000)
    p.add_argument("--window", default="1,16,64")
    p.add_argument("--sends", action="store_true", help="take, send, release (a busy inbox's bot)")
    p = sub.add_parser("restart")
    p.add_argument("--sockets", type=int, default=200)
    p.add_argument("--signal", choices=["TERM", "KILL"], default="TERM")
    p = sub.add_parser("redis-kill")
    p.add_argument("--agents", type=int, default=50)
    p.add_argument("--outage", type=float, default=5.0)
    p.add_argument("--workers", type=int, default=1, help="2: agents on both processes")
    p = sub.add_parser("redis-flush")
    p.add_argument("--agents", type=int, default=50)
    args = parser.parse_args()
    cases = {"bot": bot_races, "restart": restart, "redis-kill": redis_kill}
    cases["redis-flush"] = redis_flush
    asyncio.run(cases[args.case](args))


if __name__ == "__main__":
    main()
