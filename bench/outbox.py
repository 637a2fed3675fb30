"""What the outbox and the webhook spool cost (docs/reliability.md, "Outbox and webhooks").

    .venv/bin/python bench/outbox.py [--sends 200] [--repo PATH] [--stalls 5]

Starts one `switchboard serve` (the code in `--repo`, default this checkout, so a checkout of
the code before the outbox can be measured the same way) with Twilio pointed at the tests' fake
Twilio in this process, then:

- **reply to Twilio**: `--sends` replies one after the other, each timed from just before its
  POST to the moment the fake has the create, and to the moment the socket shows the message
  with its sid (`message.status`; the old code showed that too);
- **webhook with the store stalled** (`--stalls` times, this checkout only): this process
  holds the store's write lock; a signed inbound webhook is timed to its answer, then the lock
  is released and the time to the text's `message.created` on the socket is taken.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inbox.db import Database  # noqa: E402
from tests.fake_twilio import FakeTwilio  # noqa: E402
from tests.helpers import FRONT_DESK, ServerThread, Twilio, free_port, login  # noqa: E402

HERE = Path(__file__).resolve().parent.parent


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def start(
    repo: Path, data_dir: Path, fake: FakeTwilio, fake_url: str, port: int
) -> tuple[subprocess.Popen[bytes], str]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "TWILIO_"))
    }
    environment |= {
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "SWITCHBOARD_TWILIO_API_URL": fake_url,
        "PYTHONPATH": str(repo),
    }
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "server.cli", "serve", "--demo", "--port", str(port)]
    command += ["--data-dir", str(data_dir), "--public-url", url, "--log-level", "warning"]
    log = (data_dir.parent / "serve.log").open("w")
    proc = subprocess.Popen(
        command, cwd=repo, env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/healthz").status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(
                f"the server did not start: {(data_dir.parent / 'serve.log').read_text()}"
            )
        time.sleep(0.05)


async def socket_of(url: str, cookies: httpx.Cookies) -> websockets.ClientConnection:
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return await websockets.connect(
        url.replace("http", "ws", 1) + "/ws",
        additional_headers={"Cookie": cookie},
        origin=websockets.Origin(url),
        max_size=None,
    )


async def next_event(
    ws: websockets.ClientConnection, type_: str, test: Callable[[dict[str, Any]], Any]
) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if frame.get("type") == type_ and test(frame["data"]):
            return frame


async def replies(url: str, fake: FakeTwilio, sends: int) -> tuple[list[float], list[float]]:
    bob = await login(url, "bob")
    ws = await socket_of(url, bob.cookies)
    conversation = (
        await bob.post("/api/v1/conversations", json={"inbox_id": 1, "to": "+15553010001"})
    ).json()["id"]
    to_twilio: list[float] = []
    to_socket: list[float] = []
    for i in range(sends):
        started = time.perf_counter()
        sent = await bob.post(
            f"/api/v1/conversations/{conversation}/messages", json={"body": f"reply {i}"}
        )
        message_id = sent.json()["id"]
        await asyncio.to_thread(fake.wait_until, lambda f, n=i + 1: f.create_calls >= n)
        to_twilio.append(time.perf_counter() - started)
        await next_event(
            ws,
            "message.status",
            lambda d, m=message_id: d["message"]["id"] == m and d["message"]["provider_sid"],
        )
        to_socket.append(time.perf_counter() - started)
    await ws.close()
    return to_twilio, to_socket


async def stalls(
    url: str, database_url: str, auth_token: str, count: int
) -> tuple[list[float], list[float]]:
    bob = await login(url, "bob")
    ws = await socket_of(url, bob.cookies)
    twilio = Twilio(auth_token, url)
    answered: list[float] = []
    shown: list[float] = []
    for i in range(count):
        db = Database(database_url)
        async with db.write() as session:
            await session.connection()
            started = time.perf_counter()
            params = {
                "MessageSid": f"SMbench{i}",
                "From": "+15553010002",
                "To": FRONT_DESK,
                "Body": f"stalled {i}",
                "NumMedia": "0",
            }
            async with httpx.AsyncClient(base_url=url, timeout=60) as client:
                response = await client.post(
                    "/webhooks/twilio/messages",
                    data=params,
                    headers={
                        "X-Twilio-Signature": twilio.sign("/webhooks/twilio/messages", params)
                    },
                )
            assert response.status_code == 200, response.text
            answered.append(time.perf_counter() - started)
            released = time.perf_counter()
        await db.dispose()
        await next_event(
            ws, "message.created", lambda d, b=f"stalled {i}": d["message"]["body"] == b
        )
        shown.append(time.perf_counter() - released)
    await ws.close()
    return answered, shown


def line(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    p50, p99, mean = pct(ms, 50), pct(ms, 99), statistics.mean(ms)
    return f"{name}: n={len(ms)} p50 {p50:.1f} ms, p99 {p99:.1f} ms, mean {mean:.1f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sends", type=int, default=200)
    parser.add_argument("--stalls", type=int, default=5)
    parser.add_argument("--repo", type=Path, default=HERE)
    args = parser.parse_args()
    fake = FakeTwilio()
    with ServerThread(fake.app()) as fake_server, tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        proc, url = start(args.repo.resolve(), data_dir, fake, fake_server.url, free_port())
        try:
            to_twilio, to_socket = await replies(url, fake, args.sends)
            print(line("reply POST -> create at Twilio", to_twilio))
            print(line("reply POST -> message.status with the sid", to_socket))
            if args.stalls and args.repo.resolve() == HERE:
                database_url = f"sqlite+aiosqlite:///{data_dir / 'switchboard.db'}"
                answered, shown = await stalls(url, database_url, fake.auth_token, args.stalls)
                print(line("webhook answer, store stalled", answered))
                print(line("store released -> message.created", shown))
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    asyncio.run(main())
