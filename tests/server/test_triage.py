from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Running
from tests.helpers import BILLING, FRONT_DESK, Agent, login

# The demo seeds two Front Desk conversations (Dana, Marcus), both unread and unassigned.
SEEDED_FRONT_DESK = 2


async def ids(client: httpx.AsyncClient, query: str = "") -> list[int]:
    response = await client.get(f"/api/v1/inboxes/1/conversations?{query}")
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


async def post(client: httpx.AsyncClient, path: str, body: Any = None) -> dict[str, Any]:
    response = await client.post(f"/api/v1/conversations/{path}", json=body or {})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def seed(running: Running, agent: Agent, count: int) -> list[int]:
    made = []
    for i in range(count):
        await running.twilio.inbound(FRONT_DESK, f"+1555333{i:04d}", f"question {i}")
        event = await agent.next_event("message.created")
        made.append(event["data"]["conversation"]["id"])
    return made


async def test_filters_and_counts(app_server: Running) -> None:
    bob, carol = await login(app_server.url, "bob"), await login(app_server.url, "carol")
    me = (await bob.get("/api/v1/me")).json()
    carol_id = (await carol.get("/api/v1/me")).json()["id"]
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    a, b, c, d, e = await seed(app_server, bob_ws, 5)
    await post(bob, f"{a}/assign", {"user_id": me["id"]})
    await post(bob, f"{b}/assign", {"user_id": me["id"]})
    await post(carol, f"{c}/assign", {"user_id": carol_id})
    await post(bob, f"{d}/archive")
    await post(bob, f"{a}/read")
    await post(bob, f"{c}/read")

    assert await ids(bob, "assignee=me") == [b, a]
    assert await ids(bob, f"assignee={carol_id}") == [c]
    seeded = (await ids(bob))[-SEEDED_FRONT_DESK:]  # the oldest activity
    assert set(await ids(bob, "assignee=unassigned")) == {e, *seeded}
    assert await ids(bob, "folder=archived") == [d]
    assert set(await ids(bob, "read=read")) == {a, c}
    assert a not in await ids(bob, "read=unread") and e in await ids(bob, "read=unread")
    assert a in await ids(carol, "read=unread")  # read markers are per user
    assert await ids(bob, "q=question 4") == [e]
    assert await ids(bob, "assignee=me&read=unread") == [b]

    counts = (await bob.get("/api/v1/inboxes/1/counts")).json()
    total_open = 4 + SEEDED_FRONT_DESK
    assert counts["folders"] == {"inbox": total_open, "archived": 1}
    assert counts["inbox"] == {
        "mine": 2,
        "unassigned": total_open - 3,
        "unread": total_open - 2,
        "read": 2,
    }
    assert counts["assignees"] == {str(me["id"]): 2, str(carol_id): 1}
    await bob_ws.close()


async def test_assignment_events_and_rules(app_server: Running) -> None:
    alice, bob = await login(app_server.url, "alice"), await login(app_server.url, "bob")
    carol = await login(app_server.url, "carol")
    bob_id = (await bob.get("/api/v1/me")).json()["id"]
    carol_ws = await Agent.connect(app_server.url, cookies=carol.cookies)
    await app_server.twilio.inbound(BILLING, "+15553339000", "refund?")
    billing = (await carol_ws.next_event("message.created"))["data"]["conversation"]["id"]

    # Bob is not a member of Billing: he cannot be given its conversation, nor touch it.
    refused = await alice.post(f"/api/v1/conversations/{billing}/assign", json={"user_id": bob_id})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "not_member"
    assert (await bob.post(f"/api/v1/conversations/{billing}/archive")).status_code == 403
    missing = await alice.post(f"/api/v1/conversations/{billing}/assign", json={})
    assert missing.status_code == 422

    carol_id = (await carol.get("/api/v1/me")).json()["id"]
    view = await post(alice, f"{billing}/assign", {"user_id": carol_id})
    assert view["assignee"]["name"] == "Carol Supervisor"
    event = await carol_ws.next_event("conversation.updated")
    assert event["data"]["conversation"]["assignee"]["id"] == carol_id
    await post(alice, f"{billing}/assign", {"user_id": None})
    event = await carol_ws.next_event("conversation.updated")
    assert event["data"]["conversation"]["assignee"] is None
    await carol_ws.close()


async def test_archived_conversation_revives_unread_for_everyone(app_server: Running) -> None:
    bob, carol = await login(app_server.url, "bob"), await login(app_server.url, "carol")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    carol_ws = await Agent.connect(app_server.url, cookies=carol.cookies)
    (conversation_id,) = await seed(app_server, bob_ws, 1)
    await post(bob, f"{conversation_id}/read")
    mine = await bob_ws.next_event("conversation.updated")
    assert mine["data"]["conversation"]["unread"] is False
    await post(carol, f"{conversation_id}/read")
    await post(bob, f"{conversation_id}/archive")
    archived = await carol_ws.next_event(
        "conversation.updated", lambda d: d["conversation"]["status"] == "archived"
    )
    assert archived["data"]["conversation"]["id"] == conversation_id
    assert conversation_id not in await ids(bob)

    await app_server.twilio.inbound(FRONT_DESK, "+15553330000", "me again")
    for ws in (bob_ws, carol_ws):
        revived = await ws.next_event(
            "message.created", lambda d: d["message"]["body"] == "me again"
        )
        assert revived["data"]["conversation"]["status"] == "open"
        assert revived["data"]["conversation"]["unread"] is True
    for client in (bob, carol):
        assert conversation_id in await ids(client, "read=unread")
        assert conversation_id not in await ids(client, "folder=archived")

    # Unarchive by hand, and mark unread by hand (per user).
    await post(bob, f"{conversation_id}/read")
    view = await post(bob, f"{conversation_id}/unread")
    assert view["unread"] is True
    assert conversation_id in await ids(bob, "read=unread")
    await post(bob, f"{conversation_id}/archive")
    assert (await post(bob, f"{conversation_id}/unarchive"))["status"] == "open"
    await bob_ws.close()
    await carol_ws.close()


async def test_cursor_pages_stay_whole_while_texts_arrive(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    made = await seed(app_server, bob_ws, 7)
    everything = await ids(bob)
    first = (await bob.get("/api/v1/inboxes/1/conversations?limit=3")).json()
    seen = [c["id"] for c in first["items"]]
    # A conversation further down gets a new text: it jumps to the top (the client learns of it
    # from the event), and the pages after the cursor neither repeat nor skip the others.
    moved = everything[-1]
    counterparty = next(
        c["counterparty"]
        for c in (await bob.get("/api/v1/inboxes/1/conversations?limit=200")).json()["items"]
        if c["id"] == moved
    )
    await app_server.twilio.inbound(FRONT_DESK, counterparty, "bump")
    await bob_ws.next_event("message.created", lambda d: d["message"]["body"] == "bump")
    cursor = first["next"]
    while cursor:
        page = (await bob.get(f"/api/v1/inboxes/1/conversations?limit=3&cursor={cursor}")).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next"]
    assert len(seen) == len(set(seen))
    assert set(seen) == set(everything) - {moved}
    assert (await ids(bob))[0] == moved
    assert set(made) <= set(everything)
    bad = await bob.get("/api/v1/inboxes/1/conversations?cursor=nonsense")
    assert bad.status_code == 422
    await bob_ws.close()
