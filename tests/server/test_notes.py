"""Private notes over REST: stored in the thread for the inbox's members, never sent as a text,
never the list's preview, never changing read state; @mentions reach the named teammate live
and in their Mentions view; refusals change nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.accounts import make_other_team
from tests.conftest import Running
from tests.helpers import Agent, login

DANA, PRIYA = 1, 3  # the demo's conversations: Dana in Front Desk, Priya in Billing
DANA_NUMBER = "+15551230001"


async def history(client: httpx.AsyncClient, conversation_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/conversations/{conversation_id}/messages")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def listed(client: httpx.AsyncClient, conversation_id: int) -> dict[str, Any]:
    items = (await client.get("/api/v1/inboxes/1/conversations")).json()["items"]
    (found,) = [c for c in items if c["id"] == conversation_id]
    return dict(found)


async def test_a_note_with_a_mention_reaches_the_teammate_and_never_the_provider(
    app_server: Running,
) -> None:
    bob, carol = await login(app_server.url, "bob"), await login(app_server.url, "carol")
    carol_id = (await carol.get("/api/v1/me")).json()["id"]
    carol_ws = await Agent.connect(app_server.url, cookies=carol.cookies)
    before = await listed(carol, DANA)

    made = await bob.post(
        f"/api/v1/conversations/{DANA}/notes",
        json={"body": "@carol she asked about Saturday twice; can you call her? (bob@example.com)"},
    )
    assert made.status_code == 201, made.text
    note = made.json()
    assert note["direction"] == "note" and note["sender"]["name"] == "Bob Agent"
    assert note["mentions"] == [{"id": carol_id, "name": "Carol Supervisor", "kind": "user"}]

    shown = await carol_ws.next_event("note.created")
    assert shown["data"]["message"]["id"] == note["id"]
    mention = await carol_ws.next_event("mention.created")
    assert mention["data"]["message"]["body"] == note["body"]
    assert mention["data"]["conversation"]["id"] == DANA

    # In the thread, not the preview; the list's order and carol's unread state stay.
    assert [m["direction"] for m in await history(bob, DANA)] == ["inbound", "note"]
    after = await listed(carol, DANA)
    assert after["preview"] == "Hi, is the office open on Saturday?"
    assert after["last_message_at"] == before["last_message_at"]
    assert after["unread"] == before["unread"] is True

    mentions = (await carol.get("/api/v1/mentions")).json()
    assert mentions["unread"] == 1
    assert [(i["message"]["id"], i["read"]) for i in mentions["items"]] == [(note["id"], False)]
    assert (await carol.post("/api/v1/mentions/read")).json() == {"unread": 0}
    assert (await carol.get("/api/v1/mentions")).json()["items"][0]["read"] is True
    assert (await bob.get("/api/v1/mentions")).json()["items"] == []

    # A reply after the note is the only thing the provider ever gets.
    sent = await bob.post(f"/api/v1/conversations/{DANA}/messages", json={"body": "Yes, 9-1."})
    assert sent.status_code == 201
    (created,) = await asyncio.to_thread(app_server.fake.wait_for_messages, 1)
    assert created["body"] == "Yes, 9-1."
    assert app_server.fake.create_calls == 1
    await carol_ws.close()


async def test_refused_notes_store_nothing(app_server: Running) -> None:
    alice, bob = await login(app_server.url, "alice"), await login(app_server.url, "bob")
    # bob is not a member of Billing: he cannot write there, nor be named there.
    assert (
        await bob.post(f"/api/v1/conversations/{PRIYA}/notes", json={"body": "hi"})
    ).status_code == 403
    outsider = await alice.post(
        f"/api/v1/conversations/{PRIYA}/notes", json={"body": "@bob can you look?"}
    )
    assert outsider.status_code == 422
    assert outsider.json()["error"]["code"] == "not_member"
    assert "@bob" in outsider.json()["error"]["message"]
    for body, status, code in [
        ({"body": "  "}, 422, "empty"),
        ({"body": "x" * 10_001}, 422, "too_long"),
        ({"body": 5}, 422, "empty"),
    ]:
        refused = await alice.post(f"/api/v1/conversations/{PRIYA}/notes", json=body)
        assert (refused.status_code, refused.json()["error"]["code"]) == (status, code)
    broken = await alice.post(
        f"/api/v1/conversations/{PRIYA}/notes",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 400
    assert (
        await alice.post("/api/v1/conversations/999/notes", json={"body": "x"})
    ).status_code == 404
    cross_site = await alice.post(
        f"/api/v1/conversations/{PRIYA}/notes",
        json={"body": "from another site"},
        headers={"Origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403 and cross_site.json()["error"]["code"] == "bad_origin"
    assert [m["direction"] for m in await history(alice, PRIYA)] == ["inbound"]
    assert (await bob.get("/api/v1/mentions")).json()["unread"] == 0
    # An @word that is nobody's username is plain text; a 2,000-character note is fine.
    plain = await alice.post(
        f"/api/v1/conversations/{PRIYA}/notes", json={"body": "@home later " + "x" * 2000}
    )
    assert plain.status_code == 201 and plain.json()["mentions"] == []


async def test_deleting_a_conversation_takes_its_notes_mentions_and_tags(
    app_server: Running,
) -> None:
    alice, carol = await login(app_server.url, "alice"), await login(app_server.url, "carol")
    start = (await carol.get("/api/v1/me")).json()["last_event_id"]
    note = await alice.post(
        f"/api/v1/conversations/{DANA}/notes", json={"body": "@carol secret plan"}
    )
    assert note.status_code == 201
    tag = (await alice.post("/api/v1/tags", json={"name": "Urgent"})).json()
    await alice.post(f"/api/v1/conversations/{DANA}/tags", json={"tag_id": tag["id"]})
    assert (await carol.get("/api/v1/mentions")).json()["unread"] == 1
    gone = await alice.request(
        "DELETE", f"/api/v1/conversations/{DANA}", json={"confirm": DANA_NUMBER}
    )
    assert gone.status_code == 204
    assert (await carol.get("/api/v1/mentions")).json() == {
        "items": [],
        "next": None,
        "unread": 0,
    }
    # Replaying the log hands out no copy of the note, to the inbox or to carol: note.created,
    # mention.created and the tagged conversation.updated are tombstones now.
    last = (await carol.get("/api/v1/me")).json()["last_event_id"]
    replay = await Agent.connect(app_server.url, cookies=carol.cookies, hello=start)
    frames = [await replay.reply()]
    while frames[-1].get("id") != last:
        frames.append(await replay.reply())
    assert [f["type"] for f in frames] == [
        "conversation.deleted",
        "conversation.deleted",
        "tag.updated",
        "conversation.deleted",
        "conversation.deleted",
    ]
    assert all("secret plan" not in str(f) for f in frames)
    await replay.close()
    assert (await alice.get("/api/v1/tags")).json()["items"] == [tag]  # the tag stays


async def test_members_are_listed_for_mentions_to_members_only(app_server: Running) -> None:
    other = await make_other_team(app_server.settings)
    bob, zed = await login(app_server.url, "bob"), await login(app_server.url, "zed")
    front = (await bob.get("/api/v1/inboxes/1/members")).json()
    assert [(m["username"], m["kind"]) for m in front["items"]] == [
        ("alice", "user"),
        ("bob", "user"),
        ("carol", "user"),
    ]
    assert (await bob.get("/api/v1/inboxes/2/members")).status_code == 403
    assert (await zed.get("/api/v1/inboxes/1/members")).status_code == 404
    assert (await bob.get(f"/api/v1/inboxes/{other.inbox_id}/members")).status_code == 403


async def test_a_mention_reaches_the_teammate_only_while_they_belong_to_the_inbox(
    app_server: Running,
) -> None:
    alice, carol = await login(app_server.url, "alice"), await login(app_server.url, "carol")
    start = (await carol.get("/api/v1/me")).json()["last_event_id"]
    made = await alice.post(f"/api/v1/conversations/{DANA}/notes", json={"body": "@carol look"})
    assert made.status_code == 201
    ids = [u["id"] for u in (await alice.get("/api/v1/inboxes/1/members")).json()["items"]]
    carol_id = (await carol.get("/api/v1/me")).json()["id"]
    kept = [i for i in ids if i != carol_id]
    removed = await alice.put("/api/v1/inboxes/1/members", json={"user_ids": kept})
    assert removed.status_code == 200
    # Carol reconnects from before the note: the log replays what she may see now.
    replay = await Agent.connect(app_server.url, cookies=carol.cookies, hello=start)
    seen: list[dict[str, Any]] = []
    while not seen or seen[-1]["type"] != "access.changed":
        seen.append(await replay.reply())
    assert [f["type"] for f in seen] == ["access.changed"]
    await replay.close()
