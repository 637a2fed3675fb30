"""Ingest benchmark (docs/performance.md, "Ingest").

N Twilio-signed inbound webhooks (default 3,000, from a few hundred senders: the first text of
each makes its conversation, the rest append) are posted with C in flight (default 16) from a
separate client process (bench/_ingest_client.py: precomputed requests on keep-alive
connections) to a real `switchboard serve --demo`, and in the same run to a bare ingest server
(bench/_bare_ingest.py: Starlette, RequestValidator and one INSERT into WAL SQLite) on the same
uvicorn. Reported: webhooks/s, latency p50/p99, server CPU per webhook (the server's process
tree, its Redis apart), and our figures as ratios to the bare server's.

Variants: `quiet` (no agents connected), `agents` (1,000 agents on sockets, every text fanned
out to all of them; the ceiling is then the bare ingest server plus bench/_bare.py's
`broadcast()` of as many deliveries), and `postgres` (one and two `--workers` on a private
PostgreSQL cluster; event ids checked gap-free per team).

    .venv/bin/python bench/ingest.py [--webhooks 3000] [--concurrency 16] [--variants quiet,agents]
    .venv/bin/python bench/ingest.py --variants postgres
    # --profile DIR: py-spy the server under load (record, raw and speedscope) into DIR
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from twilio.request_validator import RequestValidator

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))
from _stats import machine_busy_secs, percentile, proc_cpu_secs  # noqa: E402
from fanout import (  # noqa: E402
    AUTH_TOKEN,
    FRONT_DESK,
    Agents,
    Bare,
    Switchboard,
    free_port,
    log,
    wait_healthy,
)
from fanout import run_target as fanout_run  # noqa: E402

PY = sys.executable
ACCOUNT_SID = "AC" + "0" * 32
PATH = "/webhooks/twilio/messages"
WARM_UP = "warm-up"


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (uvicorn's workers, the embedded redis-server)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += children.get(p, [])
    return tree


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def tree_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += proc_cpu_secs(pid)
        except OSError:
            pass
    return total


def twilio_params(k: int, senders: int, to: str) -> dict[str, str]:
    """What Twilio posts for an inbound SMS (its usual fields), text number k."""
    sid = f"SM{k:032x}"
    sender = f"+1555301{k % senders:04d}"
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "94105",
        "SmsSid": sid,
        "FromState": "CA",
        "SmsStatus": "received",
        "FromCity": "SAN FRANCISCO",
        "Body": f"bench-{k} " + "Hi, is my appointment still on for Tuesday at 3? Thanks!",
        "FromCountry": "US",
        "To": to,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


def signed_requests(url: str, n: int, senders: int, first: int = 0) -> bytes:
    """N whole HTTP requests, each prefixed by its length (bench/_ingest_client.py)."""
    validator = RequestValidator(AUTH_TOKEN)
    host = urlsplit(url).netloc
    out = bytearray()
    for k in range(first, first + n):
        params = twilio_params(k, senders, FRONT_DESK)
        body = urlencode(params).encode()
        head = (
            f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: TwilioProxy/1.1\r\n"
            f"Accept: */*\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
            f"X-Twilio-Signature: {validator.compute_signature(url + PATH, params)}\r\n"
            f"I-Twilio-Idempotency-Token: {random.getrandbits(128):032x}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        out += struct.pack("!Q", len(head) + len(body)) + head + body
    return bytes(out)


@dataclass
class Run:
    name: str
    webhooks: int
    secs: float = 0.0
    cpu_secs: float = 0.0  # the server's process tree, Redis excluded
    redis_cpu_secs: float = 0.0
    store_cpu_secs: float = 0.0  # PostgreSQL's processes, when on PostgreSQL
    client_cpu_secs: float = 0.0  # the bench's own client
    machine_busy_secs: float = 0.0  # every process of the machine, other users' included
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    deliveries: int = 0  # agent frames, in the agents variant

    @property
    def per_sec(self) -> float:
        return self.webhooks / self.secs

    @property
    def cpu_ms(self) -> float:
        """Server CPU per webhook, its Redis included."""
        return (self.cpu_secs + self.redis_cpu_secs) / self.webhooks * 1e3

    def as_dict(self) -> dict[str, Any]:
        return {
            "webhooks": self.webhooks,
            "webhooks_per_sec": round(self.per_sec, 1),
            "p50_ms": round(percentile(self.latencies, 50) * 1e3, 2),
            "p99_ms": round(percentile(self.latencies, 99) * 1e3, 2),
            "cpu_ms_per_webhook": round(self.cpu_ms, 3),
            "server_cpu_ms_per_webhook": round(self.cpu_secs / self.webhooks * 1e3, 3),
            "redis_cpu_ms_per_webhook": round(self.redis_cpu_secs / self.webhooks * 1e3, 3),
            "store_cpu_ms_per_webhook": round(self.store_cpu_secs / self.webhooks * 1e3, 3),
            "client_cpu_ms_per_webhook": round(self.client_cpu_secs / self.webhooks * 1e3, 3),
            "cores_busy": round(self.machine_busy_secs / self.secs, 2),
            "statuses": self.statuses,
        }

    def report(self) -> str:
        d = self.as_dict()
        store = f", PostgreSQL {d['store_cpu_ms_per_webhook']} ms" if self.store_cpu_secs else ""
        return (
            f"{self.name}: {self.webhooks} webhooks | {d['webhooks_per_sec']}/s | p50 "
            f"{d['p50_ms']} ms p99 {d['p99_ms']} ms | server CPU {d['cpu_ms_per_webhook']} ms per "
            f"webhook (Redis {d['redis_cpu_ms_per_webhook']} ms{store}) | client "
            f"{d['client_cpu_ms_per_webhook']} ms | cores busy {d['cores_busy']} of "
            f"{os.cpu_count()} | answers {d['statuses']}"
        )


class BareIngest:
    name = "bare ingest"

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [PY, str(HERE / "_bare_ingest.py"), str(port), str(data_dir), AUTH_TOKEN, self.url]
        )

    async def started(self) -> None:
        await wait_healthy(self.url, self.proc)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


async def _line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    return await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)


async def post_all(
    target: Any,
    requests: bytes,
    n: int,
    args: argparse.Namespace,
    name: str,
    agents: Agents | None = None,
    first: int = 0,
    store_pids: list[int] | None = None,
) -> Run:
    """Post the requests with `args.concurrency` in flight; measure the server meanwhile."""
    with tempfile.NamedTemporaryFile(prefix="ingest-", suffix=".bin", delete=False) as f:
        f.write(requests)
    client = subprocess.Popen(
        [PY, str(HERE / "_ingest_client.py"), "127.0.0.1", str(urlsplit(target.url).port)]
        + [f.name, str(args.concurrency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    try:
        if (await _line(client)).strip() != "READY":
            raise RuntimeError("the ingest client did not start")
        pids = process_tree(target.proc.pid)
        redis = [p for p in pids if comm(p).startswith("redis")]
        server = [p for p in pids if p not in redis and p != client.pid]
        store = store_pids or []
        cpu0, redis0, store0 = tree_cpu(server), tree_cpu(redis), tree_cpu(store)
        client0, machine0 = proc_cpu_secs(client.pid), machine_busy_secs()
        spy = start_profile(server, args, name)
        assert client.stdin is not None
        client.stdin.write("GO\n")
        client.stdin.flush()
        result = json.loads(await _line(client))
        client_secs = proc_cpu_secs(client.pid) - client0
        end = result["end"]
        if agents is not None:  # until every agent has every text
            end = max([end] + [await agents.wait_done(k) for k in range(first, first + n)])
        machine_secs = machine_busy_secs()
        run = Run(name, n, secs=end - result["start"])
        run.cpu_secs = tree_cpu(server) - cpu0
        run.redis_cpu_secs = tree_cpu(redis) - redis0
        run.store_cpu_secs = tree_cpu(store) - store0
        run.client_cpu_secs, run.machine_busy_secs = client_secs, machine_secs - machine0
        stop_profile(spy)
        run.latencies = result["latencies"]
        run.statuses = {str(k): v for k, v in result["statuses"].items()}
        if agents is not None:
            run.deliveries = n * agents.n
        return run
    finally:
        client.kill()
        client.wait()
        os.unlink(f.name)


def start_profile(pids: list[int], args: argparse.Namespace, name: str) -> list[Any]:
    if not args.profile or name == WARM_UP:
        return []
    args.profile.mkdir(parents=True, exist_ok=True)
    spies = []
    for pid in pids:
        out = args.profile / f"{name.replace(' ', '_')}-{pid}"
        spies.append(
            subprocess.Popen(
                [str(Path(PY).parent / "py-spy"), "record", "-p", str(pid), "-r", "250"]
                + ["--nonblocking", "-f", "raw", "-o", f"{out}.txt"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return spies


def stop_profile(spies: list[Any]) -> None:
    import signal

    for spy in spies:
        spy.send_signal(signal.SIGINT)
        spy.wait(60)


async def warm_up(target: Any, args: argparse.Namespace) -> None:
    """Each sender's first text (its conversation is made), so that the measured texts append,
    as most of a morning's do; and the server's first requests (imports, caches) out of the way.
    A tenth of the senders stay new, texting for the first time during the run."""
    known = args.senders - args.senders // 10
    requests = signed_requests(target.url, known, args.senders, first=10_000_000)
    await post_all(target, requests, known, args, WARM_UP)


async def quiet_variant(args: argparse.Namespace, tmp: Path) -> dict[str, Run]:
    runs: dict[str, Run] = {}
    bare = BareIngest(tmp / "bare")
    try:
        await start(bare)
        await warm_up(bare, args)
        requests = signed_requests(bare.url, args.webhooks, args.senders)
        runs["bare"] = await post_all(bare, requests, args.webhooks, args, "bare ingest")
    finally:
        bare.stop()
    ours = Switchboard(tmp / "ours" / "data")
    try:
        await start(ours)
        await warm_up(ours, args)
        requests = signed_requests(ours.url, args.webhooks, args.senders)
        runs["ours"] = await post_all(ours, requests, args.webhooks, args, "switchboard")
    except Exception:
        log("switchboard serve's log ends:\n" + ours.log_tail())
        raise
    finally:
        ours.stop()
    return runs


async def agents_variant(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    n = args.agent_webhooks
    ours = Switchboard(tmp / "agents" / "data")
    try:
        await start(ours)
        await warm_up(ours, args)
        log(f"connecting {args.agents} agents")
        agents = Agents(ours, args.agents)
        reader = asyncio.create_task(agents.read())
        try:
            await asyncio.wait_for(agents.ready.wait(), 300)
            requests = signed_requests(ours.url, n, args.senders)
            run = await post_all(ours, requests, n, args, "switchboard + agents", agents)
        finally:
            agents.stop()
            reader.cancel()
    except Exception:
        log("switchboard serve's log ends:\n" + ours.log_tail())
        raise
    finally:
        ours.stop()
    # The fan-out ceiling: bench/_bare.py broadcasting to as many agents (bench/fanout.py).
    bare = Bare("uvloop")
    if SERVER_CPUS:
        os.sched_setaffinity(bare.proc.pid, SERVER_CPUS)
    try:
        fan = argparse.Namespace(agents=args.agents, busy=n, idle_samples=0, profile=None)
        ceiling = await fanout_run(bare, fan)
    finally:
        bare.stop()
    return {"ours": run, "broadcast_us_per_delivery": ceiling.cpu_us_per_delivery}


async def postgres_variant(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from server.embedded_redis import embedded_redis
    from tests.stores import PostgresCluster

    cluster = PostgresCluster()
    cluster.start()
    out: dict[str, Any] = {}
    try:
        for workers in args.workers:
            url = cluster.create_empty_database()
            # A store other than SQLite needs the Redis and the secret every process shares, and an
            # empty one its schema.
            with embedded_redis(tmp / f"pg{workers}" / "redis") as redis_url:
                shared = {
                    "SWITCHBOARD_REDIS_URL": redis_url,
                    "SWITCHBOARD_SECRET_KEY": "b" * 48,
                    "SWITCHBOARD_MIGRATE": "1",
                }
                ours = Switchboard(
                    tmp / f"pg{workers}" / "data",
                    database_url=url,
                    workers=workers,
                    extra_env=shared,
                )
                try:
                    await start(ours)
                    await warm_up(ours, args)
                    requests = signed_requests(ours.url, args.webhooks, args.senders)
                    pg = process_tree(cluster._proc.pid)  # type: ignore[union-attr]
                    # and the shared Redis, started here rather than by the server
                    pg += [p for p in process_tree(os.getpid()) if comm(p) == "redis-server"]
                    name = f"switchboard --workers {workers} on PostgreSQL"
                    run = await post_all(ours, requests, args.webhooks, args, name, store_pids=pg)
                except Exception:
                    log("switchboard serve's log ends:\n" + ours.log_tail())
                    raise
                finally:
                    ours.stop()
            out[f"workers_{workers}"] = run
            out[f"gaps_{workers}"] = await event_id_gaps(url)
    finally:
        cluster.stop()
    return out


async def event_id_gaps(url: str) -> dict[int, int]:
    """Per team: how many ids between 1 and the team's last event id the log lacks."""
    from sqlalchemy import text

    from inbox.db import Database

    db = Database(url)
    try:
        async with db.read() as session:
            rows = await session.execute(
                text("SELECT team_id, count(*), max(id) FROM event GROUP BY team_id")
            )
            return {int(team): int(top) - int(count) for team, count, top in rows}
    finally:
        await db.dispose()


