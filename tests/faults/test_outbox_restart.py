"""The outbox across process deaths: a real `switchboard serve` SIGKILLed mid-send and started
again, and two worker processes sharing one store and the same owed texts (and the same due
campaigns). Each text reaches the fake Twilio exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.fake_twilio import FakeTwilio, hang, reject, stall, take_then_fail, take_then_hang
from tests.faults.outbox_parts import reply, texts_to, wait_for, wait_settled
from tests.helpers import (
    EVENT_WAIT_SECS,
    Agent,
    ServerThread,
    free_port,
    login,
    wait_until_serving,
)
from tests.server.test_cli import _env

# Claims expire quickly here, so a dead process's sends are taken over within seconds; the
# client's timeout stays well inside a claim (the settings refuse anything else).
CLAIM_SECS = 3.0
TWILIO_TIMEOUT_SECS = 0.5
# A hang guard for sends that wait out a claim and a restart, not a performance check.
TAKEOVER_WAIT_SECS = 60.0


class Serve:
    """`switchboard serve --demo` on a data dir, with Twilio pointed at the fake; it can be
    SIGKILLed and started again on the same data dir."""

    def __init__(
        self,
        data_dir: Path,
        database_url: str,
        redis_url: str | None,
        fake: FakeTwilio,
        fake_url: str,
        workers: int = 1,
    ) -> None:
        self.data_dir, self.database_url, self.workers = data_dir, database_url, workers
        self.env = _env(database_url, redis_url) | {
            "TWILIO_ACCOUNT_SID": fake.account_sid,
            "TWILIO_AUTH_TOKEN": fake.auth_token,
            "SWITCHBOARD_TWILIO_API_URL": fake_url,
            "SWITCHBOARD_TWILIO_TIMEOUT": str(TWILIO_TIMEOUT_SECS),
            "SWITCHBOARD_OUTBOX_CLAIM": str(CLAIM_SECS),
            "SWITCHBOARD_SEND_BACKOFF": "0.05",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        log = self.data_dir.parent / f"serve-{port}.log"
        command = [sys.executable, "-m", "server.cli", "serve", "--demo", "--port", str(port)]
        command += ["--data-dir", str(self.data_dir), "--workers", str(self.workers)]
        command += ["--public-url", self.url, "--log-level", "warning"]
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                command,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: workers and Redis die with it
            )
        wait_until_serving(self.url, self.proc, log)

    def kill(self) -> None:
        """SIGKILL the whole process group (`--workers` processes survive their parent's
        death otherwise, still serving)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def fake_api() -> Iterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio()
    with ServerThread(fake.app()) as server:
        yield fake, server.url


@pytest.fixture
def released() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def serve(
    tmp_path: Path,
    database_url: str,
    serve_redis: str | None,
    fake_api: tuple[FakeTwilio, str],
) -> Iterator[Serve]:
    server = Serve(tmp_path / "data", database_url, serve_redis, *fake_api)
    yield server
    server.kill()


async def test_a_reply_accepted_while_twilio_fails_is_sent_after_a_restart(
    serve: Serve, fake_api: tuple[FakeTwilio, str]
) -> None:
    """Issue 12: accepted (201) while Twilio answered 503, then a restart: it stayed queued."""
    fake = fake_api[0]
    fake.script(*[reject(503) for _ in range(1000)])
    serve.start()
    bob = await login(serve.url, "bob")
    sent = await reply(bob, "+15552020001", "Your prescription is ready.")
    await wait_for(fake, lambda f: f.create_calls >= 2)
    serve.kill()
    with fake.changed:
        fake.message_script.clear()  # Twilio is back
    serve.start()
    bob = await login(serve.url, "bob")
    watcher = await Agent.connect(serve.url, cookies=bob.cookies, hello=0)
    shown = await wait_settled(watcher, sent.message_id, TAKEOVER_WAIT_SECS)
    (text,) = texts_to(fake, "+15552020001")
    assert shown["provider_sid"] == text["sid"]
    await watcher.close()


@pytest.mark.parametrize("taken", [True, False], ids=["twilio-took-it", "twilio-did-not"])
async def test_a_send_cut_off_by_sigkill_is_finished_once_after_the_restart(
    serve: Serve, fake_api: tuple[FakeTwilio, str], released: threading.Event, taken: bool
) -> None:
    """The process dies while Twilio holds the create. Its claim expires; the restarted process
    asks Twilio what it has before sending: a text Twilio took is adopted, not sent again."""
    fake = fake_api[0]
    fake.script(take_then_hang(released) if taken else hang(released))
    serve.start()
    bob = await login(serve.url, "bob")
    number = "+15552020002"
    sent = await reply(bob, number, "The plumber comes at noon.")
    await wait_for(fake, lambda f: f.create_calls == 1)
    serve.kill()
    await wait_for(fake, lambda f: f.hangups == 1)
    released.set()
    if not taken:
        await wait_for(fake, lambda f: f.abandoned == 1)
    serve.start()
    bob = await login(serve.url, "bob")
    watcher = await Agent.connect(serve.url, cookies=bob.cookies, hello=0)
    shown = await wait_settled(watcher, sent.message_id, TAKEOVER_WAIT_SECS)
    (text,) = texts_to(fake, number)
    assert shown["provider_sid"] == text["sid"]
    assert fake.create_calls == (1 if taken else 2)
    await watcher.close()


