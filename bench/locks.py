"""Lock round trips over the socket, side by side with a bare Redis SET NX PX, and Redis
commands per lock operation (README.md, "Locks"; figures in docs/performance.md).

    .venv/bin/python bench/locks.py [--agents 200 --conversations 50 --inboxes 10 --seconds 15]

Starts a private redis-server and one `switchboard serve` process on a temp data dir, adds
`--agents` agents (bearer tokens) spread over `--inboxes` inboxes, makes `--conversations`
conversations among them, then every agent loops: think (`--think-ms` on average),
`lock.acquire` a random conversation of its inbox, and `lock.release` it when won. Meanwhile one
task of the same client process times `SET NX PX` + `DEL` against the same Redis with a bare
RESP client. Every round trip is timed from the send to the moment its answer is read off the
socket. The server and Redis run on the first core and this client on the others (`--no-pin`:
anywhere), so the client's reading of 200 agents' events does not preempt what it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import redis.asyncio as aioredis
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _agents import Agent as SocketAgent  # noqa: E402
from _agents import upgrade_request  # noqa: E402
from _stats import metrics_env, proc_cpu_secs  # noqa: E402
from fanout import free_port  # noqa: E402

from inbox import accounts  # noqa: E402
from inbox.db import Database  # noqa: E402
from inbox.models import Inbox, InboxMember, Team  # noqa: E402
from server.embedded_redis import embedded_redis  # noqa: E402

FRONT_DESK_ID = 1


@dataclass(frozen=True)
class Timing:
    """One round trip on the client's clock: sent, its answer read off the socket, and the
    awaiting task resumed (after whatever else the client process had to do first)."""

    started: float
    read_at: float
    resumed_at: float

    @property
    def ms(self) -> float:
        return (self.read_at - self.started) * 1000

    @property
    def resumed_ms(self) -> float:
        return (self.resumed_at - self.started) * 1000


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else 0.0


def start_server(data_dir: Path, redis_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env |= metrics_env()
    profile = (
        ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]] if "BENCH_PROFILE" in env else []
    )
    command = [sys.executable, *profile, "-m", "server.cli", "serve", "--demo", "--port", str(port)]
    command += ["--data-dir", str(data_dir), "--redis-url", redis_url, "--log-level", "warning"]
    log = (data_dir.parent / "serve.log").open("w")
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("switchboard serve did not start")


async def make_agents(db_url: str, count: int, inboxes: int) -> list[tuple[int, str]]:
    """`count` agents spread over `inboxes` inboxes (Front Desk first); (inbox id, token) each."""
    db = Database(db_url)
    agents = []
    async with db.write() as session:
        team = await session.get(Team, 1)
        assert team is not None and team.id is not None
        inbox_ids = [FRONT_DESK_ID]
        for n in range(1, inboxes):
            inbox = Inbox(
                team_id=team.id,
                name=f"Bench {n}",
                code=f"bench{n}",
                registration="registered",
                phone_number=f"+1555888{n:04d}",
            )
            session.add(inbox)
            await session.flush()
            assert inbox.id is not None
            inbox_ids.append(inbox.id)
        for i in range(count):
            user = await accounts.create_user(session, team.id, f"bench{i}", f"Bench {i}")
            assert user.id is not None
            inbox_id = inbox_ids[i % inboxes]
            session.add(InboxMember(inbox_id=inbox_id, user_id=user.id))
            agents.append((inbox_id, await accounts.create_token(session, user.id, "bench")))
    await db.dispose()
    return agents


class Agent(SocketAgent):
    """One agent on the bare asyncio protocol of bench/_agents.py: answers are parsed, the
    inbox's events are skipped unread, so the client process (all the agents and the bare
    `SET NX PX` timer) measures the server instead of saturating a core itself."""

    def __init__(self, request: bytes) -> None:
        super().__init__(request, {}, 0)
        self.ref = 0
        self.closing = False  # closed by the bench: no LOST line
        self.waiting: dict[str, asyncio.Future[tuple[float, dict[str, Any]]]] = {}

    def _event(self, payload: bytes) -> None:
        if b'"ref"' not in payload:
            return  # an event of the agent's inbox: only answers carry a ref
        read_at = time.perf_counter()
        frame = json.loads(payload)
        future = self.waiting.pop(str(frame.get("ref")), None)
        if future is not None and not future.done():
            future.set_result((read_at, frame))

    async def command(self, kind: str, data: dict[str, Any]) -> tuple[Timing, dict[str, Any]]:
        self.ref += 1
        ref = str(self.ref)
        future = self.waiting[ref] = asyncio.get_running_loop().create_future()
        started = time.perf_counter()
        self.send_text(json.dumps({"type": kind, "ref": ref, "data": data}).encode())
        read_at, frame = await asyncio.wait_for(future, 30)
        return Timing(started, read_at, time.perf_counter()), frame

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closing:
            super().connection_lost(exc)

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()


async def connect(base: str, token: str, path: str = "/ws") -> Agent:
    url = base.replace("http", "ws", 1) + path
    agent = Agent(upgrade_request(url, token))
    parts = urlsplit(url)
    await asyncio.get_running_loop().create_connection(lambda: agent, parts.hostname, parts.port)
    await agent.upgraded
    return agent


async def agent_loop(
    agent: Agent,
    conversations: list[int],
    until: float,
    think_ms: float,
    out: dict[str, list[Timing]],
    measure_from: float,
) -> None:
    rng = random.Random()
    while time.perf_counter() < until:
        await asyncio.sleep(rng.uniform(0, 2 * think_ms) / 1000)
        kept = out if time.perf_counter() >= measure_from else {k: [] for k in out}  # warm-up
        target = {"conversation_id": rng.choice(conversations)}
        timing, frame = await agent.command("lock.acquire", target)
        if frame["type"] == "ack":
            kept["acquire_won"].append(timing)
            timing, _ = await agent.command("lock.release", target)
            kept["release"].append(timing)
        else:
            assert frame["error"]["code"] == "locked", frame
            kept["acquire_refused"].append(timing)


class RespProbe(asyncio.Protocol):
    """A bare Redis client for the side-by-side `SET NX PX`: every reply it sends for is one
    line, timed as it is read, like the agents' answers."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.reply: asyncio.Future[float] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self.reply is not None and not self.reply.done() and data.endswith(b"\r\n"):
            self.reply.set_result(time.perf_counter())

    async def call(self, *args: str) -> Timing:
        assert self.transport is not None
        self.reply = asyncio.get_running_loop().create_future()
        command = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
        started = time.perf_counter()
        self.transport.write(command.encode())
        read_at = await self.reply
        return Timing(started, read_at, time.perf_counter())


