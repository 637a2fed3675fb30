"""Socket fan-out benchmark (docs/performance.md, "Socket fan-out").

N agents (default 1000) in a separate client process (bench/_agents.py) hold sockets to a
real `switchboard serve`; signed inbound webhooks are posted as fast as flow control allows
(at most WINDOW events not yet at every agent), then one at a time. The same workload then
runs against a bare `websockets.broadcast()` server (bench/_bare.py), and our figures are
reported as ratios to it. Last, IDLE sockets (default 10,000) are held open against each
server and the memory per connection is reported.

    .venv/bin/python bench/fanout.py [--agents 1000] [--busy 200] [--idle-samples 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import Figures, metrics_env, proc_cpu_secs, proc_rss_bytes  # noqa: E402

HERE = Path(__file__).resolve().parent
PY = sys.executable
AUTH_TOKEN = "bench-auth-token"
FRONT_DESK = "+15005550006"
WINDOW = 8  # events in flight: enough to keep the server busy, few enough to stay far from 4008
BODY_PAD = "x" * 100  # a typical text is one SMS segment


def log(line: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {line}\n")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_healthy(url: str, proc: subprocess.Popen[bytes], secs: float = 60) -> None:
    deadline = time.monotonic() + secs
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                if (await client.get(url + "/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not start")


class Target:
    """One server under test: how to start it and how to make it publish event k."""

    name: str
    url: str
    proc: subprocess.Popen[bytes]
    token: str | None = None
    frame_bytes = 800

    async def publish(self, client: httpx.AsyncClient, k: int) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Switchboard(Target):
    name = "switchboard"

    def __init__(
        self,
        data_dir: Path,
        database_url: str | None = None,
        workers: int = 1,
        command: list[str] | None = None,  # instead of `-m server.cli`
        extra_env: dict[str, str] | None = None,
    ) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
        env |= metrics_env()
        env |= {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": AUTH_TOKEN}
        env |= extra_env or {}
        self.data_dir = data_dir
        common = ["--data-dir", str(data_dir)]
        if database_url:
            common += ["--database-url", database_url]
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.log = (data_dir.parent / "serve.log").open("w")
        self.proc = subprocess.Popen(
            [
                PY,
                *(command or ["-m", "server.cli"]),
                "serve",
                "--demo",
                "--port",
                str(port),
                "--public-url",
            ]
            + [self.url, "--log-level", "warning", "--workers", str(workers), *common],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.env, self.common = env, common
        self.validator = RequestValidator(AUTH_TOKEN)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(Path(self.log.name).read_text().splitlines()[-lines:])

    async def started(self) -> None:
        await wait_healthy(self.url, self.proc)
        out = subprocess.run(
            [PY, "-m", "server.cli", "token", "create", "--user", "bob", *self.common],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        self.token = out.stdout.strip().splitlines()[-1]
        match = re.search(r"embedded redis-server \(pid (\d+)\)", Path(self.log.name).read_text())
        self.redis_pid = int(match.group(1)) if match else None

    async def publish(self, client: httpx.AsyncClient, k: int) -> None:
        params = {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": "AC" + "0" * 32,
            "From": f"+1555300{k % 10000:04d}",
            "To": FRONT_DESK,
            "Body": f"bench-{k} {BODY_PAD}",
            "NumMedia": "0",
        }
        path = "/webhooks/twilio/messages"
        signature = self.validator.compute_signature(self.url + path, params)
        response = await client.post(
            self.url + path, data=params, headers={"X-Twilio-Signature": signature}
        )
        response.raise_for_status()


class Bare(Target):
    def __init__(self, loop: str = "uvloop") -> None:
        port = free_port()
        self.name = f"bare broadcast() on {loop}"
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([PY, str(HERE / "_bare.py"), str(port), loop])
        self.redis_pid = None

    async def started(self) -> None:
        await wait_healthy(self.url, self.proc)

    async def publish(self, client: httpx.AsyncClient, k: int) -> None:
        response = await client.get(f"{self.url}/publish?k={k}&size={self.frame_bytes}")
        response.raise_for_status()


class Agents:
    """The client process and what it reports."""

    def __init__(self, target: Target, n: int) -> None:
        self.n = n
        ws_url = target.url.replace("http", "ws", 1) + "/ws"
        args = [PY, str(HERE / "_agents.py"), ws_url, str(n)] + (
            [target.token] if target.token else []
        )
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self.done: dict[int, float] = {}
        self.size: int | None = None
        self.changed = asyncio.Event()
        self.ready = asyncio.Event()
        self.closed: Counter[str] = Counter()  # close frames the server sent, by code and reason
        self.lost = 0  # connections gone

    async def read(self) -> None:
        assert self.proc.stdout is not None
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, self.proc.stdout.readline)
            if not line:
                return
            kind, *rest = line.split()
            if kind == "READY":
                self.ready.set()
            elif kind == "SIZE":
                self.size = int(rest[0])
            elif kind == "DONE":
                self.done[int(rest[0])] = float(rest[1])
                self.changed.set()
            elif kind == "CLOSED":
                self.closed[" ".join(rest)] += 1
            elif kind == "LOST":
                self.lost += 1

    async def wait_done(self, k: int) -> float:
        while k not in self.done:
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), 30)
            except TimeoutError:
                raise RuntimeError(
                    f"event {k} did not reach all {self.n} agents in 30 s; connections lost: "
                    f"{self.lost}, close frames: {dict(self.closed) or 'none'}"
                ) from None
        return self.done[k]

    def stop(self) -> None:
        """Stop the client process (its stdout closes, which ends `read`)."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def run_target(target: Target, args: argparse.Namespace) -> Figures:
    await target.started()  # type: ignore[attr-defined]
    log(f"{target.name}: started; connecting {args.agents} agents")
    agents = Agents(target, args.agents)
    reader = asyncio.create_task(agents.read())
    try:
        await asyncio.wait_for(agents.ready.wait(), 300)
        log(f"{target.name}: agents ready")
        figures = Figures(target.name, args.agents)
        async with httpx.AsyncClient(timeout=30) as client:
            # Warm up (and learn the frame size), then busy: WINDOW events in flight at most.
            await target.publish(client, 0)
            await agents.wait_done(0)
            figures.frame_bytes = agents.size
            log(f"{target.name}: warm; busy phase")
            k0, k_end = 1, 1 + args.busy
            posted: dict[int, float] = {}
            cpu0, redis0, t0 = proc_cpu_secs(target.proc.pid), None, time.monotonic()
            if target.redis_pid:
                redis0 = proc_cpu_secs(target.redis_pid)
            spy = None
            if args.profile and isinstance(target, Switchboard):
                spy = subprocess.Popen(
                    [str(Path(PY).parent / "py-spy"), "record", "-p", str(target.proc.pid)]
                    + ["-f", "raw", "-o", str(args.profile), "-r", "200"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            for k in range(k0, k_end):
                if k - WINDOW >= k0:
                    await agents.wait_done(k - WINDOW)
                posted[k] = time.monotonic()
                await target.publish(client, k)
            last = max([await agents.wait_done(k) for k in range(k0, k_end)])
            figures.busy_secs = last - t0
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(30)
            figures.cpu_secs = proc_cpu_secs(target.proc.pid) - cpu0
            if target.redis_pid and redis0 is not None:
                figures.redis_cpu_secs = proc_cpu_secs(target.redis_pid) - redis0
            figures.busy_deliveries = args.busy * args.agents
            figures.busy_latency = [agents.done[k] - posted[k] for k in range(k0, k_end)]
            log(f"{target.name}: idle phase")
            # Idle: one event at a time, each waited for.
            cpu0 = proc_cpu_secs(target.proc.pid)
            for k in range(k_end, k_end + args.idle_samples):
                start = time.monotonic()
                await target.publish(client, k)
                figures.idle_latency.append(await agents.wait_done(k) - start)
                await asyncio.sleep(0.02)
            figures.idle_cpu_secs = proc_cpu_secs(target.proc.pid) - cpu0
    finally:
        agents.stop()
        reader.cancel()
    return figures


async def idle_memory(target: Target, n: int) -> float:
    """Bytes of server RSS per idle connection, with `n` sockets held open."""
    await target.started()  # type: ignore[attr-defined]
    await asyncio.sleep(1)
    before = proc_rss_bytes(target.proc.pid)
    agents = Agents(target, n)
    reader = asyncio.create_task(agents.read())
    try:
        await asyncio.wait_for(agents.ready.wait(), 300)
        await asyncio.sleep(2)  # let the server settle (hello hold released, buffers trimmed)
        after = proc_rss_bytes(target.proc.pid)
    finally:
        agents.stop()
        reader.cancel()
    return (after - before) / n


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--busy", type=int, default=200, help="events in the busy phase")
    parser.add_argument("--idle-samples", type=int, default=200)
    parser.add_argument("--idle-connections", type=int, default=10_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--profile", type=Path, help="py-spy the server's busy phase into this")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as tmp:
        ours = Switchboard(Path(tmp) / "data")
        try:
            mine = await run_target(ours, args)
        except Exception:
            log("switchboard serve's log ends:\n" + ours.log_tail())
            raise
        finally:
            ours.stop()
        # The ceiling on both event loops; ratios are to the cheaper one.
        ceilings = []
        for loop in ("asyncio", "uvloop"):
            bare = Bare(loop)
            bare.frame_bytes = mine.frame_bytes or 800
            try:
                ceilings.append(await run_target(bare, args))
            finally:
                bare.stop()
        ceiling = min(ceilings, key=lambda f: f.cpu_us_per_delivery)
        for figures in (mine, *ceilings):
            print(figures.report())
        print(mine.ratios(ceiling))
        results = {"switchboard": mine.as_dict()}
        results |= {f"bare_{f.name.rsplit(' ', 1)[1]}": f.as_dict() for f in ceilings}
        if args.idle_connections:
            ours = Switchboard(Path(tmp) / "data2")
            try:
                per_conn = await idle_memory(ours, args.idle_connections)
            finally:
                ours.stop()
            bare = Bare("asyncio")
            try:
                bare_per_conn = await idle_memory(bare, args.idle_connections)
            finally:
                bare.stop()
            print(
                f"{args.idle_connections} idle sockets: switchboard {per_conn / 1024:.1f} KiB "
                f"per connection, bare {bare_per_conn / 1024:.1f} KiB"
            )
            results["idle"] = {
                "connections": args.idle_connections,
                "switchboard_bytes_per_conn": per_conn,
                "bare_bytes_per_conn": bare_per_conn,
            }
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
