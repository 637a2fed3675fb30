"""The outbox against a fake Twilio that fails in each way (docs/reliability.md, "Outbox and
webhooks"): every accepted text reaches Twilio exactly once, or ends `failed` with Twilio's
reason, shown live; none stays `queued`."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from inbox import conversations, outbound
from inbox.db import MIGRATIONS_DIR, Database
from inbox.models import Inbox, Message, User
from server.demo import seed_demo
from tests.conftest import Running, make_settings, running
from tests.fake_twilio import (
    FakeTwilio,
    Step,
    hang,
    reject,
    stall,
    take_then_fail,
    take_then_hang,
    take_then_stall,
)
from tests.faults.outbox_parts import history, reply, texts_to, wait_for, wait_settled
from tests.helpers import EVENT_WAIT_SECS, FRONT_DESK, Agent, free_port, login

# The fake answers this much later than the client's timeout (0.5 s in the tests' settings).
LATE_SECS = 2.0
OUTBOX_REVISION = "0003_outbox"
# A hang guard for hundreds of provider calls, not a performance check.
DELIVERY_WAIT_SECS = 120.0


@pytest.fixture
def released() -> Iterator[threading.Event]:
    """An event a hanging create waits for; set at the end so the fake can stop."""
    event = threading.Event()
    yield event
    event.set()


# (the create's scripted answer, whether Twilio kept that first text, creates in all)
FAILURES: dict[str, tuple[Callable[[threading.Event], Step], bool, int]] = {
    "500 before taking": (lambda e: reject(500), False, 2),
    "503 before taking": (lambda e: reject(503), False, 2),
    "500 after taking": (lambda e: take_then_fail(500), True, 1),
    "503 after taking": (lambda e: take_then_fail(503), True, 1),
    "timeout before taking": (lambda e: stall(LATE_SECS), False, 2),
    "timeout after taking": (lambda e: take_then_stall(LATE_SECS), True, 1),
    "hang before taking": (hang, False, 2),
    "hang after taking": (take_then_hang, True, 1),
}


@pytest.mark.parametrize("failure", list(FAILURES), ids=list(FAILURES))
async def test_a_reply_reaches_twilio_once_whatever_the_first_create_does(
    app_server: Running, released: threading.Event, failure: str
) -> None:
    step, kept, creates = FAILURES[failure]
    fake = app_server.fake
    fake.script(step(released))
    bob = await login(app_server.url, "bob")
    watcher = await Agent.connect(app_server.url, cookies=bob.cookies)
    number = "+15552010001"
    sent = await reply(bob, number, "Your table is ready.")
    if failure.startswith("hang"):  # the client gives up first, then Twilio goes on
        await wait_for(fake, lambda f: f.hangups >= 1)
        released.set()
    shown = await wait_settled(watcher, sent.message_id)
    (text,) = texts_to(fake, number)
    assert shown["provider_sid"] == text["sid"]
    assert shown["status"] != "failed"
    if not kept:
        await wait_for(fake, lambda f: f.abandoned + f.create_calls >= 2)
    assert fake.create_calls == creates
    assert [m["provider_sid"] for m in await history(bob, sent.conversation_id)] == [text["sid"]]
    assert len(texts_to(fake, number)) == 1
    await watcher.close()


async def test_the_same_words_again_while_twilio_hangs_are_their_own_text(
    app_server: Running, released: threading.Event
) -> None:
    """Issue 12: the look-up matched the earlier text, hit UNIQUE(provider_sid) and left the
    new one queued forever."""
    fake = app_server.fake
    bob = await login(app_server.url, "bob")
    watcher = await Agent.connect(app_server.url, cookies=bob.cookies)
    number = "+15552010002"
    first = await reply(bob, number, "See you at 5.")
    first_sid = (await wait_settled(watcher, first.message_id))["provider_sid"]
    fake.script(take_then_hang(released))
    second = await reply(bob, number, "See you at 5.")
    shown = await wait_settled(watcher, second.message_id)
    released.set()
    texts = texts_to(fake, number)
    assert [t["sid"] for t in texts] == [first_sid, shown["provider_sid"]]
    assert shown["status"] != "failed"
    assert fake.create_calls == 2


async def test_while_twilio_cannot_say_what_it_has_the_text_is_not_sent_again(
    app_server: Running,
) -> None:
    """After a 503 that took the text, the look-up itself fails for a while: the outbox keeps
    asking rather than sending blind."""
    fake = app_server.fake
    fake.script(take_then_fail(503))
    fake.fail("GET", "/Messages.json", 500, times=3)
    bob = await login(app_server.url, "bob")
    watcher = await Agent.connect(app_server.url, cookies=bob.cookies)
    number = "+15552010003"
    sent = await reply(bob, number, "Parcel at the desk.")
    shown = await wait_settled(watcher, sent.message_id)
    (text,) = texts_to(fake, number)
    assert shown["provider_sid"] == text["sid"]
    assert fake.create_calls == 1
    assert len(fake.requests_to("GET", "/Messages.json")) == 4


async def test_a_text_twilio_never_takes_ends_failed_with_its_reason_shown_live(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    fake = fake_twilio[0]
    fake.script(*[reject(503) for _ in range(10)])
    with running(
        tmp_path / "data", clean_redis, fake_twilio, database_url=database_url, send_attempts=3
    ) as server:
        bob = await login(server.url, "bob")
        watcher = await Agent.connect(server.url, cookies=bob.cookies)
        sent = await reply(bob, "+15552010004", "Are you still coming?")
        shown = await wait_settled(watcher, sent.message_id)
        assert shown["status"] == "failed"
        assert "503" in (shown["error_message"] or "")
        assert fake.create_calls == 3  # the bound of the retry schedule
        (stored,) = await history(bob, sent.conversation_id)
        assert (stored["status"], stored["provider_sid"]) == ("failed", None)
        assert fake.messages == []


async def test_a_status_callback_settles_a_send_in_doubt(
    app_server: Running, released: threading.Event
) -> None:
    """Twilio's callback names the sid while the outbox cannot reach its list: the text is
    known sent and is never sent again."""
    fake = app_server.fake
    fake.script(take_then_hang(released))
    fake.fail("GET", "/Messages.json", 500, times=1000)
    bob = await login(app_server.url, "bob")
    watcher = await Agent.connect(app_server.url, cookies=bob.cookies)
    number = "+15552010005"
    sent = await reply(bob, number, "Keys are under the mat.")
    (taken,) = await asyncio.to_thread(fake.wait_for_messages, 1)
    await wait_for(fake, lambda f: len(f.requests_to("GET", "/Messages.json")) >= 2)
    path = str(taken["status_callback"]).removeprefix(app_server.url)
    params = {"MessageSid": taken["sid"], "MessageStatus": "sent", "AccountSid": fake.account_sid}
    assert (await app_server.twilio.post(path, params)).status_code == 200
    shown = await wait_settled(watcher, sent.message_id)
    assert (shown["provider_sid"], shown["status"]) == (taken["sid"], "sent")
    released.set()
    # Another text afterwards goes through the same worker: by the time it is out, the first
    # one had every chance to be sent again.
    with fake.changed:
        fake._failures.clear()
    later = await reply(bob, "+15552010006", "And the gate code is 1234.")
    await wait_settled(watcher, later.message_id)
    assert len(texts_to(fake, number)) == 1
    assert fake.create_calls == 2


async def test_the_help_answer_goes_through_the_outbox(app_server: Running) -> None:
    fake = app_server.fake
    fake.script(take_then_fail(503))
    bob = await login(app_server.url, "bob")
    watcher = await Agent.connect(app_server.url, cookies=bob.cookies)
    number = "+15552010007"
    assert (await app_server.twilio.inbound(FRONT_DESK, number, "HELP")).status_code == 200
    answer = await watcher.next_event(
        "message.created", lambda d: d["message"]["direction"] == "outbound"
    )
    shown = await wait_settled(watcher, answer["data"]["message"]["id"])
    (text,) = texts_to(fake, number)
    assert shown["provider_sid"] == text["sid"] and shown["automatic"] is True
    assert fake.create_calls == 1


async def test_a_bulk_send_goes_through_the_outbox_once_per_recipient(
    app_server: Running,
) -> None:
    fake = app_server.fake
    numbers = [f"+155520110{i:02d}" for i in range(30)]
    fake.script(*[[Step(), take_then_fail(503), reject(500)][i % 3] for i in range(30)])
    bob = await login(app_server.url, "bob")
    watcher = await Agent.connect(app_server.url, cookies=bob.cookies)
    response = await bob.post(
        "/api/v1/inboxes/1/bulk", json={"body": "We close early today.", "numbers": numbers}
    )
    assert response.status_code == 200, response.text
    assert response.json()["queued"] == len(numbers)
    owed = {r["message_id"]: r["to"] for r in response.json()["items"]}
    while owed:
        event = await watcher.next_event("message.status", lambda d: d["message"]["id"] in owed)
        message = event["data"]["message"]
        if message["provider_sid"]:
            to = owed.pop(message["id"])
            assert [t["sid"] for t in texts_to(fake, to)] == [message["provider_sid"]]
    assert sorted(m["to"] for m in fake.messages) == sorted(numbers)
    await watcher.close()


async def test_a_reply_is_not_queued_behind_a_bulk_send(app_server: Running) -> None:
    """Replies are claimed before bulk texts: one sent while a bulk send is going out leaves
    with the next batch, not after the last bulk text."""
    fake = app_server.fake
    count = 400
    fake.script(*[stall(0.05) for _ in range(count)])  # Twilio takes a while for each
    bob = await login(app_server.url, "bob")
    bob.timeout = httpx.Timeout(EVENT_WAIT_SECS)
    numbers = [f"+1555202{i:04d}" for i in range(count)]
    response = await bob.post(
        "/api/v1/inboxes/1/bulk", json={"body": "Rent is due Friday.", "numbers": numbers}
    )
    assert response.status_code == 200, response.text
    await reply(bob, "+15552019999", "Yes, 3pm works.")
    await asyncio.to_thread(fake.wait_for_messages, count + 1, DELIVERY_WAIT_SECS)
    order = [m["to"] for m in fake.messages]
    assert order.index("+15552019999") < count // 2


async def test_a_sandbox_reply_is_delivered_through_the_outbox(sandbox_server: str) -> None:
    bob = await login(sandbox_server, "bob")
    watcher = await Agent.connect(sandbox_server, cookies=bob.cookies)
    sent = await reply(bob, "+15552010008", "Simulated, but sent.")
    shown = await wait_settled(watcher, sent.message_id)
    assert shown["status"] == "delivered" and shown["provider_sid"]


def _downgrade(connection: Connection, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, revision)


async def test_texts_queued_before_the_upgrade_are_sent_after_it(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    """A store of the schema before the outbox with texts still queued (one never handed over,
    one Twilio had taken): after the upgrade the first is sent once, the second is left alone."""
    fake = fake_twilio[0]
    data_dir = tmp_path / "data"
    settings = make_settings(
        data_dir, clean_redis, free_port(), fake, fake_twilio[1], database_url=database_url
    )
    db = Database(settings.database_url)
    try:
        await db.upgrade()
        await seed_demo(db)
        async with db.write() as session:
            inbox = await session.get(Inbox, 1)
            bob = await session.get(User, 3)
            assert inbox is not None and bob is not None and bob.username == "bob"
            owed, _ = await conversations.get_or_create_conversation(session, inbox, "+15552010009")
            taken, _ = await conversations.get_or_create_conversation(
                session, inbox, "+15552010010"
            )
            queued = await outbound.queue(session, inbox, bob, "Still owed.", [owed, taken])
            owed_id, taken_id = (q.message.id or 0 for q in queued if q.message is not None)
            took = fake.add_message("+15552010010", FRONT_DESK, "Still owed.")
            message = await session.get(Message, taken_id)
            assert message is not None
            message.provider_sid = took["sid"]
        # Back to the schema before the outbox (whatever revision precedes it in the chain).
        before = ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(OUTBOX_REVISION).down_revision
        assert isinstance(before, str)
        async with db.write_engine.begin() as connection:
            await connection.run_sync(_downgrade, before)
    finally:
        await db.dispose()
    with running(
        data_dir, clean_redis, fake_twilio, database_url=database_url, migrate_on_start=True
    ) as server:
        bob_client = await login(server.url, "bob")
        watcher = await Agent.connect(server.url, cookies=bob_client.cookies, hello=0)
        shown = await wait_settled(watcher, owed_id)  # replayed from the log, or live
        texts = texts_to(fake, "+15552010009")
        assert [t["sid"] for t in texts] == [shown["provider_sid"]]
        assert texts[0]["body"] == "Still owed."
        assert len(texts_to(fake, "+15552010010")) == 1  # Twilio had it: not sent again
        assert fake.create_calls == 1
        await watcher.close()