async def bare_loop(redis_url: str, until: float, out: list[Timing], measure_from: float) -> None:
    loop = asyncio.get_running_loop()
    probe = RespProbe()
    if redis_url.startswith("unix://"):
        await loop.create_unix_connection(lambda: probe, redis_url.removeprefix("unix://"))
    else:
        parts = urlsplit(redis_url)
        await loop.create_connection(lambda: probe, parts.hostname, parts.port)
    while time.perf_counter() < until:
        timing = await probe.call("SET", "bench:bare", "x", "NX", "PX", "5000")
        if timing.started >= measure_from:
            out.append(timing)
        await probe.call("DEL", "bench:bare")
        await asyncio.sleep(0.005)
    assert probe.transport is not None
    probe.transport.close()


async def command_calls(redis: aioredis.Redis) -> dict[str, int]:
    stats = await redis.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}


QUIET_OPS = 30  # acquire + release pairs counted alone, for commands per operation
# The socket allows 20 commands a second per connection; stay under it.
QUIET_PAUSE_SECS = 0.06


async def commands_per_op(redis: aioredis.Redis, agent: Agent, conversation: int) -> None:
    """Redis commands per acquire and per release, one agent alone, minus the background
    (heartbeats, sweeps) counted over an idle window of the same length."""
    target = {"conversation_id": conversation}
    before = await command_calls(redis)
    started = time.perf_counter()
    for _ in range(QUIET_OPS):
        await agent.command("lock.acquire", target)
        await asyncio.sleep(QUIET_PAUSE_SECS)
        await agent.command("lock.release", target)
        await asyncio.sleep(QUIET_PAUSE_SECS)
    busy = time.perf_counter() - started
    middle = await command_calls(redis)
    await asyncio.sleep(busy)
    after = await command_calls(redis)
    work = {k: middle.get(k, 0) - before.get(k, 0) for k in middle}
    idle = {k: after.get(k, 0) - middle.get(k, 0) for k in after}
    net = {k: work.get(k, 0) - idle.get(k, 0) for k in work if k != "info"}
    net = {k: v for k, v in net.items() if v > 0}
    ops = 2 * QUIET_OPS
    print(
        f"redis commands per lock op alone: {sum(net.values()) / ops:.1f} "
        f"(round trips: {net.get('evalsha', 0) / ops:.1f} EVALSHA + pipelines); by command: "
        + ", ".join(f"{k} {v / ops:.1f}" for k, v in sorted(net.items(), key=lambda kv: -kv[1]))
    )


