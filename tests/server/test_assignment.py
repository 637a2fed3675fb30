"""Automatic assignment (inbox/assignment.py): round-robin and least-busy over a series of
inbound texts, agents going offline, away and back, the cap, an unassigned conversation that
gets a text, the settings refused when wrong, and two server processes racing."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Running, running
from tests.fake_twilio import FakeTwilio
from tests.helpers import FRONT_DESK, Agent, Twilio, login
from tests.server.test_serve_bus import AUTH_TOKEN, Served

CAROL, BOB = 2, 3  # the demo's ids (alice, the admin, is 1)


async def assignee_of(client: httpx.AsyncClient, number: str) -> int | None:
    response = await client.get("/api/v1/inboxes/1/conversations?q=" + number[1:])
    assert response.status_code == 200, response.text
    (conversation,) = [c for c in response.json()["items"] if c["counterparty"] == number]
    assignee = conversation["assignee"]
    return None if assignee is None else int(assignee["id"])


async def text_and_see(
    twilio: Twilio, watcher: Agent, number: str, body: str = "hello"
) -> dict[str, Any]:
    """An inbound text; its message.created as a member's socket gets it."""
    assert (await twilio.inbound(FRONT_DESK, number, body)).status_code == 200
    event = await watcher.next_event(
        "message.created", lambda d: d["conversation"]["counterparty"] == number
    )
    conversation: dict[str, Any] = event["data"]["conversation"]
    return conversation


def assigned(conversation: dict[str, Any]) -> int | None:
    return None if conversation["assignee"] is None else int(conversation["assignee"]["id"])


async def until_status(watcher: Agent, user_id: int, status: str) -> None:
    await watcher.next_event(
        "presence.changed", lambda d: d["user"]["id"] == user_id and d["status"] == status
    )


async def until_all(watcher: Agent, user_ids: set[int], status: str) -> None:
    """Until each of `user_ids` was last announced with `status` (in whatever order)."""
    last: dict[int, str] = {}
    while any(last.get(u) != status for u in user_ids):
        event = await watcher.next_event("presence.changed")
        last[event["data"]["user"]["id"]] = event["data"]["status"]


async def test_round_robin_skips_who_is_offline_and_gives_an_unassigned_conversation_on_a_text(
    app_server: Running,
) -> None:
    alice = await login(app_server.url, "alice")
    bob, carol = await login(app_server.url, "bob"), await login(app_server.url, "carol")
    twilio = app_server.twilio
    # Off (the default): nobody is given the conversation.
    bob_ws = watcher = await Agent.connect(app_server.url, cookies=bob.cookies)
    carol_ws = await Agent.connect(app_server.url, cookies=carol.cookies)
    await until_status(watcher, CAROL, "online")
    assert assigned(await text_and_see(twilio, watcher, "+15557000001")) is None
    response = await alice.patch("/api/v1/inboxes/1", json={"assignment": "round_robin"})
    assert response.status_code == 200, response.text
    assert response.json()["assignment"] == "round_robin"
    # Alice (an admin member) has no socket, so she is offline: bob and carol take turns.
    turns = [assigned(await text_and_see(twilio, watcher, f"+1555700010{i}")) for i in range(4)]
    assert turns in ([CAROL, BOB, CAROL, BOB], [BOB, CAROL, BOB, CAROL])
    # The conversation that arrived while it was off gets its assignee with its next text.
    assert assigned(await text_and_see(twilio, watcher, "+15557000001")) == turns[0]
    # Carol goes offline: everything goes to bob; she comes back and gets her turn again.
    await carol_ws.close()
    await until_status(watcher, CAROL, "offline")
    assert assigned(await text_and_see(twilio, watcher, "+15557000201")) == BOB
    assert assigned(await text_and_see(twilio, watcher, "+15557000202")) == BOB
    carol_ws = await Agent.connect(app_server.url, cookies=carol.cookies)
    await until_status(watcher, CAROL, "online")
    assert assigned(await text_and_see(twilio, watcher, "+15557000203")) == CAROL
    assert assigned(await text_and_see(twilio, watcher, "+15557000204")) == BOB
    # An assigned conversation keeps its assignee; one unassigned by hand gets one again.
    assert assigned(await text_and_see(twilio, watcher, "+15557000204")) == BOB
    unassign = await alice.post(
        f"/api/v1/conversations/{(await _id_of(alice, '+15557000204'))}/assign",
        json={"user_id": None},
    )
    assert unassign.status_code == 200, unassign.text
    assert assigned(await text_and_see(twilio, watcher, "+15557000204")) == CAROL
    assert await assignee_of(alice, "+15557000204") == CAROL  # the list shows it
    for ws in (bob_ws, carol_ws):
        await ws.close()


async def _id_of(client: httpx.AsyncClient, number: str) -> int:
    response = await client.get("/api/v1/inboxes/1/conversations?q=" + number[1:])
    (conversation,) = [c for c in response.json()["items"] if c["counterparty"] == number]
    return int(conversation["id"])


