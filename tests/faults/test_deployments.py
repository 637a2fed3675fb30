"""Two deployments on one Redis server (issue 12, item 3): pub/sub ignores database numbers, so
only names keep them apart. Each must see its own texts, locks and presence, and nothing of the
other's, although both stores hand out the same team, conversation and event ids."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from tests.conftest import running
from tests.fake_twilio import FakeTwilio
from tests.helpers import FRONT_DESK, Agent, login
from tests.presence.conftest import new_conversation

TEXTS = 6


async def test_two_deployments_on_one_redis_never_see_each_other(
    tmp_path: Path,
    database_url: str,
    empty_database_url: str,
    clean_redis: str,
    fake_twilio: tuple[FakeTwilio, str],
) -> None:
    with ExitStack() as stack:
        # Database numbers, as an operator sharing one Redis would try first.
        first = stack.enter_context(
            running(tmp_path / "first", clean_redis + "/0", fake_twilio, database_url=database_url)
        )
        second = stack.enter_context(
            running(
                tmp_path / "second",
                clean_redis + "/3",
                fake_twilio,
                database_url=empty_database_url,  # a store of its own, migrated at start
                migrate_on_start=True,
            )
        )
        assert first.settings.deployment_name != second.settings.deployment_name
        carol_first = await login(first.url, "carol")
        carol_second = await login(second.url, "carol")
        on_first = await Agent.connect(first.url, cookies=carol_first.cookies)
        on_second = await Agent.connect(second.url, cookies=carol_second.cookies)
        sent: dict[str, list[str]] = {"first": [], "second": []}
        for i in range(TEXTS):  # interleaved, so both stores hand out the same event ids
            for name, server in (("first", first), ("second", second)):
                body = f"to the {name} deployment {i}"
                assert (await server.twilio.inbound(FRONT_DESK, "+15557100001", body)).is_success
                sent[name].append(body)
        for name, agent in (("first", on_first), ("second", on_second)):
            events = [await agent.next_event("message.created") for _ in range(TEXTS)]
            assert [e["data"]["message"]["body"] for e in events] == sent[name]
            ids = [e["id"] for e in events]
            assert ids == sorted(set(ids))

        # The same conversation id in both stores: each deployment has its own lock on it.
        bob_first, bob_second = await login(first.url, "bob"), await login(second.url, "bob")
        conversation = await new_conversation(bob_first, "+15557100002")
        assert await new_conversation(bob_second, "+15557100002") == conversation
        first_bob = await Agent.connect(first.url, cookies=bob_first.cookies)
        second_alice = await Agent.connect(
            second.url, cookies=(await login(second.url, "alice")).cookies
        )
        taken = await first_bob.command("lock.acquire", {"conversation_id": conversation})
        assert taken["type"] == "ack", taken
        other = await second_alice.command("lock.acquire", {"conversation_id": conversation})
        assert other["type"] == "ack", other
        assert [
            i["holder"]["name"] for i in (await bob_first.get("/api/v1/locks")).json()["items"]
        ] == ["Bob Agent"]
        assert [
            i["holder"]["name"] for i in (await bob_second.get("/api/v1/locks")).json()["items"]
        ] == ["Alice Admin"]
        # Presence too: the second deployment's board knows nothing of the first's bob.
        board = (await carol_second.get("/api/v1/presence")).json()["items"]
        online = {i["user"]["name"] for i in board if i["status"] != "offline"}
        assert online == {"Carol Supervisor", "Alice Admin"}
        for agent in (on_first, on_second, first_bob, second_alice):
            await agent.close()
