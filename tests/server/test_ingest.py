"""Texts arriving in bursts. The texts that arrive while a write runs go together in the next
transaction (server/flows/inbound.py); each is still stored once per MessageSid, answered only
once it is committed, and refused alone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, text, update
from sqlmodel import col

from inbox.db import Database
from inbox.models import Inbox, Message
from tests.conftest import Running
from tests.helpers import BILLING, EVENT_WAIT_SECS, FRONT_DESK, Agent, login, open_store


async def stored_sids(running: Running) -> list[str | None]:
    async with open_store(running.settings.database_url) as db, db.read() as session:
        return list(await session.scalars(select(col(Message.provider_sid))))


async def test_a_burst_repeating_message_sids_stores_each_text_once(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    sids = [f"SMburst{i:02d}" for i in range(12)]
    posts = [
        app_server.twilio.inbound(FRONT_DESK, f"+1555700{i % 4:04d}", f"text {i}", sid=sid)
        for _ in range(3)
        for i, sid in enumerate(sids)
    ]
    answers = await asyncio.gather(*posts)
    assert [a.status_code for a in answers] == [200] * len(posts)
    # Each answer came after its text was committed: all of them are in the store now.
    assert sorted(s for s in await stored_sids(app_server) if s in sids) == sids
    await app_server.twilio.inbound(FRONT_DESK, "+15557009999", "the last one")
    seen: list[dict[str, Any]] = []
    while not seen or seen[-1]["data"]["message"]["body"] != "the last one":
        seen.append(await bob_ws.next_event("message.created"))
    bodies = [e["data"]["message"]["body"] for e in seen[:-1]]
    assert sorted(bodies) == sorted(f"text {i}" for i in range(12))  # once each
    ids = [e["id"] for e in seen]
    assert ids == sorted(set(ids))
    await bob_ws.close()


async def test_texts_arriving_while_another_process_writes_are_stored_together_once_each(
    app_server: Running,
) -> None:
    """Another process holds the store's write lock while texts keep arriving: the batch that
    waited for it takes the texts that came meanwhile, in one transaction; none is answered
    before its commit, each is stored once, and each event goes out once, in id order."""
    bob = await login(app_server.url, "bob")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    sids = [f"SMwait{i:02d}" for i in range(21)]

    def post(i: int) -> asyncio.Future[Any]:
        return asyncio.ensure_future(
            app_server.twilio.inbound(FRONT_DESK, f"+1555740{i % 5:04d}", f"wait {i}", sid=sids[i])
        )

    answers = await posted_during_another_write(app_server, post, len(sids))
    assert [a.status_code for a in answers] == [200] * len(sids)
    async with open_store(app_server.settings.database_url) as db, db.read() as session:
        rows = (
            await session.execute(
                select(col(Message.provider_sid), col(Message.created_at)).where(
                    col(Message.provider_sid).in_(sids)
                )
            )
        ).all()
    assert sorted(str(sid) for sid, _ in rows) == sids  # once each
    assert len({at for _, at in rows}) == 1  # one transaction: the first text's batch took all
    seen: list[dict[str, Any]] = []
    while len(seen) < len(sids):
        event = await bob_ws.next_event("message.created")
        if event["data"]["message"]["body"].startswith("wait "):
            seen.append(event)
    assert sorted(e["data"]["message"]["body"] for e in seen) == sorted(
        f"wait {i}" for i in range(len(sids))
    )
    assert [e["id"] for e in seen] == sorted({e["id"] for e in seen})
    await bob_ws.close()


async def posted_during_another_write(
    running: Running, post: Callable[[int], asyncio.Future[Any]], count: int
) -> list[Any]:
    """Text 0 posted while another process's write holds the store's lock, then (its batch
    waiting for the lock) texts 1 to count - 1; none answered before that write ends. The
    answers, in order."""
    async with open_store(running.settings.database_url) as db:
        async with db.write():  # the other process's write, holding the lock
            first = post(0)
            if db.is_postgres:  # the first text's batch is waiting for the lock: the rest after
                await _advisory_lock_awaited(db)
            later = [post(i) for i in range(1, count)]
            done, _ = await asyncio.wait([first, *later], timeout=1.0)
            assert not done  # nothing is answered before it is committed
        return list(await asyncio.gather(first, *later))


_ADVISORY_WAITERS = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
)


async def test_a_bad_text_among_those_a_waiting_batch_took_fails_alone(
    app_server: Running,
) -> None:
    """The batch that waited for another process's write takes the texts that came meanwhile;
    when one of them cannot be decided (Billing's away time zone is gone), the batch is retried
    text by text: only that one fails, every other is stored and answered."""
    async with open_store(app_server.settings.database_url) as db, db.write() as session:
        await session.execute(
            update(Inbox)
            .where(col(Inbox.phone_number) == BILLING)
            .values(
                away_enabled=True,
                away_message="closed",
                away_schedule='{"mon": [["09:00", "17:00"]]}',
                away_timezone="Nowhere/Atlantis",
            )
        )

    def post(i: int) -> asyncio.Future[Any]:
        to = BILLING if i == 7 else FRONT_DESK
        return asyncio.ensure_future(
            app_server.twilio.inbound(to, f"+1555750{i:04d}", f"took {i}", sid=f"SMtook{i:02d}")
        )

    answers = await posted_during_another_write(app_server, post, 12)
    stored = set(await stored_sids(app_server))
    for i, answer in enumerate(answers):
        if i == 7:
            assert answer.status_code != 200 and "error" in answer.json()
            assert f"SMtook{i:02d}" not in stored
        else:
            assert answer.status_code == 200, answer.text
            assert f"SMtook{i:02d}" in stored


async def _advisory_lock_awaited(db: Database) -> None:
    """Until some transaction waits for an advisory lock (PostgreSQL): the server's write."""
    async with asyncio.timeout(EVENT_WAIT_SECS):
        while True:
            async with db.read() as session:
                waiting = await session.scalar(_ADVISORY_WAITERS)
            if waiting:
                return
            await asyncio.sleep(0.02)


async def test_a_text_no_inbox_takes_is_refused_alone_in_a_burst(app_server: Running) -> None:
    good = [
        app_server.twilio.inbound(FRONT_DESK, f"+1555710{i:04d}", f"good {i}") for i in range(20)
    ]
    nowhere = [
        app_server.twilio.inbound("+15005550999", f"+1555720{i:04d}", f"lost {i}") for i in range(5)
    ]
    answers = await asyncio.gather(*good, *nowhere)
    assert [a.status_code for a in answers[:20]] == [200] * 20
    for answer in answers[20:]:
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    bob = await login(app_server.url, "bob")
    listed = (await bob.get("/api/v1/inboxes/1/conversations", params={"q": "+1555710"})).json()
    assert len(listed["items"]) == 20


async def test_texts_of_an_inbox_that_cannot_be_decided_fail_without_the_others(
    app_server: Running,
) -> None:
    """Billing's stored away settings name a time zone this machine no longer has (the tz
    database dropped it): its texts fail, and Front Desk's, in the same transactions, do not."""
    async with open_store(app_server.settings.database_url) as db, db.write() as session:
        await session.execute(
            update(Inbox)
            .where(col(Inbox.phone_number) == BILLING)
            .values(
                away_enabled=True,
                away_message="closed",
                away_schedule='{"mon": [["09:00", "17:00"]]}',
                away_timezone="Nowhere/Atlantis",
            )
        )
    posts = [
        app_server.twilio.inbound(
            BILLING if i % 4 == 0 else FRONT_DESK, f"+1555730{i:04d}", f"text {i}", sid=f"SMmix{i}"
        )
        for i in range(32)
    ]
    answers = await asyncio.gather(*posts)
    stored = set(await stored_sids(app_server))
    for i, answer in enumerate(answers):
        if i % 4 == 0:  # Billing's
            assert answer.status_code != 200 and "error" in answer.json()
            assert f"SMmix{i}" not in stored
        else:
            assert answer.status_code == 200, answer.text
            assert f"SMmix{i}" in stored


async def test_first_texts_arriving_together_are_shared_among_the_unsolicited_receivers(
    app_server: Running,
) -> None:
    """A burst of customers writing first, on an inbox whose unsolicited texts go to alice and
    bob: each new conversation goes to whoever has fewer, so they end even, and each text's
    event names its assignee."""
    alice = await login(app_server.url, "alice")
    routed = await alice.patch(
        "/api/v1/inboxes/1", json={"unsolicited": "agent", "unsolicited_to": [1, 3]}
    )
    assert routed.status_code == 200, routed.text
    bob_ws = await Agent.connect(
        app_server.url, cookies=(await login(app_server.url, "bob")).cookies
    )
    senders = [f"+1555740{i:04d}" for i in range(8)]
    answers = await asyncio.gather(
        *(app_server.twilio.inbound(FRONT_DESK, s, "first time") for s in senders)
    )
    assert [a.status_code for a in answers] == [200] * len(senders)
    assignees: dict[str, int] = {}
    while len(assignees) < len(senders):
        event = await bob_ws.next_event("message.created")
        conversation = event["data"]["conversation"]
        assignees[conversation["counterparty"]] = conversation["assignee"]["id"]
    assert sorted(assignees) == senders
    assert sorted(assignees.values()) == [1] * 4 + [3] * 4
    await bob_ws.close()
