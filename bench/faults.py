"""Fault cases too long for the test suite, and the figures of docs/reliability.md.

    .venv/bin/python bench/faults.py bot [--races 2000 --window 1,16,64 --sends]
    .venv/bin/python bench/faults.py redis-kill [--agents 50 --outage 5 --rate 40]
    .venv/bin/python bench/faults.py redis-flush [--agents 50]
    .venv/bin/python bench/faults.py restart [--sockets 200 --signal TERM|KILL]

Each starts a private redis-server and a real `switchboard serve --demo` on a temp data dir
(loopback only), does what it says, checks nothing was lost or doubled, and prints figures.

- `bot`: one bot (a token socket, its allowance lifted) takes and releases locks at full speed
  (`--sends`: takes, sends a text, releases), `--window` races in flight at once: commands a
  second and round-trip percentiles (what the socket allowance of docs/reliability.md, "Rate
  limits", is sized against).
- `redis-kill`: agents connected, Twilio-signed webhooks at `--rate` a second; Redis is killed
  for `--outage` seconds and restarted empty. Rows lost, events missed or doubled per agent,
  webhooks refused, and how long after the restart the last agent had every text.
- `redis-flush`: agents connected, some holding locks; FLUSHALL. How long until every agent
  shows online again on the board, and until every lock's holder was told `lost`.
- `restart`: `--sockets` bus clients with texts arriving; the app gets SIGTERM (or SIGKILL) and
  starts again on the same port. Close codes seen, reconnect time percentiles, and events
  missed or doubled per client.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inbox import accounts  # noqa: E402
from inbox.db import Database  # noqa: E402
from inbox.models import InboxMember  # noqa: E402
from realtime.client import BusClient  # noqa: E402
from server.embedded_redis import embedded_redis  # noqa: E402
from tests.helpers import free_port, wait_until_serving  # noqa: E402

FRONT_DESK_ID = 1


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else 0.0


@dataclass
class Serve:
    """`switchboard serve --demo` on a port, with the given extra environment."""

    data_dir: Path
    redis_url: str
    port: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.data_dir / 'switchboard.db'}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "TWILIO"))}
        command = [sys.executable, "-m", "server.cli", "serve", "--demo", "--port", str(self.port)]
        command += ["--data-dir", str(self.data_dir), "--redis-url", self.redis_url]
        command += ["--log-level", "warning"]
        log = self.data_dir.parent / "serve.log"
        self.proc = subprocess.Popen(
            command, env=env | self.env, stdout=log.open("a"), stderr=subprocess.STDOUT
        )
        wait_until_serving(self.url, self.proc, log)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def served(env: dict[str, str]) -> Iterator[Serve]:
    with tempfile.TemporaryDirectory(prefix="faults-") as tmp:
        root = Path(tmp)
        with embedded_redis(root / "redis", port=free_port()) as redis_url:
            server = Serve(root / "data", redis_url, free_port(), env)
            server.start()
            try:
                yield server
            finally:
                server.stop()


async def make_bot(database_url: str, username: str) -> str:
    db = Database(database_url)
    try:
        async with db.write() as session:
            bot = await accounts.create_user(session, 1, username, username.title(), "bot")
            assert bot.id is not None
            session.add(InboxMember(inbox_id=FRONT_DESK_ID, user_id=bot.id))
            return await accounts.create_token(session, bot.id, "bench")
    finally:
        await db.dispose()


async def conversations(server: Serve, count: int) -> list[int]:
    async with httpx.AsyncClient(base_url=server.url, headers={"Origin": server.url}) as client:
        await client.post("/login", data={"username": "alice", "password": "switchboard"})
        ids = []
        for i in range(count):
            body = {"inbox_id": FRONT_DESK_ID, "to": f"+1555740{i:04d}"}
            ids.append(int((await client.post("/api/v1/conversations", json=body)).json()["id"]))
        return ids


# -- bot ---------------------------------------------------------------------------------------


async def bot_races(args: argparse.Namespace) -> None:
    lifted = {"SWITCHBOARD_BOT_SOCKET_RATE": "1e9", "SWITCHBOARD_BOT_SOCKET_BURST": "1e9"}
    kinds = ["lock.acquire", "message.send", "lock.release"] if args.sends else ["lock.acquire"]
    kinds += [] if args.sends else ["lock.release"]
    with served(lifted) as server:
        token = await make_bot(server.database_url, "racer")
        targets = await conversations(server, 64)
        async with BusClient(server.url, token=token) as bot:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="case", required=True)
    p = sub.add_parser("bot")
    p.add_argument("--races", type=int, default=2000)
    p.add_argument("--window", default="1,16,64")
    p.add_argument("--sends", action="store_true", help="take, send, release (a busy inbox's bot)")
    args = parser.parse_args()
    asyncio.run({"bot": bot_races}[args.case](args))


if __name__ == "__main__":
    main()
