"""Races for one lock, fenced sends, and the traffic cop."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.helpers import FRONT_DESK, Agent, login
from tests.presence.conftest import ServerFactory, new_conversation

RACES = 100
# The socket allows a burst of 40 commands per connection; 20 races per tab stays inside it.
RACES_PER_TAB = 20


async def _fire(agent: Agent, conversations: list[int], tag: str) -> dict[int, str]:
    """Send every lock.acquire at once, then read until each is answered: id -> ack|error."""
    refs = {f"{tag}-{c}": c for c in conversations}
    for ref, conversation in refs.items():
        command = {"type": "lock.acquire", "ref": ref, "data": {"conversation_id": conversation}}
        await agent.ws.send(json.dumps(command))
    answers: dict[int, str] = {}
    while len(answers) < len(refs):
        frame = await agent.frame()
        if frame.get("ref") in refs:
            answers[refs[frame["ref"]]] = frame["type"]
    return answers


async def test_concurrent_races_each_have_exactly_one_winner(lock_server: ServerFactory) -> None:
    async with lock_server() as app:
        bob, alice = await login(app.url, "bob"), await login(app.url, "alice")
        conversations = [await new_conversation(bob, f"+1555333{i:04d}") for i in range(RACES)]
        batches = [conversations[i : i + RACES_PER_TAB] for i in range(0, RACES, RACES_PER_TAB)]
        tabs: list[tuple[Agent, Agent]] = []
        for _ in batches:
            tabs.append(
                (
                    await Agent.connect(app.url, cookies=bob.cookies),
                    await Agent.connect(app.url, cookies=alice.cookies),
                )
            )
        results = await asyncio.gather(
            *(
                _fire(agent, batch, name)
                for batch, pair in zip(batches, tabs, strict=True)
                for agent, name in zip(pair, ("bob", "alice"), strict=True)
            )
        )
        bob_won = {c for r in results[0::2] for c, kind in r.items() if kind == "ack"}
        alice_won = {c for r in results[1::2] for c, kind in r.items() if kind == "ack"}
        assert bob_won | alice_won == set(conversations)
        assert bob_won & alice_won == set()
        board = (await bob.get("/api/v1/locks")).json()["items"]
        holders = {i["conversation_id"]: i["holder"]["name"] for i in board}
        assert holders == {c: "Bob Agent" if c in bob_won else "Alice Admin" for c in conversations}
        # Every tab of both members is told of every winner, once.
        agents = [agent for pair in tabs for agent in pair]
        for agent in agents:
            acquired = [f for f in agent.received if f.get("type") == "lock.acquired"]
            while len(acquired) < RACES:
                acquired.append(await agent.next_event("lock.acquired"))
            assert sorted(f["data"]["conversation_id"] for f in acquired) == conversations
        await asyncio.gather(*(agent.close() for agent in agents))


async def test_a_sender_whose_lock_lapsed_gets_409(lock_server: ServerFactory) -> None:
    async with lock_server(lock_ttl_secs=0.5, lock_idle_after_secs=5.0) as app:
        bob, alice = await login(app.url, "bob"), await login(app.url, "alice")
        conversation = await new_conversation(bob, "+15552230001")
        bob_ws = await Agent.connect(app.url, cookies=bob.cookies)
        alice_ws = await Agent.connect(app.url, cookies=alice.cookies)
        await bob_ws.command("lock.acquire", {"conversation_id": conversation})
        lapsed = await alice_ws.next_event("lock.released")
        assert lapsed["data"]["reason"] == "expired"
        taken = await alice_ws.command("lock.acquire", {"conversation_id": conversation})
        assert taken["type"] == "ack"
        url = f"/api/v1/conversations/{conversation}/messages"
        stale = await bob.post(url, json={"body": "Sent on my old lock"})
        assert stale.status_code == 409
        assert stale.json()["error"]["holder"]["name"] == "Alice Admin"
        refused = await bob_ws.command(
            "message.send", {"conversation_id": conversation, "body": "Over the socket"}
        )
        assert refused["error"]["code"] == "locked"
        assert (await bob.get(url)).json()["items"] == []
        await bob_ws.close()
        await alice_ws.close()


async def test_reply_after_an_unseen_inbound_text_is_sent_with_a_warning(
    lock_server: ServerFactory,
) -> None:
    async with lock_server() as app:
        bob = await login(app.url, "bob")
        customer = "+15552240001"
        conversation = await new_conversation(bob, customer)
        bob_ws = await Agent.connect(app.url, cookies=bob.cookies)
        viewed = await bob_ws.command("conversation.view", {"conversation_id": conversation})
        assert viewed["data"] == {"conversation_id": conversation, "lock": None}
        await app.twilio.inbound(FRONT_DESK, customer, "Actually, never mind")
        inbound: dict[str, Any] = await bob_ws.next_event("message.created")
        sent = await bob_ws.command(
            "message.send", {"conversation_id": conversation, "body": "Here is the answer"}
        )
        assert sent["type"] == "ack"
        assert sent["data"]["unseen_messages"] == [inbound["data"]["message"]["id"]]
        # Having replied after it, bob is not warned about the same text again.
        url = f"/api/v1/conversations/{conversation}/messages"
        again = await bob.post(url, json={"body": "And one more thing"})
        assert again.status_code == 201
        assert again.json()["unseen_messages"] == []
        await bob_ws.close()
