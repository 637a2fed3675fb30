"""The phone-number lifecycle over REST, through the real `twilio` library against the fake
Twilio (DESIGN.md, "Phone numbers"): search by area code, buy, name, give to an inbox, texts in
and out on it, release with the typed confirmation, replace once a month; and every refusal
(unknown area code, a released number, another team's, a non-admin, Twilio failing) changes
nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select
from sqlmodel import col

from inbox.models import AuditEntry, PhoneNumber
from tests.accounts import make_other_team
from tests.conftest import Running
from tests.fake_twilio.numbers import for_sale
from tests.helpers import Agent, login, open_store, snapshot_store


async def numbers_in_store(running: Running) -> dict[str, PhoneNumber]:
    async with open_store(running.settings.database_url) as db, db.read() as session:
        return {n.number: n for n in await session.scalars(select(PhoneNumber))}


async def audit_actions(running: Running) -> list[str]:
    async with open_store(running.settings.database_url) as db, db.read() as session:
        rows = await session.scalars(select(AuditEntry).order_by(col(AuditEntry.id)))
        return [e.action for e in rows]


async def bought(alice: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await alice.post("/api/v1/phone-numbers", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_search_buy_name_assign_text_and_release(numbers_server: Running) -> None:
    fake = numbers_server.fake
    stocked = fake.stock("415", 3)
    alice = await login(numbers_server.url, "alice")
    alice_tab = await Agent.connect(numbers_server.url, cookies=alice.cookies)

    found = (await alice.get("/api/v1/phone-numbers/available?area_code=415")).json()["items"]
    assert [n["phone_number"] for n in found] == stocked
    assert found[0]["locality"] == "San Francisco" and found[0]["region"] == "CA"
    (search,) = fake.requests_to("GET", "/AvailablePhoneNumbers/US/Local.json")
    assert search.param("AreaCode") == "415" and search.param("SmsEnabled") == "true"
    none = await alice.get("/api/v1/phone-numbers/available?area_code=907")
    assert none.status_code == 200 and none.json()["items"] == []

    inbox = (await alice.post("/api/v1/inboxes", json={"name": "Leasing"})).json()
    number = await bought(
        alice,
        phone_number=stocked[1],
        name="Leasing line",
        description="Unit 4 leasing",
        inbox_id=inbox["id"],
        agent_id=3,
    )
    assert number["phone_number"] == stocked[1] and number["name"] == "Leasing line"
    assert number["inbox"] == {"id": inbox["id"], "name": "Leasing"}
    assert number["agent"] == {"id": 3, "name": "Bob Agent"}
    assert number["registration"] == "registered"  # the demo team is registered already
    assert number["type"] == "agent" and number["number_type"] == "reusable"
    (buy,) = fake.requests_to("POST", "/IncomingPhoneNumbers.json")
    assert buy.param("PhoneNumber") == stocked[1]
    assert buy.param("SmsUrl") == f"{numbers_server.url}/webhooks/twilio/messages"
    assert buy.param("StatusCallback") == f"{numbers_server.url}/webhooks/twilio/status"
    assert buy.param("VoiceUrl") == f"{numbers_server.url}/webhooks/twilio/voice"
    assert (buy.param("FriendlyName") or "").startswith("switchboard:")
    await alice_tab.next_event("inbox.updated", lambda d: d["inbox"]["phone_number"] == stocked[1])
    event = await alice_tab.next_event(
        "phone_number.updated", lambda d: d["phone_number"]["id"] == number["id"]
    )
    assert event["data"]["phone_number"]["inbox"]["id"] == inbox["id"]

    # A text to it arrives live in the new inbox, and a reply goes from it.
    used_before = (await numbers_in_store(numbers_server))[stocked[1]].last_used_at
    assert (
        await numbers_server.twilio.inbound(stocked[1], "+15551230000", "Is 4B free?")
    ).status_code == 200
    created = await alice_tab.next_event(
        "message.created", lambda d: d["message"]["body"] == "Is 4B free?"
    )
    assert created["data"]["message"]["inbox_id"] == inbox["id"]
    used_in = (await numbers_in_store(numbers_server))[stocked[1]].last_used_at
    assert used_before is not None and used_in is not None and used_in > used_before
    conversation_id = created["data"]["conversation"]["id"]
    reply = await alice.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"body": "It is."}
    )
    assert reply.status_code == 201, reply.text
    used_out = (await numbers_in_store(numbers_server))[stocked[1]].last_used_at
    assert used_out is not None and used_out > used_in

    listed = (await alice.get("/api/v1/phone-numbers")).json()["items"]
    assert stocked[1] in [n["phone_number"] for n in listed]

    # Release: refused without the typed confirmation, then done at Twilio; the row stays.
    for body in ({}, {"confirm": "delete"}, {"confirm": "yes"}):
        refused = await alice.request("DELETE", f"/api/v1/phone-numbers/{number['id']}", json=body)
        assert (
            refused.status_code == 422
            and refused.json()["error"]["code"] == "confirmation_required"
        )
    assert fake.requests_to("DELETE", "/IncomingPhoneNumbers/") == []
    released = await alice.request(
        "DELETE", f"/api/v1/phone-numbers/{number['id']}", json={"confirm": "DELETE"}
    )
    assert released.status_code == 200, released.text
    assert released.json()["released"] and released.json()["inbox"] is None
    assert [r["phone_number"] for r in fake.released] == [stocked[1]]
    inboxes = (await alice.get("/api/v1/inboxes?all=1")).json()["items"]
    assert [i for i in inboxes if i["id"] == inbox["id"]][0]["phone_number"] is None
    # The conversation stays readable; it cannot send from a number that is gone.
    history = (await alice.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    assert [m["body"] for m in history["items"]] == ["Is 4B free?", "It is."]
    assert stocked[1] not in [
        n["phone_number"] for n in (await alice.get("/api/v1/phone-numbers")).json()["items"]
    ]
    kept = (await alice.get("/api/v1/phone-numbers?released=1")).json()["items"]
    assert [n["released"] for n in kept if n["phone_number"] == stocked[1]] == [True]

    # Never bought, assigned or released again here.
    fake.available[stocked[1]] = for_sale(stocked[1], "San Francisco", "CA")  # Twilio resells
    again = (await alice.get("/api/v1/phone-numbers/available?area_code=415")).json()["items"]
    assert stocked[1] not in [n["phone_number"] for n in again]
    rebuy = await alice.post("/api/v1/phone-numbers", json={"phone_number": stocked[1]})
    assert rebuy.status_code == 409 and rebuy.json()["error"]["code"] == "released"
    for attempt in (
        alice.patch(f"/api/v1/phone-numbers/{number['id']}", json={"inbox_id": inbox["id"]}),
        alice.patch(f"/api/v1/inboxes/{inbox['id']}", json={"phone_number_id": number["id"]}),
        alice.request(
            "DELETE", f"/api/v1/phone-numbers/{number['id']}", json={"confirm": "DELETE"}
        ),
    ):
        response = await attempt
        assert response.status_code == 409 and response.json()["error"]["code"] == "released"
    assert len(fake.requests_to("POST", "/IncomingPhoneNumbers.json")) == 1
    actions = await audit_actions(numbers_server)
    assert actions.count("phone_number.bought") == 1 and actions.count("phone_number.released") == 1
    await alice_tab.close()


async def test_buy_by_area_code_and_none_left_there(numbers_server: Running) -> None:
    fake = numbers_server.fake
    (only,) = fake.stock("646", 1)
    alice = await login(numbers_server.url, "alice")
    number = await bought(alice, area_code="646", name="NYC")
    assert number["phone_number"] == only and number["inbox"] is None
    assert number["expires_at"] is not None  # unassigned: released after 91 idle days

    gone = await alice.post("/api/v1/phone-numbers", json={"area_code": "646"})
    assert gone.status_code == 409 and gone.json()["error"]["code"] == "unavailable"
    assert "646" in gone.json()["error"]["message"]
    (elsewhere,) = fake.stock("312", 1)
    anywhere = await alice.post("/api/v1/phone-numbers", json={"area_code": "646", "any_us": True})
    assert anywhere.status_code == 201 and anywhere.json()["phone_number"] == elsewhere
    for bad in ({"area_code": "12"}, {"area_code": "abc"}, {}, {"phone_number": "nope"},
                {"phone_number": only, "area_code": "646"}):  # fmt: skip
        response = await alice.post("/api/v1/phone-numbers", json=bad)
        assert response.status_code == 422, (bad, response.text)
    bad_search = await alice.get("/api/v1/phone-numbers/available?area_code=01")
    assert bad_search.status_code == 422
    assert bad_search.json()["error"]["code"] == "invalid_area_code"
    assert len(fake.requests_to("POST", "/IncomingPhoneNumbers.json")) == 2
    assert len(fake.owned) == 2


async def test_refusals_change_nothing(numbers_server: Running) -> None:
    fake = numbers_server.fake
    stocked = fake.stock("415", 2)
    other = await make_other_team(numbers_server.settings)
    alice, bob = await login(numbers_server.url, "alice"), await login(numbers_server.url, "bob")
    zed = await login(numbers_server.url, "zed")
    mine = await bought(alice, phone_number=stocked[0])
    async with open_store(numbers_server.settings.database_url) as db:
        before = await snapshot_store(db)

    for call in (
        bob.get("/api/v1/phone-numbers"),
        bob.get("/api/v1/phone-numbers/available?area_code=415"),
        bob.post("/api/v1/phone-numbers", json={"phone_number": stocked[1]}),
        bob.patch(f"/api/v1/phone-numbers/{mine['id']}", json={"name": "mine"}),
        bob.request("DELETE", f"/api/v1/phone-numbers/{mine['id']}", json={"confirm": "DELETE"}),
        bob.post("/api/v1/inboxes/1/replace-number", json={}),
    ):
        response = await call
        assert response.status_code == 403, response.text
    # Another team's admin cannot see, change or release it, nor give it to their inbox.
    for call in (
        zed.patch(f"/api/v1/phone-numbers/{mine['id']}", json={"name": "stolen"}),
        zed.request("DELETE", f"/api/v1/phone-numbers/{mine['id']}", json={"confirm": "DELETE"}),
        zed.patch(f"/api/v1/inboxes/{other.inbox_id}", json={"phone_number_id": mine["id"]}),
        alice.post(f"/api/v1/inboxes/{other.inbox_id}/replace-number", json={}),
        alice.post(
            "/api/v1/phone-numbers", json={"phone_number": stocked[1], "inbox_id": other.inbox_id}
        ),
    ):
        response = await call
        assert response.status_code == 404, response.text
    assert mine["phone_number"] not in [
        n["phone_number"] for n in (await zed.get("/api/v1/phone-numbers")).json()["items"]
    ]
    for bad in ({"name": 5}, {"name": "x" * 81}, {"inbox_id": "one"}, {"agent_id": 999},
                {"number_type": "forever"}, {"inbox_id": 999}):  # fmt: skip
        response = await alice.patch(f"/api/v1/phone-numbers/{mine['id']}", json=bad)
        assert response.status_code in (404, 422), (bad, response.text)
    # Twilio failing: the release is not recorded, nor is a buy.
    fake.fail("DELETE", "/IncomingPhoneNumbers/", status=500, code=20500)
    failed = await alice.request(
        "DELETE", f"/api/v1/phone-numbers/{mine['id']}", json={"confirm": "DELETE"}
    )
    assert failed.status_code == 502, failed.text
    fake.fail("POST", "/IncomingPhoneNumbers.json", status=400, code=21422, message="gone")
    taken = await alice.post("/api/v1/phone-numbers", json={"phone_number": stocked[1]})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "unavailable"
    async with open_store(numbers_server.settings.database_url) as db:
        assert await snapshot_store(db) == before
    assert mine["phone_number"] in [o["phone_number"] for o in fake.owned.values()]


async def test_a_buy_twilio_failed_is_looked_up_then_refused_and_nothing_kept(
    numbers_server: Running,
) -> None:
    fake = numbers_server.fake
    (number,) = fake.stock("415", 1)
    alice = await login(numbers_server.url, "alice")
    # A 5xx may mean Twilio bought it all the same: the number is looked for by the unique
    # friendly name it was bought with; not found, the buy is refused and nothing is kept.
    fake.fail("POST", "/IncomingPhoneNumbers.json", status=500, code=20500)
    response = await alice.post("/api/v1/phone-numbers", json={"phone_number": number})
    assert response.status_code == 502, response.text
    assert number not in await numbers_in_store(numbers_server)
    (asked,) = fake.requests_to("POST", "/IncomingPhoneNumbers.json")
    (looked,) = fake.requests_to("GET", "/IncomingPhoneNumbers.json")
    assert looked.param("FriendlyName") == asked.param("FriendlyName")


async def test_replace_an_inbox_number_once_a_month(numbers_server: Running) -> None:
    fake = numbers_server.fake
    (new,) = fake.stock("512", 1)
    (fallback,) = fake.stock("617", 1)
    alice = await login(numbers_server.url, "alice")
    bob = await login(numbers_server.url, "bob")
    await numbers_server.twilio.inbound("+15005550006", "+15559870000", "before the change")
    (conversation,) = (await bob.get("/api/v1/inboxes/1/conversations")).json()["items"][:1]

    replaced = await alice.post("/api/v1/inboxes/1/replace-number", json={"area_code": "512"})
    assert replaced.status_code == 201, replaced.text
    assert replaced.json()["phone_number"] == new and replaced.json()["inbox"]["id"] == 1
    assert replaced.json()["name"] == "Front Desk"  # the labels carry over
    inbox = [i for i in (await bob.get("/api/v1/inboxes")).json()["items"] if i["id"] == 1][0]
    assert inbox["phone_number"] == new
    stored = await numbers_in_store(numbers_server)
    assert stored["+15005550006"].released_at is not None
    assert stored["+15005550006"].release_reason == "replaced"
    # The conversation carries on from the new number.
    sent = await bob.post(
        f"/api/v1/conversations/{conversation['id']}/messages", json={"body": "new number"}
    )
    assert sent.status_code == 201, sent.text
    (text,) = await asyncio.to_thread(fake.wait_for_messages, 1)
    assert text["from"] == new

    again = await alice.post("/api/v1/inboxes/1/replace-number", json={"area_code": "617"})
    assert again.status_code == 429 and again.json()["error"]["code"] == "too_soon"
    assert int(again.headers["retry-after"]) > 29 * 86400
    assert fallback in fake.available  # nothing was bought

    # Another inbox, with an area code that has none: any US number instead.
    replaced2 = await alice.post("/api/v1/inboxes/2/replace-number", json={"area_code": "907"})
    assert replaced2.status_code == 201, replaced2.text
    assert replaced2.json()["phone_number"] == fallback
    assert "inbox.number_replaced" in await audit_actions(numbers_server)


async def test_giving_an_inbox_a_number_from_its_settings_tells_the_numbers_table(
    numbers_server: Running,
) -> None:
    (spare,) = numbers_server.fake.stock("415", 1)
    alice = await login(numbers_server.url, "alice")
    number = await bought(alice, phone_number=spare)
    tab = await Agent.connect(numbers_server.url, cookies=alice.cookies)
    moved = await alice.patch("/api/v1/inboxes/2", json={"phone_number_id": number["id"]})
    assert moved.status_code == 200, moved.text
    seen: dict[str, dict[str, Any]] = {}
    while len(seen) < 2:
        event = await tab.next_event("phone_number.updated")
        seen[event["data"]["phone_number"]["phone_number"]] = event["data"]["phone_number"]
    assert seen[spare]["inbox"] == {"id": 2, "name": "Billing"}
    assert seen["+15005550007"]["inbox"] is None  # let go
    assert "inbox.updated" in await audit_actions(numbers_server)
    await tab.close()


async def test_a_registered_inbox_cannot_send_from_a_number_not_in_the_campaign(
    numbers_server: Running,
) -> None:
    """A number that came into the store without being added to the campaign (by hand, from
    before) is tagged unregistered, and sends from it are refused until it is registered."""
    async with open_store(numbers_server.settings.database_url) as db, db.write() as session:
        row = PhoneNumber(team_id=1, number="+15005550008", label="by hand")
        session.add(row)
        await session.flush()
        number_id = row.id
    alice = await login(numbers_server.url, "alice")
    moved = await alice.patch("/api/v1/inboxes/1", json={"phone_number_id": number_id})
    assert moved.status_code == 200, moved.text
    await numbers_server.twilio.inbound("+15005550008", "+15554440000", "hello?")
    (conversation,) = [
        c
        for c in (await alice.get("/api/v1/inboxes/1/conversations")).json()["items"]
        if c["counterparty"] == "+15554440000"
    ]
    refused = await alice.post(
        f"/api/v1/conversations/{conversation['id']}/messages", json={"body": "hi"}
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_registered"
    # The demo team's registration predates Switchboard's: "+ Register number" tags it.
    registered = await alice.post(f"/api/v1/phone-numbers/{number_id}/register")
    assert registered.status_code == 200 and registered.json()["registration"] == "registered"
    sent = await alice.post(
        f"/api/v1/conversations/{conversation['id']}/messages", json={"body": "hi"}
    )
    assert sent.status_code == 201, sent.text
