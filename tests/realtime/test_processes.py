"""The bus across server processes, and across a Redis restart: real uvicorn servers sharing
one store and one real redis-server."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from server.app import create_app
from server.embedded_redis import embedded_redis
from tests.conftest import make_settings
from tests.fake_twilio import FakeTwilio
from tests.helpers import BILLING, FRONT_DESK, Agent, ServerThread, Twilio, free_port, login

FRONT_DESK_ID = 1


async def test_agents_on_two_servers_receive_texts_posted_to_either(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    fake, fake_url = fake_twilio
    port_a, port_b = free_port(), free_port()
    data = tmp_path / "data"
    settings_a = make_settings(data, clean_redis, port_a, fake, fake_url, database_url=database_url)
    settings_b = make_settings(data, clean_redis, port_b, fake, fake_url, database_url=database_url)
    with (
        ServerThread(create_app(settings_a), port_a) as a,
        ServerThread(create_app(settings_b), port_b) as b,
    ):
        bob_a = await login(a.url, "bob")
        carol_b = await login(b.url, "carol")  # a session cookie works on any process
        bob_on_a = await Agent.connect(a.url, cookies=bob_a.cookies)
        carol_on_b = await Agent.connect(b.url, cookies=carol_b.cookies)
        twilio_a, twilio_b = Twilio(fake.auth_token, a.url), Twilio(fake.auth_token, b.url)
        sent = []
        for i in range(10):
            twilio = twilio_a if i % 2 else twilio_b
            await twilio.inbound(FRONT_DESK, "+15559000001", f"text {i}")
            sent.append(f"text {i}")
        for agent in (bob_on_a, carol_on_b):
            events = [await agent.next_event("message.created") for _ in sent]
            assert [e["data"]["message"]["body"] for e in events] == sent
            ids = [e["id"] for e in events]
            assert ids == sorted(set(ids))

        # An admin on process B removes bob, who is connected to process A: it applies there
        # before the next event.
        alice_b = await login(b.url, "alice")
        response = await alice_b.put(
            f"/api/v1/inboxes/{FRONT_DESK_ID}/members", json={"user_ids": [1, 2]}
        )
        assert response.status_code == 200
        await twilio_b.inbound(FRONT_DESK, "+15559000001", "bob may not see this")
        changed = await bob_on_a.frame()
        assert (changed["type"], changed["data"]) == ("access.changed", {"inbox_ids": []})
        hidden = await carol_on_b.next_event("message.created")
        assert hidden["data"]["message"]["body"] == "bob may not see this"
        await alice_b.put(f"/api/v1/inboxes/{FRONT_DESK_ID}/members", json={"user_ids": [1, 2, 3]})
        await twilio_a.inbound(FRONT_DESK, "+15559000001", "bob is back")
        regained = await bob_on_a.frame()
        assert regained["type"] == "access.changed"
        assert (await bob_on_a.frame())["data"]["message"]["body"] == "bob is back"
        await bob_on_a.close()
        await carol_on_b.close()


async def test_no_event_is_lost_while_redis_restarts(
    tmp_path: Path, database_url: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    fake, fake_url = fake_twilio
    redis_port, port = free_port(), free_port()
    redis_dir = tmp_path / "redis"
    with ExitStack() as first_redis, ExitStack() as second_redis:
        redis_url = first_redis.enter_context(embedded_redis(redis_dir, port=redis_port))
        settings = make_settings(
            tmp_path / "data", redis_url, port, fake, fake_url, database_url=database_url
        )
        with ServerThread(create_app(settings), port) as server:
            twilio = Twilio(fake.auth_token, server.url)
            carol = await login(server.url, "carol")
            ws = await Agent.connect(server.url, cookies=carol.cookies)
            await twilio.inbound(FRONT_DESK, "+15559100001", "before")
            assert (await ws.next_event("message.created"))["data"]["message"]["body"] == "before"
            first_redis.close()  # Redis goes away mid-stream
            sent = [f"while down {i}" for i in range(3)]
            for body in sent:
                response = await twilio.inbound(BILLING, "+15559100001", body)
                assert response.status_code == 200  # stored; the doorbell could not ring
            second_redis.enter_context(embedded_redis(redis_dir, port=redis_port))
            for i in range(3):
                sent.append(f"after restart {i}")
                await twilio.inbound(FRONT_DESK, "+15559100001", sent[-1])
            events = [await ws.next_event("message.created") for _ in sent]
            assert [e["data"]["message"]["body"] for e in events] == sent
            ids = [e["id"] for e in events]
            assert ids == sorted(set(ids))
            await ws.close()


async def test_an_agent_on_another_server_gets_every_event_of_a_bulk_send_in_order(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    """A bulk send announces its events together (one doorbell message for the batch): the other
    process must still deliver each one, in id order, and the sender's own process too."""
    fake, fake_url = fake_twilio
    port_a, port_b = free_port(), free_port()
    data = tmp_path / "data"
    settings_a = make_settings(data, clean_redis, port_a, fake, fake_url, database_url=database_url)
    settings_b = make_settings(data, clean_redis, port_b, fake, fake_url, database_url=database_url)
    with (
        ServerThread(create_app(settings_a), port_a) as a,
        ServerThread(create_app(settings_b), port_b) as b,
    ):
        carol_on_a = await Agent.connect(a.url, cookies=(await login(a.url, "carol")).cookies)
        bob_b = await login(b.url, "bob")
        bob_on_b = await Agent.connect(b.url, cookies=bob_b.cookies)
        numbers = [f"+1555910{i:04d}" for i in range(30)]
        response = await bob_b.post(
            f"/api/v1/inboxes/{FRONT_DESK_ID}/bulk",
            json={"body": "Closed Friday", "numbers": numbers},
        )
        assert response.status_code == 200 and response.json()["queued"] == len(numbers)
        for agent in (carol_on_a, bob_on_b):
            events = [await agent.next_event("message.created") for _ in numbers]
            assert [e["data"]["conversation"]["counterparty"] for e in events] == numbers
            ids = [e["id"] for e in events]
            assert ids == sorted(set(ids))
        await carol_on_a.close()
        await bob_on_b.close()