async def test_least_busy_with_a_cap_leaves_it_unassigned_when_everyone_is_full(
    app_server: Running,
) -> None:
    alice = await login(app_server.url, "alice")
    bob, carol = await login(app_server.url, "bob"), await login(app_server.url, "carol")
    bob_ws = watcher = await Agent.connect(app_server.url, cookies=bob.cookies)
    carol_ws = await Agent.connect(app_server.url, cookies=carol.cookies)
    await until_status(watcher, CAROL, "online")
    settings = {"assignment": "least_busy", "assignment_cap": 2}
    assert (await alice.patch("/api/v1/inboxes/1", json=settings)).status_code == 200
    twilio = app_server.twilio
    # Ties go to the lower id (carol), then whoever has fewer open conversations.
    got = [assigned(await text_and_see(twilio, watcher, f"+1555710000{i}")) for i in range(4)]
    assert got == [CAROL, BOB, CAROL, BOB]
    # Both at the cap of 2: the next waits unassigned for whoever is free.
    assert assigned(await text_and_see(twilio, watcher, "+15557100009")) is None
    # Bob archives one of his: he is below the cap, and least busy.
    archive = await bob.post(f"/api/v1/conversations/{await _id_of(bob, '+15557100001')}/archive")
    assert archive.status_code == 200, archive.text
    assert assigned(await text_and_see(twilio, watcher, "+15557100009")) == BOB
    for ws in (bob_ws, carol_ws):
        await ws.close()


async def test_an_agent_who_goes_away_is_skipped_until_they_are_back(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    with running(
        tmp_path / "data",
        clean_redis,
        fake_twilio,
        database_url=database_url,
        presence_away_after_secs=1.0,
    ) as server:
        alice = await login(server.url, "alice")
        bob, carol = await login(server.url, "bob"), await login(server.url, "carol")
        assert (
            await alice.patch("/api/v1/inboxes/1", json={"assignment": "round_robin"})
        ).is_success
        bob_ws = watcher = await Agent.connect(server.url, cookies=bob.cookies)
        carol_ws = await Agent.connect(server.url, cookies=carol.cookies)
        await until_all(watcher, {BOB, CAROL}, "away")  # no input for the away time
        assert assigned(await text_and_see(server.twilio, watcher, "+15557200001")) is None
        await carol_ws.command("conversation.view", {"conversation_id": None})  # carol is back
        await until_status(watcher, CAROL, "online")
        assert assigned(await text_and_see(server.twilio, watcher, "+15557200002")) == CAROL
        for ws in (bob_ws, carol_ws):
            await ws.close()


@pytest.mark.parametrize(
    "body",
    [
        {"assignment": "everyone"},
        {"assignment": None},
        {"assignment_cap": 0},
        {"assignment_cap": "3"},
        {"assignment_cap": True},
        {"sla_minutes": -5},
        {"sla_minutes": 0},
        {"sla_minutes": "5"},
        {"sla_minutes": 1e9},
    ],
)
async def test_wrong_assignment_settings_are_refused_and_change_nothing(
    app_server: Running, body: dict[str, Any]
) -> None:
    alice = await login(app_server.url, "alice")
    before = (await alice.get("/api/v1/inboxes?all=1")).json()
    response = await alice.patch("/api/v1/inboxes/1", json=body)
    assert response.status_code == 422, response.text
    assert set(response.json()["error"]) == {"code", "message"}
    assert (await alice.get("/api/v1/inboxes?all=1")).json() == before


async def test_only_an_admin_sets_assignment(app_server: Running) -> None:
    carol = await login(app_server.url, "carol")
    response = await carol.patch("/api/v1/inboxes/1", json={"assignment": "round_robin"})
    assert response.status_code == 403
    alice = await login(app_server.url, "alice")
    (front,) = [
        i for i in (await alice.get("/api/v1/inboxes?all=1")).json()["items"] if i["id"] == 1
    ]
    assert front["assignment"] == "off"


@pytest.mark.parametrize("mode", ["round_robin", "least_busy"])
async def test_two_processes_racing_give_each_conversation_one_assignee_in_turn(
    tmp_path: Path, database_url: str, serve_redis: str | None, mode: str
) -> None:
    served = Served(tmp_path / "data", database_url, serve_redis, 2)
    try:
        alice = await login(served.url, "alice")
        bob, carol = await login(served.url, "bob"), await login(served.url, "carol")
        sockets = [await Agent.connect(served.url, cookies=c.cookies) for c in (bob, carol)]
        watcher = sockets[0]  # alice, with no socket, is offline: bob and carol share them
        await until_status(watcher, CAROL, "online")
        assert (await alice.patch("/api/v1/inboxes/1", json={"assignment": mode})).is_success
        twilio = Twilio(AUTH_TOKEN, served.url)
        numbers = [f"+155573{i:05d}" for i in range(20)]
        # All at once: the two worker processes take them as they come.
        answers = await asyncio.gather(*(twilio.inbound(FRONT_DESK, n, "hi") for n in numbers))
        assert all(a.status_code == 200 for a in answers)
        seen: dict[str, int | None] = {}
        while len(seen) < len(numbers):
            event = await watcher.next_event("message.created")
            conversation = event["data"]["conversation"]
            seen[conversation["counterparty"]] = assigned(conversation)
        assert Counter(seen.values()) == {BOB: 10, CAROL: 10}
        # What the store says is what the events said: one assignee each.
        assert {n: await assignee_of(alice, n) for n in numbers} == seen
        for ws in sockets:
            await ws.close()
    finally:
        served.proc.kill()
        served.proc.wait()
