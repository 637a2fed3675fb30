from __future__ import annotations

from tests.conftest import Running
from tests.helpers import FRONT_DESK, Agent, login

OLD, NEW = "+15556660001", "+15556660002"


async def test_contact_name_shows_and_number_change_makes_old_conversation_read_only(
    app_server: Running,
) -> None:
    bob = await login(app_server.url, "bob")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    await app_server.twilio.inbound(FRONT_DESK, OLD, "hi, it's Erin")
    first = await bob_ws.next_event("message.created")
    old_id = first["data"]["conversation"]["id"]
    assert first["data"]["conversation"]["contact"] is None

    made = await bob.post(
        "/api/v1/contacts", json={"name": "Erin Kim", "numbers": ["555-666-0001"]}
    )
    assert made.status_code == 201, made.text
    contact = made.json()
    assert contact["numbers"] == [OLD]
    linked = await bob_ws.next_event("conversation.updated")
    assert linked["data"]["conversation"]["contact"] == {"id": contact["id"], "name": "Erin Kim"}

    listed = (await bob.get("/api/v1/contacts?q=erin")).json()["items"]
    assert [c["id"] for c in listed] == [contact["id"]]
    taken = await bob.post("/api/v1/contacts", json={"name": "Other", "numbers": [OLD]})
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "number_taken"
    bad = await bob.post("/api/v1/contacts", json={"name": "Nobody", "numbers": ["not a number"]})
    assert bad.status_code == 422

    # Erin changes her number: the old conversation stays, readable, and refuses sends.
    changed = await bob.put(f"/api/v1/contacts/{contact['id']}", json={"numbers": [NEW]})
    assert changed.json()["numbers"] == [NEW]
    frozen = await bob_ws.next_event(
        "conversation.updated", lambda d: d["conversation"]["read_only"]
    )
    assert frozen["data"]["conversation"]["id"] == old_id
    refused = await bob.post(f"/api/v1/conversations/{old_id}/messages", json={"body": "Hello?"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "read_only"
    by_socket = await bob_ws.command("message.send", {"conversation_id": old_id, "body": "x"})
    assert by_socket["error"]["code"] == "read_only"
    history = (await bob.get(f"/api/v1/conversations/{old_id}/messages")).json()["items"]
    assert [m["body"] for m in history] == ["hi, it's Erin"]

    await app_server.twilio.inbound(FRONT_DESK, NEW, "new phone!")
    fresh = await bob_ws.next_event(
        "message.created", lambda d: d["message"]["body"] == "new phone!"
    )
    conversation = fresh["data"]["conversation"]
    assert conversation["id"] != old_id
    assert conversation["contact"]["name"] == "Erin Kim"
    assert conversation["read_only"] is False
    sent = await bob.post(
        f"/api/v1/conversations/{conversation['id']}/messages", json={"body": "Got it"}
    )
    assert sent.status_code == 201

    renamed = await bob.put(f"/api/v1/contacts/{contact['id']}", json={"name": "Erin K. Park"})
    assert renamed.json() == {
        "id": contact["id"],
        "name": "Erin K. Park",
        "numbers": [NEW],
        "notes": "",
    }
    shown = await bob_ws.next_event(
        "conversation.updated", lambda d: d["conversation"]["contact"]["name"] == "Erin K. Park"
    )
    assert shown["data"]["conversation"]["id"] == conversation["id"]
    await bob_ws.close()


async def test_contacts_are_team_scoped_and_imported_item_by_item(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    response = await bob.post(
        "/api/v1/contacts/import",
        json={
            "items": [
                {"name": "A", "numbers": ["+15556660100"]},
                {"name": "", "numbers": ["+15556660101"]},
                {"name": "C", "numbers": ["+15556660100"]},
                {"name": "D", "numbers": ["+15556660103", "+15556660104"]},
            ]
        },
    )
    results = response.json()["items"]
    assert [r.get("name") for r in results] == ["A", None, None, "D"]
    assert results[2]["error"]["code"] == "number_taken"
    assert (await bob.get("/api/v1/contacts/99999")).status_code == 404
    page = (await bob.get("/api/v1/contacts?limit=2")).json()
    rest = (await bob.get(f"/api/v1/contacts?limit=200&cursor={page['next']}")).json()
    names = [c["name"] for c in page["items"] + rest["items"]]
    assert "A" in names and "D" in names and len(names) == len(set(names))