SERVER_CPUS: set[int] = set()  # where servers run when pinned (`pin`); empty: anywhere


def pin(args: argparse.Namespace) -> list[int] | None:
    """The servers and their Redis on the first core, this process and the clients (which
    inherit it) on the others, as bench/locks.py does; None when not pinned."""
    cpus = sorted(os.sched_getaffinity(0))
    if args.no_pin or len(cpus) < 2:
        return None
    SERVER_CPUS.add(cpus[0])
    os.sched_setaffinity(0, cpus[1:])
    return cpus


async def start(target: Any) -> None:
    """Wait for a server to answer, then move its process tree to the servers' core."""
    if SERVER_CPUS:
        os.sched_setaffinity(target.proc.pid, SERVER_CPUS)  # before it starts its Redis
    await target.started()
    for pid in process_tree(target.proc.pid) if SERVER_CPUS else []:
        os.sched_setaffinity(pid, SERVER_CPUS)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--webhooks", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--senders", type=int, default=300)
    parser.add_argument("--variants", default="quiet,agents")
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--agent-webhooks", type=int, default=300)
    parser.add_argument("--workers", type=lambda s: [int(w) for w in s.split(",")], default=[1, 2])
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--profile", type=Path, help="py-spy the servers into this directory")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it
    variants = args.variants.split(",")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    results: dict[str, Any] = {"load_average": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="switchboard-ingest-") as tmp_name:
        tmp = Path(tmp_name)
        cpus = pin(args) if "postgres" not in variants else None
        if cpus:
            print(f"pinned: servers and Redis on cpu {cpus[0]}, the clients on {cpus[1:]}")
        if "quiet" in variants:
            runs = await quiet_variant(args, tmp)
            bare, ours = runs["bare"], runs["ours"]
            for run in (bare, ours):
                print(run.report())
            print(
                f"ratios to the bare ingest server: CPU per webhook "
                f"{ours.cpu_ms / bare.cpu_ms:.2f}x, webhooks/s {ours.per_sec / bare.per_sec:.2f}x, "
                f"p50 {percentile(ours.latencies, 50) / percentile(bare.latencies, 50):.2f}x, "
                f"p99 {percentile(ours.latencies, 99) / percentile(bare.latencies, 99):.2f}x"
            )
            results["quiet"] = {"bare": bare.as_dict(), "switchboard": ours.as_dict()}
        if "agents" in variants:
            if "quiet" not in variants:
                raise SystemExit("the agents variant's ceiling needs the quiet variant's bare run")
            got = await agents_variant(args, tmp)
            run, fan_us = got["ours"], got["broadcast_us_per_delivery"]
            ceiling_ms = results["quiet"]["bare"]["cpu_ms_per_webhook"] + fan_us * args.agents / 1e3
            print(run.report())
            print(
                f"ceilings: bare ingest {results['quiet']['bare']['cpu_ms_per_webhook']} ms + "
                f"broadcast() {fan_us:.2f} us x {args.agents} agents = {ceiling_ms:.2f} ms per "
                f"webhook; ours {run.cpu_ms:.2f} ms = {run.cpu_ms / ceiling_ms:.2f}x"
            )
            results["agents"] = {
                "switchboard": run.as_dict(),
                "broadcast_us_per_delivery": round(fan_us, 2),
                "ceiling_ms_per_webhook": round(ceiling_ms, 3),
            }
        if "postgres" in variants:
            got = await postgres_variant(args, tmp)
            for workers in args.workers:
                print(got[f"workers_{workers}"].report())
                print(f"  event id gaps per team: {got[f'gaps_{workers}']}")
            if len(args.workers) > 1:
                one, most = got[f"workers_{args.workers[0]}"], got[f"workers_{args.workers[-1]}"]
                print(
                    f"--workers {args.workers[-1]} / --workers {args.workers[0]}: "
                    f"{most.per_sec / one.per_sec:.2f}x the webhooks/s"
                )
            results["postgres"] = {
                k: v.as_dict() if isinstance(v, Run) else v for k, v in got.items()
            }
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    started = time.monotonic()
    asyncio.run(main())
    log(f"done in {time.monotonic() - started:.0f} s")
