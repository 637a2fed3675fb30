"""Conversations by id (a link opens one; the board names the ones it sees), history pages, and
the contact panel's data (notes, the contact's other conversations), each only within the
caller's inboxes and team."""

from __future__ import annotations

from tests.accounts import make_other_team
from tests.conftest import Running
from tests.helpers import FRONT_DESK, Agent, login

DANA, MARCUS, PRIYA = 1, 2, 3  # Priya is in Billing, which bob does not belong to
DANA_CONTACT, PRIYA_CONTACT = 1, 3


async def test_conversations_by_id_only_within_the_callers_inboxes(app_server: Running) -> None:
    other = await make_other_team(app_server.settings)
    bob = await login(app_server.url, "bob")
    one = await bob.get(f"/api/v1/conversations/{DANA}")
    assert one.status_code == 200 and one.json()["contact"]["name"] == "Dana Whitfield"
    assert (await bob.get(f"/api/v1/conversations/{PRIYA}")).status_code == 403
    assert (await bob.get(f"/api/v1/conversations/{other.conversation_id}")).status_code == 403
    assert (await bob.get("/api/v1/conversations/999")).status_code == 404
    asked = f"{MARCUS},{PRIYA},{DANA},{other.conversation_id},999,{MARCUS}"
    named = (await bob.get("/api/v1/conversations", params={"ids": asked})).json()
    assert [c["id"] for c in named["items"]] == [MARCUS, DANA]
    for ids in ["", "1,x", ",".join(str(i) for i in range(1, 202)), "-1"]:
        refused = await bob.get("/api/v1/conversations", params={"ids": ids})
        assert refused.status_code == 422, ids


async def test_history_pages_back_from_the_newest(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    for i in range(5):
        await app_server.twilio.inbound(FRONT_DESK, "+15553334444", f"text {i}")
        conversation = (await ws.next_event("message.created"))["data"]["conversation"]["id"]
    path = f"/api/v1/conversations/{conversation}/messages"
    newest = (await bob.get(path, params={"limit": "2"})).json()
    assert [m["body"] for m in newest["items"]] == ["text 3", "text 4"]
    older = (await bob.get(path, params={"limit": "2", "before": newest["next"]})).json()
    assert [m["body"] for m in older["items"]] == ["text 1", "text 2"]
    oldest = (await bob.get(path, params={"limit": "2", "before": older["next"]})).json()
    assert [m["body"] for m in oldest["items"]] == ["text 0"] and oldest["next"] is None
    assert (await bob.get(path, params={"limit": "0"})).status_code == 422
    assert (await bob.get(path, params={"limit": "201"})).status_code == 422
    await ws.close()


async def test_contact_notes_and_other_conversations_for_the_panel(app_server: Running) -> None:
    await make_other_team(app_server.settings)
    alice, bob = await login(app_server.url, "alice"), await login(app_server.url, "bob")
    zed = await login(app_server.url, "zed")
    path = f"/api/v1/contacts/{DANA_CONTACT}"
    noted = await bob.patch(path, json={"notes": " Prefers texts after 5pm. "})
    assert noted.status_code == 200 and noted.json()["notes"] == "Prefers texts after 5pm."
    too_long = await bob.patch(path, json={"notes": "x" * 5001})
    assert too_long.status_code == 422 and too_long.json()["error"]["code"] == "too_long"
    assert (await bob.patch(path, json={"notes": 5})).status_code == 422
    assert (await bob.get(path)).json()["notes"] == "Prefers texts after 5pm."

    theirs = await bob.get(f"{path}/conversations")
    assert [c["id"] for c in theirs.json()["items"]] == [DANA]
    # Priya's only conversation is in Billing: bob sees the contact but not the conversation.
    assert (await bob.get(f"/api/v1/contacts/{PRIYA_CONTACT}/conversations")).json()["items"] == []
    alices = (await alice.get(f"/api/v1/contacts/{PRIYA_CONTACT}/conversations")).json()
    assert [c["id"] for c in alices["items"]] == [PRIYA]

    assert (await zed.get(path)).status_code == 404
    assert (await zed.get(f"{path}/conversations")).status_code == 404
    assert (await zed.patch(path, json={"notes": "mine now"})).status_code == 404
    assert (await bob.get(path)).json()["notes"] == "Prefers texts after 5pm."
    made = await bob.post(
        "/api/v1/contacts", json={"name": "Sam", "numbers": ["+15553335555"], "notes": "new"}
    )
    assert made.json()["notes"] == "new"
