from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from inbox.models import PhoneNumber
from tests.conftest import Running
from tests.helpers import FRONT_DESK, Agent, login, open_store

SPARE = "+15005550008"  # a team number no inbox has


async def add_spare_number(running: Running) -> None:
    """Provisioning is another issue's REST; the row it would write is written directly."""
    async with open_store(running.settings.database_url) as db, db.write() as session:
        created = datetime(2026, 11, 24, tzinfo=UTC)
        session.add(PhoneNumber(team_id=1, number=SPARE, label="spare", created_at=created))


async def replayed(running: Running, cookies: Any) -> list[dict[str, Any]]:
    """Every frame the log replays from the start (the hello's ack comes after them)."""
    ws = await Agent.connect(running.url, cookies=cookies, hello=0)
    frames = []
    while (frame := await ws.frame()).get("type") != "ack":
        frames.append(frame)
    await ws.close()
    return frames


async def test_text_to_an_unassigned_number_lands_in_the_mailroom_and_moves(
    app_server: Running,
) -> None:
    await add_spare_number(app_server)
    alice, bob = await login(app_server.url, "alice"), await login(app_server.url, "bob")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    alice_ws = await Agent.connect(app_server.url, cookies=alice.cookies)
    assert (
        await app_server.twilio.inbound(SPARE, "+15557771000", "wrong number?")
    ).status_code == 200
    await app_server.twilio.inbound(FRONT_DESK, "+15557771001", "front desk text")
    await bob_ws.next_event("message.created", lambda d: d["message"]["body"] == "front desk text")

    # Alice was connected before the Mailroom existed: she gets access to it, then the text.
    access = await alice_ws.next_event("access.changed")
    created = await alice_ws.next_event("message.created")
    assert created["data"]["message"]["inbox_id"] in access["data"]["inbox_ids"]
    await alice_ws.close()
    inboxes = (await alice.get("/api/v1/inboxes")).json()["items"]
    (room,) = [i for i in inboxes if i["mailroom"]]
    assert room["name"] == "Mailroom"
    assert all(not i["mailroom"] for i in (await bob.get("/api/v1/inboxes")).json()["items"])
    (found,) = (await alice.get(f"/api/v1/inboxes/{room['id']}/conversations")).json()["items"]
    assert found["counterparty"] == "+15557771000"
    no_reply = await alice.post(
        f"/api/v1/conversations/{found['id']}/messages", json={"body": "hello"}
    )
    assert no_reply.json()["error"]["code"] == "no_number"
    bob_denied = await bob.post(f"/api/v1/conversations/{found['id']}/move", json={"inbox_id": 1})
    assert bob_denied.status_code == 403

    moved = await alice.post(f"/api/v1/conversations/{found['id']}/move", json={"inbox_id": 1})
    assert moved.status_code == 200, moved.text
    assert moved.json()["inbox_id"] == 1
    arrived = await bob_ws.next_event("conversation.updated")
    assert arrived["data"]["conversation"]["id"] == found["id"]
    history = (await bob.get(f"/api/v1/conversations/{found['id']}/messages")).json()["items"]
    assert [m["body"] for m in history] == ["wrong number?"]

    # The same customer texts the spare number again, and Front Desk already has them: merged.
    await app_server.twilio.inbound(SPARE, "+15557771000", "still me")
    (again,) = (await alice.get(f"/api/v1/inboxes/{room['id']}/conversations")).json()["items"]
    # Both carry tags (one the same), and the Mailroom one a note: all of it goes along.
    tags = [(await alice.post("/api/v1/tags", json={"name": n})).json() for n in ("A", "B")]
    for conversation, tag in [(again, tags[0]), (again, tags[1]), (found, tags[0])]:
        tagged = await alice.post(
            f"/api/v1/conversations/{conversation['id']}/tags", json={"tag_id": tag["id"]}
        )
        assert tagged.status_code == 200
    note = await alice.post(f"/api/v1/conversations/{again['id']}/notes", json={"body": "@bob hi"})
    assert note.status_code == 422  # bob cannot see the Mailroom
    await alice.post(f"/api/v1/conversations/{again['id']}/notes", json={"body": "same person"})
    merged = await alice.post(f"/api/v1/conversations/{again['id']}/move", json={"inbox_id": 1})
    assert merged.status_code == 200, merged.text
    assert merged.json()["id"] == found["id"]
    assert [t["name"] for t in merged.json()["tags"]] == ["A", "B"]
    history = (await bob.get(f"/api/v1/conversations/{found['id']}/messages")).json()["items"]
    assert [m["body"] for m in history] == ["wrong number?", "still me", "same person"]
    assert (await alice.get(f"/api/v1/conversations/{again['id']}/messages")).status_code == 404
    await bob_ws.close()


async def test_admin_deletes_a_conversation_with_typed_confirmation(app_server: Running) -> None:
    alice, bob = await login(app_server.url, "alice"), await login(app_server.url, "bob")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    await app_server.twilio.inbound(FRONT_DESK, "+15557772000", "my secret account number")
    created = await bob_ws.next_event("message.created")
    conversation_id = created["data"]["conversation"]["id"]
    await bob.post(f"/api/v1/conversations/{conversation_id}/read")
    url = f"/api/v1/conversations/{conversation_id}"

    assert (await bob.request("DELETE", url, json={"confirm": "+15557772000"})).status_code == 403
    wrong = await alice.request("DELETE", url, json={"confirm": "+15557772001"})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (422, "confirm")
    assert (await alice.get(f"{url}/messages")).status_code == 200  # nothing lost yet

    gone = await alice.request("DELETE", url, json={"confirm": "(555) 777-2000"})
    assert gone.status_code == 204
    deleted = await bob_ws.next_event("conversation.deleted")
    assert deleted["data"] == {"conversation_id": conversation_id, "inbox_id": 1}
    assert (await alice.get(f"{url}/messages")).status_code == 404
    frames = await replayed(app_server, bob.cookies)
    assert "my secret account number" not in json.dumps(frames)
    ids = [f["id"] for f in frames]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    await bob_ws.close()
