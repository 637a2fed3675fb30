"""Login flood benchmark (docs/performance.md, "Login flood").

One agent's socket pings a real `switchboard serve` every 60 ms and times each round trip, on
a quiet server and while LOOPS concurrent loops post wrong passwords to /login as fast as the
answers come, in turns (the machine's other load drifts; both phases see it alike). Run twice:
with the default throttle (the loops soon get 429s that cost nothing), and with the throttle
off (every attempt runs argon2, on the server's password threads): the second shows whether a
password check still stalls the loop. Reported: the ping's percentiles per phase, and the
flood's p90 and p99 as ratios to the quiet ones.

    .venv/bin/python bench/login_flood.py [--secs 30] [--cycles 6] [--loops 8] [--no-pin]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import percentile  # noqa: E402

from server.embedded_redis import embedded_redis  # noqa: E402

# Under the socket's command rate limit (20 a second, server/socket/endpoint.py).
PING_EVERY_SECS = 0.06
PASSWORD = "switchboard"


def start_server(
    data_dir: Path, redis_url: str, port: int, env_extra: dict[str, str]
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")} | env_extra
    command = [sys.executable, "-m", "server.cli", "serve", "--demo", "--port", str(port)]
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


async def pings(url: str, cookie: str, secs: float) -> list[float]:
    """Round trips (ms) of pings sent every PING_EVERY_SECS for `secs`."""
    async with websockets.connect(
        url.replace("http", "ws", 1) + "/ws",
        additional_headers={"Cookie": cookie},
        origin=websockets.Origin(url),
        max_size=None,
    ) as ws:
        samples: list[float] = []
        end = time.monotonic() + secs
        ref = 0
        while time.monotonic() < end:
            ref += 1
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "ping", "ref": ref}))
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("type") == "pong" and frame.get("ref") == ref:
                    break
                if frame.get("type") == "error":
                    raise RuntimeError(f"the server refused a ping: {frame}")
            samples.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(PING_EVERY_SECS)
        return samples


async def flood(url: str, loops: int, stop: asyncio.Event, answers: Counter[int]) -> None:
    async def loop(i: int) -> None:
        # Timeouts are no figure here: a guess waiting on the low-priority password threads
        # of a loaded machine may take seconds.
        client = httpx.AsyncClient(base_url=url, headers={"Origin": url}, timeout=120)
        async with client as http:
            while not stop.is_set():
                response = await http.post(
                    "/login", data={"username": "bob", "password": f"guess-{i}"}
                )
                answers[response.status_code] += 1

    await asyncio.gather(*(loop(i) for i in range(loops)))


async def measure(url: str, secs: float, loops: int, cycles: int) -> dict[str, object]:
    """Quiet and flood phases taken in turns (`cycles` of each, `secs` / `cycles` long), so a
    change in the machine's other load touches both alike."""
    async with httpx.AsyncClient(base_url=url, headers={"Origin": url}) as http:
        response = await http.post("/login", data={"username": "alice", "password": PASSWORD})
        assert response.status_code == 303, response.text
        cookie = f"switchboard_session={http.cookies['switchboard_session']}"
    quiet: list[float] = []
    busy: list[float] = []
    answers = Counter[int]()
    for _ in range(cycles):
        quiet += await pings(url, cookie, secs / cycles)
        stop = asyncio.Event()
        flooding = asyncio.create_task(flood(url, loops, stop, answers))
        await asyncio.sleep(0.5)  # the flood under way before the first sample
        busy += await pings(url, cookie, secs / cycles)
        stop.set()
        await flooding

    def summary(samples: list[float]) -> dict[str, float]:
        return {
            "samples": len(samples),
            "p50_ms": round(percentile(samples, 50), 2),
            "p90_ms": round(percentile(samples, 90), 2),
            "p99_ms": round(percentile(samples, 99), 2),
            "max_ms": round(max(samples), 2),
        }

    quiet_fig, busy_fig = summary(quiet), summary(busy)
    return {
        "quiet": quiet_fig,
        "flood": busy_fig,
        "p99_ratio": round(busy_fig["p99_ms"] / quiet_fig["p99_ms"], 2),
        "p90_ratio": round(busy_fig["p90_ms"] / quiet_fig["p90_ms"], 2),
        "login_answers": dict(sorted(answers.items())),
    }


def run_one(name: str, env_extra: dict[str, str], args: argparse.Namespace) -> dict[str, object]:
    cpus = sorted(os.sched_getaffinity(0))
    pinned = not args.no_pin and len(cpus) > 1
    if pinned:  # the server, its password threads and Redis on the first core...
        os.sched_setaffinity(0, cpus[:1])
    with tempfile.TemporaryDirectory() as tmp, embedded_redis(Path(tmp) / "redis", port=0) as url:
        data_dir = Path(tmp) / "data"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        proc = start_server(data_dir, url, port, env_extra)
        if pinned:  # ...and this client, the instrument, on the others
            os.sched_setaffinity(0, cpus[1:])
        try:
            url = f"http://127.0.0.1:{port}"
            figures = asyncio.run(measure(url, args.secs, args.loops, args.cycles))
        finally:
            os.sched_setaffinity(0, cpus)
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return {"run": name, "pinned": pinned, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secs", type=float, default=30.0, help="quiet (and flood) time in all")
    parser.add_argument("--cycles", type=int, default=6, help="quiet/flood turns")
    parser.add_argument("--loops", type=int, default=8, help="concurrent wrong-password loops")
    parser.add_argument("--no-pin", action="store_true", help="share the cores with the server")
    args = parser.parse_args()
    off = {
        "SWITCHBOARD_LOGIN_USER_FAILURES": "1000000000",
        "SWITCHBOARD_LOGIN_ADDRESS_FAILURES": "1000000000",
    }
    for name, env in (("throttle on (defaults)", {}), ("throttle off: argon2 every time", off)):
        print(json.dumps(run_one(name, env, args)))


if __name__ == "__main__":
    main()
