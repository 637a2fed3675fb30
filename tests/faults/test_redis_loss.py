"""Redis loses its data (issue 12, item 5): a restart without persistence, a FLUSHALL, a failover
to a replica that had not caught up. Presence and locks live only there. Every process notices
(the deployment's epoch key is gone) and rebuilds: its connections are recorded again, so its
users show online again; every lock that vanished is announced `lost` to its holder and viewers;
a tab closing afterwards does not release what another open tab holds; and a send on the
strength of a lost lock is still refused once someone else holds it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from presence.keys import Keys
from tests.conftest import Running, running
from tests.fake_twilio import FakeTwilio
from tests.faults.parts import PrivateRedis
from tests.helpers import EVENT_WAIT_SECS, Agent, login
from tests.presence.conftest import new_conversation

BOB_ID = 3
# The heartbeat (a third of this) is far slower than the waits below: only noticing the loss
# can bring presence back in time.
SLOW_HEARTBEAT = {"presence_ttl_secs": 60.0, "lock_ttl_secs": 60.0, "lock_idle_after_secs": 50.0}


@pytest.fixture
def server(
    tmp_path: Path,
    database_url: str,
    private_redis: PrivateRedis,
    fake_twilio: tuple[FakeTwilio, str],
) -> Iterator[Running]:
    with running(
        tmp_path / "data",
        private_redis.url,
        fake_twilio,
        database_url=database_url,
        **SLOW_HEARTBEAT,
    ) as app:
        yield app


def about(name: str, status: str) -> Any:
    return lambda data: data["user"]["name"] == name and data["status"] == status


async def _items(client: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    """A board call's items. Right after Redis comes back, a call may meet a connection of the
    old server and be answered 503 `unavailable` (once per stale connection): ask again."""
    async with asyncio.timeout(EVENT_WAIT_SECS):
        while (response := await client.get(path)).status_code == 503:
            assert response.json()["error"]["code"] == "unavailable"
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _redis_has(url: str, key: str, fields: int) -> None:
    """Wait until the hash `key` has `fields` fields (what the server recorded)."""
    client = aioredis.Redis.from_url(url)
    try:
        async with asyncio.timeout(EVENT_WAIT_SECS):
            while await client.hlen(key) != fields:
                await asyncio.sleep(0.02)
    finally:
        await client.aclose()


async def test_redis_restarted_empty_brings_presence_back_and_reports_locks_lost(
    server: Running, private_redis: PrivateRedis
) -> None:
    bob, carol = await login(server.url, "bob"), await login(server.url, "carol")
    conversation = await new_conversation(bob, "+15557400001")
    other = await new_conversation(bob, "+15557400002")
    # Carol first: Bob's going online is then published after her socket is registered (the
    # other way round, it could be committed before, and never reach her).
    carol_ws = await Agent.connect(server.url, cookies=carol.cookies)
    bob_tab1 = await Agent.connect(server.url, cookies=bob.cookies)
    bob_tab2 = await Agent.connect(server.url, cookies=bob.cookies)
    await carol_ws.next_event("presence.changed", about("Bob Agent", "online"))
    await bob_tab2.command("conversation.view", {"conversation_id": conversation})
    taken = await bob_tab2.command("lock.acquire", {"conversation_id": conversation})
    assert taken["type"] == "ack"
    await carol_ws.next_event("lock.acquired")

    private_redis.kill()
    private_redis.start()  # empty: no persistence

    # Presence comes back although no heartbeat is due for 20 s: the board shows bob online.
    await carol_ws.next_event("presence.changed", about("Bob Agent", "online"))
    board = await _items(carol, "/api/v1/presence")
    assert {i["user"]["name"]: (i["status"], i["viewing"]) for i in board}["Bob Agent"] == (
        "online",
        conversation,
    )
    # Holder and viewer are told the lock is gone, after the hold it ends.
    for ws in (bob_tab1, bob_tab2, carol_ws):
        lost = await ws.next_event("lock.released")
        assert lost["data"]["reason"] == "lost"
        assert lost["data"]["conversation_id"] == conversation
        assert lost["data"]["holder"] == taken["data"]["holder"]
        assert lost["data"]["version"] > taken["data"]["version"]
    assert await _items(carol, "/api/v1/locks") == []

    # Bob claims it again from his second tab; closing the first tab keeps it.
    again = await bob_tab2.command("lock.acquire", {"conversation_id": conversation})
    assert again["type"] == "ack" and again["data"]["version"] > taken["data"]["version"]
    await bob_tab1.close()
    keys = Keys(server.settings.deployment_name)
    await _redis_has(private_redis.url, keys.connections_key(BOB_ID), 1)  # tab 1 is gone
    barrier = await carol_ws.command("lock.acquire", {"conversation_id": other})
    assert barrier["type"] == "ack"
    # Events come in id order: a release logged before carol's own hold would come first.
    event = await carol_ws.next_event("lock.acquired", lambda d: d["conversation_id"] == other)
    released = [f for f in carol_ws.received if f.get("type") == "lock.released"]
    assert [f["data"]["reason"] for f in released] == ["lost"], released
    assert event["data"]["holder"]["name"] == "Carol Supervisor"
    holders = {
        i["conversation_id"]: i["holder"]["name"] for i in await _items(carol, "/api/v1/locks")
    }
    assert holders == {conversation: "Bob Agent", other: "Carol Supervisor"}
    for ws in (bob_tab2, carol_ws):
        await ws.close()


async def test_a_send_on_a_lost_lock_is_refused_once_someone_else_holds_it(
    server: Running, private_redis: PrivateRedis
) -> None:
    bob, alice = await login(server.url, "bob"), await login(server.url, "alice")
    conversation = await new_conversation(bob, "+15557400003")
    bob_ws = await Agent.connect(server.url, cookies=bob.cookies)
    alice_ws = await Agent.connect(server.url, cookies=alice.cookies)
    assert (await bob_ws.command("lock.acquire", {"conversation_id": conversation}))[
        "type"
    ] == "ack"
    url = f"/api/v1/conversations/{conversation}/messages"
    assert (await bob.post(url, json={"body": "before the loss"})).status_code == 201

    private_redis.kill()
    private_redis.start()
    await alice_ws.next_event("lock.released", lambda d: d["reason"] == "lost")
    assert (await alice_ws.command("lock.acquire", {"conversation_id": conversation}))[
        "type"
    ] == "ack"
    assert (await alice.post(url, json={"body": "alice took over"})).status_code == 201
    # Bob's page still thinks he holds it (say he missed the event): his send is refused.
    refused = await bob_ws.command(
        "message.send", {"conversation_id": conversation, "body": "stale"}
    )
    assert refused["type"] == "error" and refused["error"]["code"] == "locked"
    stale = await bob.post(url, json={"body": "stale too"})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "locked"
    bodies = [m["body"] for m in (await bob.get(url)).json()["items"]]
    assert bodies == ["before the loss", "alice took over"]
    await bob_ws.close()
    await alice_ws.close()


async def test_connections_redis_forgot_are_recorded_again_within_one_heartbeat(
    tmp_path: Path,
    database_url: str,
    private_redis: PrivateRedis,
    fake_twilio: tuple[FakeTwilio, str],
) -> None:
    """A failover to a replica that missed the last writes keeps the epoch key but may lose a
    connection's record: the next heartbeat records it again (it would age out, and bob show
    offline, while his tab is open)."""
    with running(
        tmp_path / "data",
        private_redis.url,
        fake_twilio,
        database_url=database_url,
        presence_ttl_secs=1.5,
    ) as app:
        bob = await login(app.url, "bob")
        bob_ws = await Agent.connect(app.url, cookies=bob.cookies)
        await bob_ws.command("ping", {})
        key = Keys(app.settings.deployment_name).connections_key(BOB_ID)
        await _redis_has(private_redis.url, key, 1)
        client = aioredis.Redis.from_url(private_redis.url)
        await client.delete(key)
        await client.aclose()
        await _redis_has(private_redis.url, key, 1)
        board = await _items(bob, "/api/v1/presence")
        assert {i["user"]["name"]: i["status"] for i in board}["Bob Agent"] == "online"
        await bob_ws.close()


async def test_a_last_tab_closing_just_after_a_loss_releases_once_every_tab_had_time_to_rejoin(
    tmp_path: Path,
    database_url: str,
    private_redis: PrivateRedis,
    fake_twilio: tuple[FakeTwilio, str],
) -> None:
    """Right after a loss, another process may not have recorded its tabs of the user again yet:
    the release waits a presence TTL, then happens if no tab came back."""
    with running(
        tmp_path / "data",
        private_redis.url,
        fake_twilio,
        database_url=database_url,
        presence_ttl_secs=1.5,
    ) as app:
        bob, carol = await login(app.url, "bob"), await login(app.url, "carol")
        conversation = await new_conversation(bob, "+15557400004")
        bob_ws = await Agent.connect(app.url, cookies=bob.cookies)
        carol_ws = await Agent.connect(app.url, cookies=carol.cookies)
        private_redis.kill()
        private_redis.start()
        await carol_ws.next_event("presence.changed", about("Bob Agent", "online"))  # rejoined
        taken = await bob_ws.command("lock.acquire", {"conversation_id": conversation})
        assert taken["type"] == "ack"
        await bob_ws.close()
        released = await carol_ws.next_event("lock.released")
        assert released["data"]["reason"] == "disconnected"
        assert released["data"]["version"] > taken["data"]["version"]
        await carol_ws.close()
