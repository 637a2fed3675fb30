"""Locks across real server processes sharing Redis and the store: a holder's process killed
with SIGKILL leaves a lock that another process releases (`disconnected`) as soon as all of the
holder's connections have aged out (the presence TTL), long before the lock's own TTL."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Agent, free_port, login, wait_until_serving
from tests.presence.conftest import new_conversation
from tests.server.test_cli import _env

TIMINGS = {
    # Far longer than the wait for the release below (EVENT_WAIT_SECS): only the holder's
    # presence ageing out can release it in time.
    "SWITCHBOARD_LOCK_TTL": "120",
    "SWITCHBOARD_LOCK_IDLE_AFTER": "60",
    "SWITCHBOARD_LOCK_GRACE": "30",
    "SWITCHBOARD_PRESENCE_TTL": "1.5",
}


class Process:
    """`python -m server.cli serve` on a free port."""

    def __init__(self, data_dir: Path, database_url: str, redis_url: str, name: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"{name}.log"
        env = _env(database_url)
        command = [sys.executable, "-m", "server.cli", "serve", "--demo"]
        command += ["--port", str(self.port), "--data-dir", str(data_dir)]
        command += ["--redis-url", redis_url, "--log-level", "warning"]
        self.proc = subprocess.Popen(
            command, env=env | TIMINGS, stdout=self.log.open("w"), stderr=subprocess.STDOUT
        )
        wait_until_serving(self.url, self.proc, self.log)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def two_processes(
    tmp_path: Path, database_url: str, clean_redis: str
) -> Iterator[tuple[Process, Process]]:
    data = tmp_path / "data"
    first = Process(data, database_url, clean_redis, "first")  # seeds the demo team alone
    try:
        second = Process(data, database_url, clean_redis, "second")
    except BaseException:
        first.stop()
        raise
    yield first, second
    first.stop()
    second.stop()


async def test_lock_of_a_killed_process_is_released_once_its_holder_ages_out(
    two_processes: tuple[Process, Process],
) -> None:
    doomed, survivor = two_processes
    bob = await login(doomed.url, "bob")
    alice = await login(survivor.url, "alice")
    conversation = await new_conversation(alice, "+15552260001")
    alice_ws = await Agent.connect(survivor.url, cookies=alice.cookies)
    bob_ws = await Agent.connect(doomed.url, cookies=bob.cookies)
    await alice_ws.next_event(
        "presence.changed", lambda d: d["user"]["name"] == "Bob Agent" and d["status"] == "online"
    )
    taken = await bob_ws.command("lock.acquire", {"conversation_id": conversation})
    assert taken["type"] == "ack"
    await alice_ws.next_event("lock.acquired")

    doomed.proc.kill()  # SIGKILL: no cleanup, no disconnect, no release
    doomed.proc.wait()

    released = await alice_ws.next_event("lock.released")
    assert released["data"] == {
        "conversation_id": conversation,
        "holder": taken["data"]["holder"],
        "reason": "disconnected",
        "version": released["data"]["version"],
    }
    assert released["data"]["version"] > taken["data"]["version"]  # the release ends that hold
    assert released["ts"] < taken["data"]["expires_at"]  # long before the lock's TTL
    mine = await alice_ws.command("lock.acquire", {"conversation_id": conversation})
    assert mine["type"] == "ack"

    # Bob's connection stopped being refreshed: he goes offline, with no ghost left behind
    # (possibly announced before the release, so look at what alice already read first).
    def bob_offline(data: dict[str, Any]) -> bool:
        return bool(data["user"]["name"] == "Bob Agent" and data["status"] == "offline")

    read = [f for f in alice_ws.received if f.get("type") == "presence.changed"]
    if not any(bob_offline(f["data"]) for f in read):
        await alice_ws.next_event("presence.changed", bob_offline)
    await alice_ws.close()
