"""`presence.changed` goes to the whole team, but which conversation someone views is told only
to members of that conversation's inbox: the others get `viewing: null`, live, on replay and
over REST."""

from __future__ import annotations

import httpx

from tests.conftest import Running
from tests.helpers import Agent, login


async def _first_conversation(client: httpx.AsyncClient, inbox_name: str) -> int:
    inboxes = (await client.get("/api/v1/inboxes")).json()["items"]
    inbox = next(i for i in inboxes if i["name"] == inbox_name)
    listed = await client.get(f"/api/v1/inboxes/{inbox['id']}/conversations")
    return int(listed.json()["items"][0]["id"])


async def test_viewing_is_told_only_to_members_of_the_viewed_inbox(app_server: Running) -> None:
    bob, alice, carol = [await login(app_server.url, n) for n in ("bob", "alice", "carol")]
    carol_id = (await carol.get("/api/v1/me")).json()["id"]
    last = (await bob.get("/api/v1/me")).json()["last_event_id"]
    billing = await _first_conversation(carol, "Billing")  # bob is not a member
    front = await _first_conversation(carol, "Front Desk")
    bob_tab = await Agent.connect(app_server.url, cookies=bob.cookies)
    alice_tab = await Agent.connect(app_server.url, cookies=alice.cookies)
    carol_tab = await Agent.connect(app_server.url, cookies=carol.cookies)

    assert (await carol_tab.command("conversation.view", {"conversation_id": billing}))[
        "type"
    ] == "ack"
    seen_by_alice = await alice_tab.next_event(
        "presence.changed", lambda d: d["user"]["id"] == carol_id and d["viewing"] == billing
    )
    seen_by_bob = await bob_tab.next_event(
        "presence.changed", lambda d: d["user"]["id"] == carol_id
    )
    while seen_by_bob["id"] < seen_by_alice["id"]:
        seen_by_bob = await bob_tab.next_event("presence.changed")
    assert seen_by_bob["id"] == seen_by_alice["id"]  # the same event, with the field masked
    assert seen_by_bob["data"]["viewing"] is None
    assert seen_by_bob["data"]["status"] == seen_by_alice["data"]["status"]
    board = (await bob.get("/api/v1/presence")).json()["items"]
    assert next(i for i in board if i["user"]["id"] == carol_id)["viewing"] is None
    board = (await alice.get("/api/v1/presence")).json()["items"]
    assert next(i for i in board if i["user"]["id"] == carol_id)["viewing"] == billing

    # Replayed from the log, bob still never learns it.
    replayed = await Agent.connect(app_server.url, cookies=bob.cookies, hello=last)
    again = await replayed.next_event("presence.changed", lambda d: d["user"]["id"] == carol_id)
    while again["id"] < seen_by_alice["id"]:
        again = await replayed.next_event("presence.changed")
    assert again["id"] == seen_by_alice["id"] and again["data"]["viewing"] is None

    # A conversation of bob's own inbox is his to know about.
    await carol_tab.command("conversation.view", {"conversation_id": front})
    await bob_tab.next_event(
        "presence.changed", lambda d: d["user"]["id"] == carol_id and d["viewing"] == front
    )
    for tab in (bob_tab, alice_tab, carol_tab, replayed):
        await tab.close()
