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
    twice = await bob.post(
        "/api/v1/contacts", json={"name": "Other", "numbers": ["+15556660009", "555-666-0009"]}
    )
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "duplicate_number"
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
                {"name": "E", "numbers": ["+15556660105", "+15556660105"]},
            ]
        },
    )
    results = response.json()["items"]
    assert [r.get("name") for r in results] == ["A", None, "C", "D", None]  # C shares A's
    assert results[4]["error"]["code"] == "duplicate_number"
    assert (await bob.get("/api/v1/contacts/99999")).status_code == 404
    page = (await bob.get("/api/v1/contacts?limit=2")).json()
    rest = (await bob.get(f"/api/v1/contacts?limit=200&cursor={page['next']}")).json()
    names = [c["name"] for c in page["items"] + rest["items"]]
    assert "A" in names and "D" in names and len(names) == len(set(names))


SHARED, LATER_SHARED, BEN_OWN = "+15556660201", "+15556660202", "+15556660203"


async def test_a_number_of_several_contacts_shows_the_newest_and_names_the_others(
    app_server: Running,
) -> None:
    bob = await login(app_server.url, "bob")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    await app_server.twilio.inbound(FRONT_DESK, SHARED, "it's the Lees' phone")
    first = await bob_ws.next_event("message.created")
    conversation_id = first["data"]["conversation"]["id"]

    ann = (await bob.post("/api/v1/contacts", json={"name": "Ann Lee", "numbers": [SHARED]})).json()
    await bob_ws.next_event("conversation.updated", lambda d: d["conversation"]["contact"])
    made = await bob.post(
        "/api/v1/contacts", json={"name": "Ben Lee", "numbers": [SHARED, LATER_SHARED]}
    )
    assert made.status_code == 201, made.text
    ben = made.json()
    shown = await bob_ws.next_event(
        "conversation.updated", lambda d: d["conversation"]["contact"]["name"] == "Ben Lee"
    )
    assert shown["data"]["conversation"]["id"] == conversation_id
    inbox_id = first["data"]["conversation"]["inbox_id"]
    listed = (await bob.get(f"/api/v1/inboxes/{inbox_id}/conversations")).json()["items"]
    assert next(c for c in listed if c["id"] == conversation_id)["contact"]["name"] == "Ben Lee"
    also = (await bob.get(f"/api/v1/contacts/{ben['id']}")).json()["also"]
    assert also == [{"id": ann["id"], "name": "Ann Lee", "number": SHARED}]
    also = (await bob.get(f"/api/v1/contacts/{ann['id']}")).json()["also"]
    assert also == [{"id": ben["id"], "name": "Ben Lee", "number": SHARED}]

    # The older contact taking Ben's other number: a text from it still names Ben.
    await bob.patch(f"/api/v1/contacts/{ann['id']}", json={"numbers": [SHARED, LATER_SHARED]})
    await app_server.twilio.inbound(FRONT_DESK, LATER_SHARED, "Ben again")
    later = await bob_ws.next_event(
        "message.created", lambda d: d["message"]["body"] == "Ben again"
    )
    assert later["data"]["conversation"]["contact"]["name"] == "Ben Lee"

    # Ben gets a phone of his own: the shared number's conversation shows Ann, still writable.
    await bob.patch(f"/api/v1/contacts/{ben['id']}", json={"numbers": [BEN_OWN]})
    moved = await bob_ws.next_event(
        "conversation.updated",
        lambda d: (
            d["conversation"]["id"] == conversation_id
            and d["conversation"]["contact"]["name"] == "Ann Lee"
        ),
    )
    assert moved["data"]["conversation"]["read_only"] is False
    sent = await bob.post(f"/api/v1/conversations/{conversation_id}/messages", json={"body": "Hi"})
    assert sent.status_code == 201, sent.text
    assert (await bob.get(f"/api/v1/contacts/{ann['id']}")).json()["also"] == []
    await bob_ws.close()
