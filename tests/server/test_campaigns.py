"""Campaigns (seed 002): an admin's campaign sends through the bulk path (opt-outs skipped), and
while it is active the replies to its number follow the campaign's handling (but STOP, START
and HELP, which stay with the number's inbox); archived, the number's own handling applies
again. Checked through Twilio-signed webhooks and REST, as the
phone and the admin see it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import Running
from tests.helpers import FRONT_DESK, Agent, login

FRONT_DESK_INBOX, BILLING_INBOX = 1, 2
CUSTOMERS = ["+15557710001", "+15557710002", "+15557710003"]
STRANGER = "+15557710099"


def later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def number_row(alice: httpx.AsyncClient, number: str) -> dict[str, Any]:
    rows = (await alice.get("/api/v1/phone-numbers")).json()["items"]
    (row,) = [r for r in rows if r["phone_number"] == number]
    return dict(row)


async def conversation_with(
    client: httpx.AsyncClient, inbox_id: int, number: str
) -> dict[str, Any] | None:
    items = (await client.get(f"/api/v1/inboxes/{inbox_id}/conversations")).json()["items"]
    found = [c for c in items if c["counterparty"] == number]
    return dict(found[0]) if found else None


async def test_a_campaign_overrides_its_numbers_handling_until_it_is_archived(
    app_server: Running,
) -> None:
    alice = await login(app_server.url, "alice")
    desk = await number_row(alice, FRONT_DESK)
    assert desk["active_campaign"] is None and desk["type"] == "agent"
    watcher = await Agent.connect(app_server.url, cookies=alice.cookies)
    # One customer opted out before: the campaign skips them.
    await app_server.twilio.inbound(FRONT_DESK, CUSTOMERS[2], "STOP")
    await watcher.next_event("conversation.updated", lambda d: d["conversation"]["opted_out"])

    archive_at = later(days=7)
    made = await alice.post(
        "/api/v1/campaigns",
        json={
            "name": "Flu shots",
            "inbox_id": FRONT_DESK_INBOX,
            "number_ids": [desk["id"]],
            "body": "Flu shots are in: reply to book.",
            "numbers": CUSTOMERS,
            "send_at": "now",
            "archive_at": archive_at,
            "handling": "agent",
            "reply_inbox_id": BILLING_INBOX,
        },
    )
    assert made.status_code == 201, made.text
    campaign = made.json()
    assert campaign["status"] == "active"  # "now": sent before the answer
    await watcher.next_event(
        "campaign.updated", lambda d: d["campaign"]["status"] == "active", timeout=30
    )
    shown = (await alice.get(f"/api/v1/campaigns/{campaign['id']}")).json()
    assert (shown["status"], shown["queued"], shown["skipped"]) == ("active", 2, 1)
    sent = await asyncio.to_thread(app_server.fake.wait_for_messages, 2, 30.0)
    assert sorted(m["to"] for m in sent) == CUSTOMERS[:2]
    assert {m["from"] for m in sent} == {FRONT_DESK}

    # The numbers table names the campaign; the number cannot be deleted while it is in use.
    desk = await number_row(alice, FRONT_DESK)
    assert desk["active_campaign"] == {"id": campaign["id"], "name": "Flu shots"}
    assert desk["campaign_archived_at"] is not None
    assert datetime.fromisoformat(desk["campaign_archived_at"]) == datetime.fromisoformat(
        archive_at
    )
    refused = await alice.request(
        "DELETE", f"/api/v1/phone-numbers/{desk['id']}", json={"confirm": "DELETE"}
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "in_campaign"
    # Nor replaced: that would release it under the campaign.
    refused = await alice.post(f"/api/v1/inboxes/{FRONT_DESK_INBOX}/replace-number", json={})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "in_campaign"
    assert (await number_row(alice, FRONT_DESK))["id"] == desk["id"]

    # A reply, and a text from a stranger, to the campaign's number go where it says.
    assert (await app_server.twilio.inbound(FRONT_DESK, CUSTOMERS[0], "Book me")).status_code == 200
    assert (await app_server.twilio.inbound(FRONT_DESK, STRANGER, "hello?")).status_code == 200
    for number in (CUSTOMERS[0], STRANGER):
        billing = await conversation_with(alice, BILLING_INBOX, number)
        assert billing is not None, number
    stranger_desk = await conversation_with(alice, FRONT_DESK_INBOX, STRANGER)
    assert stranger_desk is None
    # STOP (and START, HELP) stay with the number's own inbox: it is what sends from it.
    await app_server.twilio.inbound(FRONT_DESK, CUSTOMERS[1], "STOP")
    stopped = await conversation_with(alice, FRONT_DESK_INBOX, CUSTOMERS[1])
    assert stopped is not None and stopped["opted_out"]
    assert await conversation_with(alice, BILLING_INBOX, CUSTOMERS[1]) is None
    bob = await login(app_server.url, "bob")  # Front Desk only: the reply is not his to see
    assert await conversation_with(bob, FRONT_DESK_INBOX, STRANGER) is None

    archived = await alice.post(f"/api/v1/campaigns/{campaign['id']}/archive")
    assert archived.status_code == 200 and archived.json()["status"] == "archived"
    desk = await number_row(alice, FRONT_DESK)
    assert desk["active_campaign"] is None and desk["campaign_archived_at"] is None

    # Archived: the number's own inbox takes its texts again.
    await app_server.twilio.inbound(FRONT_DESK, STRANGER, "anyone there?")
    back = await conversation_with(bob, FRONT_DESK_INBOX, STRANGER)
    assert back is not None
    await watcher.close()


async def test_a_campaign_is_refused_numbers_of_another_inbox_and_a_number_already_taken(
    app_server: Running,
) -> None:
    alice = await login(app_server.url, "alice")
    desk = await number_row(alice, FRONT_DESK)
    base = {
        "name": "Spring",
        "inbox_id": BILLING_INBOX,
        "number_ids": [desk["id"]],
        "body": "Hello",
        "numbers": CUSTOMERS[:1],
        "send_at": later(hours=1),
        "archive_at": later(days=2),
    }
    wrong = await alice.post("/api/v1/campaigns", json=base)
    assert wrong.status_code == 422
    assert wrong.json()["error"]["code"] == "number_not_in_inbox"
    first = await alice.post("/api/v1/campaigns", json=base | {"inbox_id": FRONT_DESK_INBOX})
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "scheduled"
    overlapping = base | {"inbox_id": FRONT_DESK_INBOX, "send_at": later(days=1)}
    taken = await alice.post("/api/v1/campaigns", json=overlapping)
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "number_in_campaign"
    # The number's "schedule send" list shows the scheduled one.
    schedule = (await alice.get(f"/api/v1/phone-numbers/{desk['id']}/campaigns")).json()
    assert [c["name"] for c in schedule["items"]] == ["Spring"]
    # A bot handling needs a bot to answer: Front Desk answers with people.
    bot = await alice.post(
        "/api/v1/campaigns",
        json=base | {"inbox_id": FRONT_DESK_INBOX, "send_at": None, "handling": "bot"},
    )
    assert bot.status_code == 422 and bot.json()["error"]["code"] == "not_bot_inbox"
    for bad in ({"archive_at": "tomorrow"}, {"send_at": later(hours=-1)}, {"body": ""}):
        response = await alice.post("/api/v1/campaigns", json=base | {"inbox_id": 1} | bad)
        assert response.status_code == 422, bad
    bob = await login(app_server.url, "bob")
    assert (await bob.get("/api/v1/campaigns")).status_code == 403
    assert (await bob.post("/api/v1/campaigns", json=base)).status_code == 403
    listed = (await alice.get("/api/v1/campaigns")).json()["items"]
    assert [c["name"] for c in listed] == ["Spring"]  # nothing refused was stored


async def test_a_draft_is_scheduled_by_patch_and_a_sent_campaign_keeps_its_words(
    app_server: Running,
) -> None:
    alice = await login(app_server.url, "alice")
    desk = await number_row(alice, FRONT_DESK)
    draft = await alice.post(
        "/api/v1/campaigns",
        json={
            "name": "Holiday hours",
            "inbox_id": FRONT_DESK_INBOX,
            "number_ids": [desk["id"]],
            "body": "Closed on the 25th.",
            "numbers": CUSTOMERS[:1],
            "send_at": None,
            "archive_at": later(days=3),
        },
    )
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    path = f"/api/v1/campaigns/{draft.json()['id']}"
    assert (await number_row(alice, FRONT_DESK))["active_campaign"] is None  # a draft uses none
    unknown = await alice.patch(path, json={"status": "active"})
    assert unknown.status_code == 422
    sent = await alice.patch(path, json={"send_at": "now", "body": "Closed on the 25th and 26th."})
    assert sent.status_code == 200, sent.text
    assert (sent.json()["status"], sent.json()["queued"]) == ("active", 1)
    (text,) = await asyncio.to_thread(app_server.fake.wait_for_messages, 1, 30.0)
    assert text["body"] == "Closed on the 25th and 26th."
    refused = await alice.patch(path, json={"body": "Open after all"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "campaign_sent"
    renamed = await alice.patch(path, json={"name": "Holidays", "archive_at": later(days=9)})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Holidays"
    assert renamed.json()["body"] == "Closed on the 25th and 26th."
