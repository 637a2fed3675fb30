"""Twilio's webhooks while another process holds the store's write lock (issue 12, item 8):
answered within a few seconds instead of 500 after 30, kept in the data dir, and applied once,
in arrival order, when the store is back, even across a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from inbox.db import Database
from server.spool import SPOOL_DIR
from tests.conftest import Running, running
from tests.fake_twilio import FakeTwilio
from tests.faults.outbox_parts import history
from tests.faults.test_outbox_restart import Serve
from tests.helpers import FRONT_DESK, Agent, Twilio, login

# How long a webhook waits for the store before it keeps the text in the data dir instead.
STORE_WAIT_SECS = 1.0
# Twilio gives a webhook 15 s: an answer slower than this would be lost on Twilio's side.
TWILIO_PATIENCE_SECS = 15.0


@asynccontextmanager
async def stalled(database_url: str) -> AsyncIterator[None]:
    """Hold the store's write lock, as a stalled process in the middle of a write would."""
    db = Database(database_url)
    try:
        async with db.write() as session:
            await session.connection()  # the transaction begins (and takes the lock) here
            yield
    finally:
        await db.dispose()


async def inbound(twilio: Twilio, from_: str, body: str, sid: str) -> httpx.Response:
    params = {"MessageSid": sid, "From": from_, "To": FRONT_DESK, "Body": body, "NumMedia": "0"}
    async with httpx.AsyncClient(base_url=twilio.base_url, timeout=TWILIO_PATIENCE_SECS) as client:
        headers = {"X-Twilio-Signature": twilio.sign("/webhooks/twilio/messages", params)}
        return await client.post("/webhooks/twilio/messages", data=params, headers=headers)


@pytest.fixture
async def spooling_server(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> AsyncIterator[Running]:
    with running(
        tmp_path / "data",
        clean_redis,
        fake_twilio,
        database_url=database_url,
        webhook_store_wait_secs=STORE_WAIT_SECS,
    ) as server:
        yield server


async def test_a_text_that_arrives_while_the_store_is_stalled_is_answered_and_shown_later(
    spooling_server: Running,
) -> None:
    server = spooling_server
    bob = await login(server.url, "bob")
    watcher = await Agent.connect(server.url, cookies=bob.cookies)
    number = "+15552040001"
    async with stalled(server.settings.database_url):
        answered = await inbound(server.twilio, number, "Is the pool open?", "SMspool1")
        assert answered.status_code == 200, answered.text
        assert "<Response" in answered.text
        # A forged one is still refused, and nothing of it is kept.
        params = {"MessageSid": "SMforged", "From": number, "To": FRONT_DESK, "Body": "forged"}
        forged = await server.twilio.post("/webhooks/twilio/messages", params, signature="bad")
        assert forged.status_code == 403
        # Twilio sending the same one again is no second text.
        again = await inbound(server.twilio, number, "Is the pool open?", "SMspool1")
        assert again.status_code == 200
    created = await watcher.next_event("message.created")
    assert created["data"]["message"]["body"] == "Is the pool open?"
    after = await inbound(server.twilio, number, "Hello?", "SMspool2")
    assert after.status_code == 200
    nxt = await watcher.next_event("message.created")
    assert nxt["data"]["message"]["body"] == "Hello?"  # no copy of the first, nothing forged
    conversation_id = created["data"]["conversation"]["id"]
    bodies = [m["body"] for m in await history(bob, conversation_id)]
    assert bodies == ["Is the pool open?", "Hello?"]
    await watcher.close()


async def test_a_status_callback_while_the_store_is_stalled_is_applied_later(
    spooling_server: Running,
) -> None:
    server = spooling_server
    bob = await login(server.url, "bob")
    watcher = await Agent.connect(server.url, cookies=bob.cookies)
    conversation = await bob.post(
        "/api/v1/conversations", json={"inbox_id": 1, "to": "+15552040002"}
    )
    conversation_id = conversation.json()["id"]
    sent = await bob.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"body": "On my way."}
    )
    message_id = sent.json()["id"]
    (text,) = await asyncio.to_thread(server.fake.wait_for_messages, 1)
    await watcher.next_event("message.status", lambda d: d["message"]["provider_sid"] is not None)
    path = f"/webhooks/twilio/status?message_id={message_id}"
    params = {"MessageSid": text["sid"], "MessageStatus": "delivered"}
    async with stalled(server.settings.database_url):
        async with httpx.AsyncClient(base_url=server.url, timeout=TWILIO_PATIENCE_SECS) as client:
            answered = await client.post(
                path, data=params, headers={"X-Twilio-Signature": server.twilio.sign(path, params)}
            )
        assert answered.status_code == 200, answered.text
    status = await watcher.next_event(
        "message.status", lambda d: d["message"]["status"] == "delivered"
    )
    assert status["data"]["message"]["id"] == message_id
    await watcher.close()


