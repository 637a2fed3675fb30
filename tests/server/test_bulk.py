from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import Running
from tests.helpers import BILLING, FRONT_DESK, Agent, login

RECIPIENTS = 500
OPTED_OUT = {7, 123, 499}
# A hang guard for 500 provider calls, not a performance check.
DELIVERY_WAIT_SECS = 120.0


def number(i: int) -> str:
    return f"+1555770{i:04d}"


async def test_bulk_send_to_500_contacts_skips_opted_out(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    bob.timeout = httpx.Timeout(DELIVERY_WAIT_SECS)  # a hang guard for the 500-item calls
    items = [{"name": f"Customer {i}", "numbers": [number(i)]} for i in range(RECIPIENTS)]
    imported = (await bob.post("/api/v1/contacts/import", json={"items": items})).json()["items"]
    contact_ids = [c["id"] for c in imported]
    assert len(contact_ids) == RECIPIENTS

    # Twilio refuses two: one number opted out at Twilio itself (21610), one is not a mobile.
    app_server.fake.refused |= {number(5): 21610, number(6): 21614}
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    for i in OPTED_OUT:
        await app_server.twilio.inbound(FRONT_DESK, number(i), "STOP")
        await bob_ws.next_event("conversation.updated", lambda d: d["conversation"]["opted_out"])
    await bob_ws.close()

    watcher = await Agent.connect(app_server.url, cookies=bob.cookies)
    response = await bob.post(
        "/api/v1/inboxes/1/bulk",
        json={
            "body": "Our office is closed on Friday.",
            "contact_ids": contact_ids,
            "numbers": ["garbage", number(0)],
        },
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["queued"] == RECIPIENTS - len(OPTED_OUT)
    results = report["items"]
    assert len(results) == RECIPIENTS + 2
    skipped = {r["to"]: r["error"]["code"] for r in results if r["status"] == "skipped"}
    expected: dict[str | None, str] = {number(i): "opted_out" for i in OPTED_OUT}
    assert skipped == {**expected, None: "invalid_number", number(0): "duplicate"}
    assert [r["error"]["code"] for r in results[-2:]] == ["invalid_number", "duplicate"]

    sent = await asyncio.to_thread(
        app_server.fake.wait_for_messages, report["queued"] - 2, DELIVERY_WAIT_SECS
    )
    # One individual text per recipient: every one to a single number, none twice.
    assert sorted(m["to"] for m in sent) == sorted(
        number(i) for i in range(RECIPIENTS) if i not in OPTED_OUT | {5, 6}
    )
    assert {m["from"] for m in sent} == {FRONT_DESK}
    assert app_server.fake.create_calls == report["queued"]
    by_number = {r["to"]: r for r in results[:RECIPIENTS]}
    # Twilio's 21610 marks the number opted out, in the same write as the first 50 outcomes.
    await watcher.next_event(
        "conversation.updated",
        lambda d: d["conversation"]["counterparty"] == number(5) and d["conversation"]["opted_out"],
        timeout=DELIVERY_WAIT_SECS,
    )

    async def last_message(i: int) -> dict[str, Any]:
        conversation_id = by_number[number(i)]["conversation_id"]
        items = (await bob.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
        return dict(items["items"][-1])

    message = await last_message(0)
    assert message["sender"]["name"] == "Bob Agent"
    assert message["automatic"] is False
    assert message["provider_sid"] in {m["sid"] for m in sent}
    refused = await last_message(5)
    assert (refused["status"], refused["error_code"]) == ("failed", "21610")
    assert (await last_message(6))["error_code"] == "21614"
    await watcher.close()


async def test_bulk_send_rules(app_server: Running) -> None:
    bob, carol = await login(app_server.url, "bob"), await login(app_server.url, "carol")
    refused = await bob.post("/api/v1/inboxes/2/bulk", json={"body": "hi", "numbers": [BILLING]})
    assert refused.status_code == 403  # bob is not a member of Billing
    too_long = await carol.post(
        "/api/v1/inboxes/2/bulk", json={"body": "x" * 1601, "numbers": ["+15557709999"]}
    )
    assert too_long.json()["error"]["code"] == "too_long"
    empty = await carol.post("/api/v1/inboxes/2/bulk", json={"body": "hi"})
    assert empty.status_code == 422
    assert app_server.fake.create_calls == 0


async def test_start_conversation_returns_the_existing_one(app_server: Running) -> None:
    bob, carol = await login(app_server.url, "bob"), await login(app_server.url, "carol")
    carol_ws = await Agent.connect(app_server.url, cookies=carol.cookies)
    first = await bob.post("/api/v1/conversations", json={"inbox_id": 1, "to": "(555) 770-8888"})
    assert first.status_code == 201
    announced = await carol_ws.next_event("conversation.updated")
    assert announced["data"]["conversation"]["id"] == first.json()["id"]
    again = await bob.post("/api/v1/conversations", json={"inbox_id": 1, "to": "+15557708888"})
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    for bad in ({"inbox_id": 1}, {"inbox_id": True, "to": "+15557708888"}, {"to": "x"}):
        assert (await bob.post("/api/v1/conversations", json=bad)).status_code == 422
    own = await bob.post("/api/v1/conversations", json={"inbox_id": 1, "to": FRONT_DESK})
    assert own.status_code == 422
    contact = await bob.post("/api/v1/contacts", json={"name": "Z", "numbers": ["+15557707777"]})
    by_contact = await bob.post(
        "/api/v1/conversations", json={"inbox_id": 1, "contact_id": contact.json()["id"]}
    )
    assert by_contact.json()["counterparty"] == "+15557707777"
    assert by_contact.json()["contact"]["name"] == "Z"
    await carol_ws.close()


async def test_bulk_send_skips_a_conversation_a_teammate_is_replying_in(
    app_server: Running,
) -> None:
    bob, carol = await login(app_server.url, "bob"), await login(app_server.url, "carol")
    held = await bob.post("/api/v1/conversations", json={"inbox_id": 1, "to": "+15557706666"})
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    ack = await bob_ws.command("lock.acquire", {"conversation_id": held.json()["id"]})
    assert ack["type"] == "ack"
    response = await carol.post(
        "/api/v1/inboxes/1/bulk",
        json={"body": "Office closed Monday", "numbers": ["+15557706666", "+15557706667"]},
    )
    assert response.status_code == 200, response.text
    by_number = {item["to"]: item for item in response.json()["items"]}
    assert by_number["+15557706666"]["status"] == "skipped"
    assert by_number["+15557706666"]["error"]["code"] == "locked"
    assert "Bob Agent is replying" in by_number["+15557706666"]["error"]["message"]
    assert by_number["+15557706667"]["status"] == "queued"
    history = await bob.get(f"/api/v1/conversations/{held.json()['id']}/messages")
    assert history.json()["items"] == []
    await bob_ws.close()