async def test_two_processes_on_one_store_send_each_owed_text_once(
    tmp_path: Path, database_url: str, serve_redis: str | None, fake_api: tuple[FakeTwilio, str]
) -> None:
    """Two workers share the store and claim from the same outbox while Twilio fails in both
    directions (a 503 that took the text, a 500 that did not)."""
    fake = fake_api[0]
    count = 120
    # Creates slow enough that a batch is still going out when the other process looks.
    slow = stall(0.3)
    fake.script(*[[take_then_fail(503), reject(500), slow][i % 3] for i in range(count)])
    serve = Serve(tmp_path / "data", database_url, serve_redis, *fake_api, workers=2)
    serve.start()
    try:
        bob = await login(serve.url, "bob")
        bob.timeout = httpx.Timeout(EVENT_WAIT_SECS)
        numbers = [f"+15552030{i:03d}" for i in range(count)]
        response = await bob.post(
            "/api/v1/inboxes/1/bulk", json={"body": "Water is off 2-4pm.", "numbers": numbers}
        )
        assert response.status_code == 200, response.text
        assert response.json()["queued"] == count
        await asyncio.to_thread(fake.wait_for_messages, count, TAKEOVER_WAIT_SECS)
        watcher = await Agent.connect(serve.url, cookies=bob.cookies, hello=0)
        owed = {r["message_id"] for r in response.json()["items"]}
        async with asyncio.timeout(TAKEOVER_WAIT_SECS):
            while owed:
                event = await watcher.next_event("message.status")
                if event["data"]["message"]["provider_sid"]:
                    owed.discard(event["data"]["message"]["id"])
        assert sorted(m["to"] for m in fake.messages) == numbers
        await watcher.close()
    finally:
        serve.kill()


async def test_two_processes_send_a_scheduled_campaign_at_its_time_exactly_once(
    tmp_path: Path, database_url: str, serve_redis: str | None, fake_api: tuple[FakeTwilio, str]
) -> None:
    """Both workers' schedulers find the campaigns (one per inbox) due at the same moment; the
    claim in the write that stores the texts lets one of them send each, once."""
    fake = fake_api[0]
    serve = Serve(tmp_path / "data", database_url, serve_redis, *fake_api, workers=2)
    serve.start()
    try:
        alice = await login(serve.url, "alice")
        alice.timeout = httpx.Timeout(EVENT_WAIT_SECS)
        rows = (await alice.get("/api/v1/phone-numbers")).json()["items"]
        number_of = {r["inbox"]["id"]: r["id"] for r in rows if r["inbox"]}
        send_at = datetime.now(UTC) + timedelta(seconds=3)
        numbers = [f"+15552040{i:03d}" for i in range(40)]
        watcher = await Agent.connect(serve.url, cookies=alice.cookies)
        made = {}
        for inbox_id, recipients in ((1, numbers[:20]), (2, numbers[20:])):
            response = await alice.post(
                "/api/v1/campaigns",
                json={
                    "name": f"Reminder {inbox_id}",
                    "inbox_id": inbox_id,
                    "number_ids": [number_of[inbox_id]],
                    "body": "Your appointment is tomorrow.",
                    "numbers": recipients,
                    "send_at": send_at.isoformat(),
                    "archive_at": (send_at + timedelta(hours=1)).isoformat(),
                },
            )
            assert response.status_code == 201, response.text
            assert response.json()["status"] == "scheduled"
            made[response.json()["id"]] = inbox_id
        active: set[int] = set()
        while active != made.keys():
            event = await watcher.next_event(
                "campaign.updated",
                lambda d: d["campaign"]["status"] == "active",
                timeout=TAKEOVER_WAIT_SECS,
            )
            active.add(event["data"]["campaign"]["id"])
        await asyncio.to_thread(fake.wait_for_messages, len(numbers), TAKEOVER_WAIT_SECS)
        for campaign_id in made:
            shown = (await alice.get(f"/api/v1/campaigns/{campaign_id}")).json()
            assert shown["queued"] == 20, shown
            assert datetime.fromisoformat(shown["sent_at"]) >= send_at  # not before its time
        # Each recipient has one text in its thread, and Twilio got one text each.
        for inbox_id in (1, 2):
            listed = await alice.get(f"/api/v1/inboxes/{inbox_id}/conversations?limit=200")
            for conversation in listed.json()["items"]:
                if conversation["counterparty"] not in numbers:
                    continue
                history = await alice.get(f"/api/v1/conversations/{conversation['id']}/messages")
                outbound = [m for m in history.json()["items"] if m["direction"] == "outbound"]
                assert len(outbound) == 1, conversation["counterparty"]
        assert sorted(m["to"] for m in fake.messages) == numbers
        await watcher.close()
    finally:
        serve.kill()