async def test_texts_kept_while_the_store_was_stalled_survive_a_sigkill_and_arrive_in_order(
    tmp_path: Path, database_url: str, serve_redis: str | None, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    serve = Serve(tmp_path / "data", database_url, serve_redis, *fake_twilio)
    serve.env["SWITCHBOARD_WEBHOOK_STORE_WAIT"] = str(STORE_WAIT_SECS)
    serve.start()
    try:
        twilio = Twilio(fake_twilio[0].auth_token, serve.url)
        bob = await login(serve.url, "bob")
        bodies = [f"text {i} while the store was stuck" for i in range(3)]
        async with stalled(serve.database_url):
            for i, body in enumerate(bodies):
                answered = await inbound(twilio, "+15552040003", body, f"SMkept{i}")
                assert answered.status_code == 200, answered.text
            serve.kill()  # before the store took any of them
        serve.start()
        bob = await login(serve.url, "bob")
        watcher = await Agent.connect(serve.url, cookies=bob.cookies, hello=0)
        seen = [
            (await watcher.next_event("message.created", lambda d: d["message"]["body"] in bodies))
            for _ in bodies
        ]
        assert [e["data"]["message"]["body"] for e in seen] == bodies
        conversation_id = seen[0]["data"]["conversation"]["id"]
        assert [m["body"] for m in await history(bob, conversation_id)] == bodies
        await watcher.close()
    finally:
        serve.kill()


async def test_when_the_data_dir_cannot_keep_a_webhook_it_waits_for_the_store_then_says_so(
    spooling_server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing to keep it in (the spool's place is taken by a file, as a full or read-only disk
    would refuse it): the webhook waits for the store up to 12 s in all, then answers 503; the
    attempt goes on, and stores the text once the store is back."""
    server = spooling_server
    (server.settings.data_dir / SPOOL_DIR).write_text("not a directory")
    bob = await login(server.url, "bob")
    watcher = await Agent.connect(server.url, cookies=bob.cookies)
    number = "+15552040004"
    async with stalled(server.settings.database_url):
        waiting = asyncio.create_task(inbound(server.twilio, number, "Anyone there?", "SMnodir1"))
        async with asyncio.timeout(TWILIO_PATIENCE_SECS):
            while not any("cannot keep it" in r.getMessage() for r in caplog.records):
                await asyncio.sleep(0.05)
    answered = await waiting
    assert answered.status_code == 200  # the store came back while it waited
    created = await watcher.next_event("message.created")
    assert created["data"]["message"]["body"] == "Anyone there?"
    async with stalled(server.settings.database_url):
        refused = await inbound(server.twilio, number, "Still there?", "SMnodir2")
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "store_unavailable"
    late = await watcher.next_event("message.created")  # the attempt lived on
    assert late["data"]["message"]["body"] == "Still there?"
    conversation_id = created["data"]["conversation"]["id"]
    assert [m["body"] for m in await history(bob, conversation_id)] == [
        "Anyone there?",
        "Still there?",
    ]
    await watcher.close()