async def run(
    args: argparse.Namespace,
    data_dir: Path,
    redis_url: str,
    port: int,
    server: subprocess.Popen[bytes],
) -> None:
    db_url = f"sqlite+aiosqlite:///{data_dir / 'switchboard.db'}"
    made = await make_agents(db_url, args.agents, args.inboxes)
    base = f"http://127.0.0.1:{port}"
    by_inbox: dict[int, list[int]] = {}
    for i in range(args.conversations):
        inbox_id, token = made[i % len(made)]
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {token}"}
        ) as c:
            answer = await c.post(
                "/api/v1/conversations", json={"inbox_id": inbox_id, "to": f"+1555777{i:04d}"}
            )
        if answer.status_code >= 300:
            raise SystemExit(f"creating conversation {i}: {answer.status_code} {answer.text}")
        by_inbox.setdefault(inbox_id, []).append(int(answer.json()["id"]))
    agents = []
    for inbox_id, token in made:
        agents.append((await connect(base, token), by_inbox[inbox_id]))
    redis = aioredis.Redis.from_url(redis_url)
    await asyncio.sleep(1.0)  # let the connections' presence events settle
    before = await command_calls(redis)
    out, bare, server_cpu = await measure(args, redis_url, agents, server.pid)
    after = await command_calls(redis)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    delta = {k: v for k, v in delta.items() if v}
    delta["set"] = delta.get("set", 0) - len(bare)  # the bare loop's own commands
    delta["del"] = delta.get("del", 0) - len(bare)
    delta = {k: v for k, v in delta.items() if v > 0 and k != "info"}
    ops = sum(len(v) for v in out.values())
    print(
        f"agents={args.agents} conversations={args.conversations} seconds={args.seconds} "
        f"inboxes={args.inboxes} think_ms={args.think_ms} "
        f"lock_ops={ops} ({ops / args.seconds:.0f}/s)"
    )
    ours = report("switchboard", args, out, bare, server_cpu)
    total = sum(delta.values())
    print(f"redis commands per lock op under load: {total / ops:.2f} (incl. presence, sweeps)")
    await commands_per_op(redis, agents[0][0], agents[0][1][0])
    for a, _ in agents:
        a.close()
    await redis.aclose()
    if args.no_bare_server:
        return
    # The floor of the layout: the same agents, loops and fan-out against bench/_bare_locks.py
    # on the server's core, ours stopped first (its background work would share that core).
    stop(server)
    bare_server = start_bare_server(redis_url)
    try:
        agents = []
        for inbox_id, token in made:
            url = f"http://127.0.0.1:{bare_server.port}/ws/{inbox_id}"
            agents.append((await connect(url, token, path=""), by_inbox[inbox_id]))
        await asyncio.sleep(1.0)
        out, bare, server_cpu = await measure(args, redis_url, agents, bare_server.proc.pid)
        floor = report("bare lock server", args, out, bare, server_cpu)
        print(
            f"switchboard / bare lock server: p50 {ours[0] / floor[0]:.2f}x, "
            f"p99 {ours[1] / floor[1]:.2f}x"
        )
        for a, _ in agents:
            a.close()
    finally:
        bare_server.stop()


async def measure(
    args: argparse.Namespace,
    redis_url: str,
    agents: list[tuple[Agent, list[int]]],
    server_pid: int,
) -> tuple[dict[str, list[Timing]], list[Timing], float]:
    """Every agent's loop and the bare `SET NX PX` timer for `--warmup` + `--seconds`: the
    measured lock ops by outcome, the bare round trips, the server's CPU seconds meanwhile."""
    out: dict[str, list[Timing]] = {"acquire_won": [], "acquire_refused": [], "release": []}
    bare: list[Timing] = []
    # The client is the instrument: no collector pauses in it while it times (it runs for
    # seconds and allocates little); the server keeps its own collector, as in production.
    gc.collect()
    gc.disable()
    measure_from = time.perf_counter() + args.warmup
    until = measure_from + args.seconds
    cpu0 = 0.0

    async def start_measuring() -> None:
        nonlocal cpu0
        await asyncio.sleep(args.warmup)
        cpu0 = proc_cpu_secs(server_pid)

    await asyncio.gather(
        start_measuring(),
        bare_loop(redis_url, until, bare, measure_from),
        *(agent_loop(a, mine, until, args.think_ms, out, measure_from) for a, mine in agents),
    )
    server_cpu = proc_cpu_secs(server_pid) - cpu0
    gc.enable()
    return out, bare, server_cpu


