"""Conversation locks through the real app, real Redis and real sockets."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.helpers import Agent, login
from tests.presence.conftest import ServerFactory, new_conversation


async def test_second_agent_is_refused_with_the_holders_name_and_cannot_send(
    lock_server: ServerFactory,
) -> None:
    async with lock_server() as app:
        bob, alice, carol = [await login(app.url, u) for u in ("bob", "alice", "carol")]
        conversation = await new_conversation(bob, "+15552220001")
        bob_ws, alice_ws, carol_ws = [
            await Agent.connect(app.url, cookies=c.cookies) for c in (bob, alice, carol)
        ]
        taken = await bob_ws.command("lock.acquire", {"conversation_id": conversation})
        assert taken["type"] == "ack"
        assert taken["data"]["holder"]["name"] == "Bob Agent"
        for ws in (alice_ws, carol_ws):
            seen = await ws.next_event("lock.acquired")
            assert seen["data"]["conversation_id"] == conversation
            assert seen["data"]["holder"]["name"] == "Bob Agent"
            assert seen["data"]["expires_at"] == taken["data"]["expires_at"]

        refused = await alice_ws.command("lock.acquire", {"conversation_id": conversation})
        assert refused["type"] == "error"
        assert refused["error"]["code"] == "locked"
        assert refused["error"]["holder"]["name"] == "Bob Agent"
        url = f"/api/v1/conversations/{conversation}/messages"
        blocked = await alice.post(url, json={"body": "I'll take this one"})
        assert blocked.status_code == 409
        assert blocked.json()["error"]["code"] == "locked"
        assert blocked.json()["error"]["holder"]["name"] == "Bob Agent"
        assert (await bob.post(url, json={"body": "On it."})).status_code == 201
        history = (await bob.get(url)).json()["items"]
        assert [m["body"] for m in history] == ["On it."]

        assert (await bob_ws.command("lock.release", {"conversation_id": conversation}))["data"][
            "released"
        ]
        freed = await alice_ws.next_event("lock.released")
        assert freed["data"]["reason"] == "released"
        assert freed["data"]["holder"]["name"] == "Bob Agent"
        # Now free: alice's send takes the lock, and bob is told who has it.
        assert (await alice.post(url, json={"body": "Following up"})).status_code == 201
        now_held = await bob_ws.next_event("lock.acquired")
        assert now_held["data"]["holder"]["name"] == "Alice Admin"
        for ws in (bob_ws, alice_ws, carol_ws):
            await ws.close()


async def test_idle_prompt_reaches_only_the_holder_and_silence_releases(
    lock_server: ServerFactory,
) -> None:
    async with lock_server(lock_idle_after_secs=0.3, lock_grace_secs=0.6) as app:
        bob, alice = await login(app.url, "bob"), await login(app.url, "alice")
        conversation = await new_conversation(bob, "+15552220002")
        bob_ws = await Agent.connect(app.url, cookies=bob.cookies)
        alice_ws = await Agent.connect(app.url, cookies=alice.cookies)
        await bob_ws.command("lock.acquire", {"conversation_id": conversation})

        first = await bob_ws.next_event("lock.idle_prompt")
        assert first["data"]["conversation_id"] == conversation
        confirmed = await bob_ws.command("lock.confirm", {"conversation_id": conversation})
        assert confirmed["type"] == "ack"
        # The lock outlived the first prompt's deadline: a second prompt comes, not a release.
        second = await bob_ws.next_event("lock.idle_prompt")
        assert second["data"]["release_at"] > first["data"]["release_at"]
        released_while_confirmed = [f for f in bob_ws.received if f.get("type") == "lock.released"]
        assert released_while_confirmed == []

        # No answer this time: released as idle, and everyone in the inbox is told.
        gone = await alice_ws.next_event("lock.released")
        assert gone["data"]["reason"] == "idle"
        assert (await bob_ws.next_event("lock.released"))["data"]["reason"] == "idle"
        assert [f for f in alice_ws.received if f.get("type") == "lock.idle_prompt"] == []
        again = await alice_ws.command("lock.acquire", {"conversation_id": conversation})
        assert again["type"] == "ack"
        await bob_ws.close()
        await alice_ws.close()


async def test_typing_keeps_the_lock_past_its_ttl_without_a_prompt(
    lock_server: ServerFactory,
) -> None:
    async with lock_server(lock_ttl_secs=1.5, lock_idle_after_secs=1.0, lock_grace_secs=0.5) as app:
        bob, alice = await login(app.url, "bob"), await login(app.url, "alice")
        conversation = await new_conversation(bob, "+15552220003")
        bob_ws = await Agent.connect(app.url, cookies=bob.cookies)
        alice_ws = await Agent.connect(app.url, cookies=alice.cookies)
        taken = await bob_ws.command("lock.acquire", {"conversation_id": conversation})
        extended = taken
        for _ in range(25):  # bob types for 2.5 s, longer than the 1.5 s TTL
            await asyncio.sleep(0.1)
            extended = await bob_ws.command("lock.activity", {"conversation_id": conversation})
            assert extended["type"] == "ack", extended
        assert extended["data"]["expires_at"] > taken["data"]["expires_at"]
        refused = await alice_ws.command("lock.acquire", {"conversation_id": conversation})
        assert refused["error"]["code"] == "locked"
        kinds = {f.get("type") for f in bob_ws.received}
        assert "lock.idle_prompt" not in kinds and "lock.released" not in kinds
        await bob_ws.close()
        await alice_ws.close()


async def test_closing_the_holders_last_socket_releases_at_once(
    lock_server: ServerFactory,
) -> None:
    async with lock_server() as app:
        bob, alice = await login(app.url, "bob"), await login(app.url, "alice")
        conversation = await new_conversation(bob, "+15552220004")
        tab1 = await Agent.connect(app.url, cookies=bob.cookies)
        tab2 = await Agent.connect(app.url, cookies=bob.cookies)
        alice_ws = await Agent.connect(app.url, cookies=alice.cookies)
        await tab1.command("lock.acquire", {"conversation_id": conversation})
        await alice_ws.next_event("lock.acquired")
        # The holder is the user: bob's other tab may reply, and closing one tab keeps the lock.
        sent = await tab2.command("message.send", {"conversation_id": conversation, "body": "hi"})
        assert sent["type"] == "ack"
        await tab1.close()
        refused = await alice_ws.command("lock.acquire", {"conversation_id": conversation})
        assert refused["error"]["code"] == "locked"
        await tab2.close()
        gone = await alice_ws.next_event("lock.released")
        assert gone["data"]["reason"] == "disconnected"
        assert gone["data"]["holder"]["name"] == "Bob Agent"
        assert (await alice_ws.command("lock.acquire", {"conversation_id": conversation}))[
            "type"
        ] == "ack"
        await alice_ws.close()


async def test_supervisor_force_release_reaches_the_holder_and_agents_get_403(
    lock_server: ServerFactory,
) -> None:
    async with lock_server() as app:
        bob, carol = await login(app.url, "bob"), await login(app.url, "carol")
        conversation = await new_conversation(bob, "+15552220005")
        bob_ws = await Agent.connect(app.url, cookies=bob.cookies)
        await bob_ws.command("lock.acquire", {"conversation_id": conversation})

        board = (await carol.get("/api/v1/locks")).json()["items"]
        assert [(i["conversation_id"], i["holder"]["name"]) for i in board] == [
            (conversation, "Bob Agent")
        ]
        assert board[0]["idle_prompt_pending"] is False and board[0]["since"]

        assert (await bob.delete(f"/api/v1/locks/{conversation}")).status_code == 403
        forced = await carol.delete(f"/api/v1/locks/{conversation}")
        assert forced.status_code == 200, forced.text
        told = await bob_ws.next_event("lock.released")
        assert told["data"]["reason"] == "forced"
        assert (await carol.get("/api/v1/locks")).json()["items"] == []
        assert (await carol.delete(f"/api/v1/locks/{conversation}")).status_code == 404
        await bob_ws.close()


async def test_only_inbox_members_may_view_or_lock(lock_server: ServerFactory) -> None:
    async with lock_server() as app:
        bob, carol = await login(app.url, "bob"), await login(app.url, "carol")
        billing = await new_conversation(carol, "+15552220006", inbox_id=2)
        carol_ws = await Agent.connect(app.url, cookies=carol.cookies)
        bob_ws = await Agent.connect(app.url, cookies=bob.cookies)
        await carol_ws.command("lock.acquire", {"conversation_id": billing})
        for command in ("conversation.view", "lock.acquire", "lock.release"):
            refused = await bob_ws.command(command, {"conversation_id": billing})
            assert refused["error"]["code"] == "forbidden", command
        assert (await bob.get("/api/v1/locks")).json()["items"] == []
        assert (await bob.delete(f"/api/v1/locks/{billing}")).status_code == 403
        await carol_ws.command("lock.release", {"conversation_id": billing})
        assert not [f for f in bob_ws.received if f.get("type", "").startswith("lock.")]
        await bob_ws.close()
        await carol_ws.close()


async def test_lock_events_carry_a_version_that_grows_in_decision_order(
    lock_server: ServerFactory,
) -> None:
    """Events are written after the ack, so two decisions on one conversation may be committed
    in the other order; the version (the conversation's fencing sequence) says which is newer."""
    async with lock_server() as app:
        bob, alice, carol = [await login(app.url, u) for u in ("bob", "alice", "carol")]
        conversation = await new_conversation(bob, "+15552220099")
        bob_ws, alice_ws, carol_ws = [
            await Agent.connect(app.url, cookies=c.cookies) for c in (bob, alice, carol)
        ]
        target = {"conversation_id": conversation}
        taken = await bob_ws.command("lock.acquire", target)
        freed = await bob_ws.command("lock.release", target)
        retaken = await alice_ws.command("lock.acquire", target)
        acks = [taken["data"]["version"], freed["data"]["version"], retaken["data"]["version"]]
        assert acks == sorted(acks) and len(set(acks)) == 3
        seen: list[dict[str, Any]] = []
        while len(seen) < 3:
            frame = await carol_ws.frame()
            if frame["type"] in ("lock.acquired", "lock.released"):
                seen.append(frame)
        seen.sort(key=lambda e: e["data"]["version"])  # one process: in order anyway
        assert [e["type"] for e in seen] == ["lock.acquired", "lock.released", "lock.acquired"]
        assert [e["data"]["version"] for e in seen] == acks
        assert [e["data"]["holder"]["name"] for e in seen] == [
            "Bob Agent",
            "Bob Agent",
            "Alice Admin",
        ]
        for ws in (bob_ws, alice_ws, carol_ws):
            await ws.close()
