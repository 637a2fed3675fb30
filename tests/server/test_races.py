"""Writes that race: texts, replies, read markers and the first Mailroom, all at once. Every
outcome here must be the same on each store (SQLite runs one write at a time by its nature;
inbox/db.py makes PostgreSQL do the same)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlmodel import col

from inbox.models import Inbox, Message
from tests.conftest import Running, running
from tests.fake_twilio import FakeTwilio
from tests.helpers import FRONT_DESK, Agent, login, open_store
from tests.server.test_housekeeping import add_spare_number

RACERS = 12  # enough writers at once to interleave on two cores, few enough to stay quick


async def conversation_with(running: Running, client: httpx.AsyncClient, number: str) -> int:
    ws = await Agent.connect(running.url, cookies=client.cookies)
    await running.twilio.inbound(FRONT_DESK, number, "first")
    created = await ws.next_event("message.created")
    await ws.close()
    return int(created["data"]["conversation"]["id"])


async def test_texts_replies_and_triage_racing_on_one_conversation_all_succeed(
    app_server: Running,
) -> None:
    """A reply takes the team's lock, then the conversation's; a text or an assignment takes
    the conversation's, then the team's (its event). Neither may deadlock the other."""
    bob = await login(app_server.url, "bob")
    customer = "+15553330001"
    conversation_id = await conversation_with(app_server, bob, customer)
    url = f"/api/v1/conversations/{conversation_id}"
    bob_id = (await bob.get("/api/v1/me")).json()["id"]
    writes = []
    for i in range(RACERS):
        writes.append(app_server.twilio.inbound(FRONT_DESK, customer, f"text {i}"))
        writes.append(bob.post(f"{url}/messages", json={"body": f"reply {i}"}))
        writes.append(bob.post(f"{url}/assign", json={"user_id": bob_id if i % 2 else None}))
        writes.append(bob.post(f"{url}/{'read' if i % 2 else 'unread'}"))
    responses = await asyncio.gather(*writes)
    assert [r.status_code for r in responses if r.status_code >= 300] == []
    history = (await bob.get(f"{url}/messages")).json()["items"]
    bodies = sorted(m["body"] for m in history)
    expected = (
        ["first"] + [f"reply {i}" for i in range(RACERS)] + [f"text {i}" for i in range(RACERS)]
    )
    assert bodies == sorted(expected)


async def test_two_tabs_marking_one_conversation_read_at_once_both_succeed(
    app_server: Running,
) -> None:
    bob = await login(app_server.url, "bob")
    conversation_id = await conversation_with(app_server, bob, "+15553330002")
    url = f"/api/v1/conversations/{conversation_id}/read"
    responses = await asyncio.gather(*(bob.post(url) for _ in range(RACERS)))
    assert [r.status_code for r in responses] == [200] * RACERS
    (listed,) = (await bob.get("/api/v1/inboxes/1/conversations?read=read")).json()["items"]
    assert listed["id"] == conversation_id


async def test_first_texts_to_unassigned_numbers_at_once_make_one_mailroom(
    app_server: Running,
) -> None:
    await add_spare_number(app_server)
    texts = [
        app_server.twilio.inbound("+15005550008", f"+155533310{i:02d}", f"lost {i}")
        for i in range(RACERS)
    ]
    assert [r.status_code for r in await asyncio.gather(*texts)] == [200] * RACERS
    alice = await login(app_server.url, "alice")
    inboxes = (await alice.get("/api/v1/inboxes")).json()["items"]
    (room,) = [i for i in inboxes if i["mailroom"]]
    listed = (await alice.get(f"/api/v1/inboxes/{room['id']}/conversations")).json()["items"]
    assert len(listed) == RACERS
    async with open_store(app_server.settings.database_url) as db, db.read() as session:
        rooms = await session.scalar(
            select(func.count()).select_from(Inbox).where(col(Inbox.mailroom).is_(True))
        )
    assert rooms == 1


async def test_texts_racing_into_an_away_period_get_one_away_message(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    customer = "+15553330003"
    with running(tmp_path / "data", clean_redis, fake_twilio, database_url=database_url) as server:
        alice = await login(server.url, "alice")
        conversation_id = await conversation_with(server, alice, customer)
        away = {"enabled": True, "message": "Closed today"}
        assert (await alice.put("/api/v1/inboxes/1/out-of-office", json=away)).status_code == 200
        texts = [server.twilio.inbound(FRONT_DESK, customer, f"hello {i}") for i in range(RACERS)]
        assert [r.status_code for r in await asyncio.gather(*texts)] == [200] * RACERS
    # The server has stopped, and a stop waits for the replies it had decided to send.
    async with open_store(database_url) as db, db.read() as session:
        automatic = await session.scalars(
            select(col(Message.body)).where(
                col(Message.conversation_id) == conversation_id, col(Message.automatic).is_(True)
            )
        )
        assert list(automatic) == ["Closed today"]