def report(
    server: str,
    args: argparse.Namespace,
    out: dict[str, list[Timing]],
    bare: list[Timing],
    server_cpu: float,
) -> tuple[float, float]:
    """Print one server's figures; return its lock ops' p50 and p99 (ms)."""
    print(f"== {server}")
    ops = sum(len(v) for v in out.values())
    everything = [t for v in out.values() for t in v]
    rows = [*out.items(), ("all lock ops", everything), ("bare SET NX PX", bare)]
    for name, timings in rows:
        samples = [t.ms for t in timings]
        print(
            f"{name:16} n={len(samples):6} p50={pct(samples, 50):6.2f} ms  "
            f"p90={pct(samples, 90):6.2f} ms  p99={pct(samples, 99):6.2f} ms  "
            f"max={max(samples, default=0):6.2f} ms"
        )
    ours, theirs = [t.ms for t in everything], [t.ms for t in bare]
    print(
        f"ratio socket/bare: p50 {pct(ours, 50) / pct(theirs, 50):.1f}x, "
        f"p99 {pct(ours, 99) / pct(theirs, 99):.1f}x"
    )
    resumed, theirs_resumed = [t.resumed_ms for t in everything], [t.resumed_ms for t in bare]
    print(
        f"as the awaiting tasks saw them (plus the client's own turns): lock ops p50 "
        f"{pct(resumed, 50):.2f} ms p99 {pct(resumed, 99):.2f} ms, bare p50 "
        f"{pct(theirs_resumed, 50):.2f} ms p99 {pct(theirs_resumed, 99):.2f} ms"
    )
    print(
        f"server CPU per lock op: {server_cpu / max(ops, 1) * 1e3:.2f} ms "
        f"(busy {server_cpu / args.seconds:.0%} of one core)"
    )
    return pct(ours, 50), pct(ours, 99)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server as Ctrl-C would (killed after 30 s); nothing if it has ended."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class BareServer:
    proc: subprocess.Popen[bytes]
    port: int

    def stop(self) -> None:
        stop(self.proc)


def start_bare_server(redis_url: str) -> BareServer:
    port = free_port()
    script = Path(__file__).resolve().parent / "_bare_locks.py"
    proc = subprocess.Popen([sys.executable, str(script), str(port), redis_url])
    if SERVER_CPUS:
        os.sched_setaffinity(proc.pid, SERVER_CPUS)  # where switchboard serve ran
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return BareServer(proc, port)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the bare lock server did not start")


SERVER_CPUS: list[int] = []  # the server's core when pinned


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0, help="measured, after --warmup")
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="seconds of load first, not measured"
    )
    parser.add_argument(
        "--inboxes", type=int, default=10, help="agents and conversations spread over this many"
    )
    parser.add_argument("--think-ms", type=float, default=2000.0, help="mean pause between ops")
    parser.add_argument(
        "--no-bare-server",
        action="store_true",
        help="skip the second half: the same load against bench/_bare_locks.py, the floor",
    )
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="let the client share the server's core (by default the server and Redis get the "
        "first core and this client, 200 agents' worth of socket reading, the others)",
    )
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    pinned = not args.no_pin and len(cpus) > 1
    if pinned:  # Redis and the server start on the first core (children inherit it)...
        os.sched_setaffinity(0, cpus[:1])
        SERVER_CPUS[:] = cpus[:1]
    with tempfile.TemporaryDirectory() as tmp, embedded_redis(Path(tmp) / "redis", port=0) as url:
        data_dir = Path(tmp) / "data"
        port = free_port()
        proc = start_server(data_dir, url, port)
        if pinned:  # ...and the client, the instrument, takes the others
            os.sched_setaffinity(0, cpus[1:])
            print(f"pinned: server and Redis on cpu {cpus[0]}, this client on {cpus[1:]}")
        try:
            uvloop.run(run(args, data_dir, url, port, proc))  # as the server runs
        finally:
            stop(proc)


if __name__ == "__main__":
    main()
