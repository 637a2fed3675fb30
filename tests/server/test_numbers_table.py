"""Seed 002's numbers table over REST (sort by any column, filters, search, CSV of the filtered
view, pages), the voice webhook (signed; TwiML that forwards the call or says the number takes
texts only), and the idle sweep with tiny day settings (a warning first, then the release, and a
text in or out renews the number)."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NUMBERS_TWILIO_TIMEOUT_SECS, Running, running
from tests.fake_twilio import FakeTwilio
from tests.helpers import FRONT_DESK, Agent, login

SECS = 1 / 86400  # one second, in days


async def buy(alice: Any, **body: Any) -> dict[str, Any]:
    response = await alice.post("/api/v1/phone-numbers", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_the_table_sorts_filters_searches_pages_and_exports(numbers_server: Running) -> None:
    fake = numbers_server.fake
    a, b, c = fake.stock("415", 3)
    alice = await login(numbers_server.url, "alice")
    bot = (await alice.post("/api/v1/inboxes", json={"name": "Bot desk"})).json()
    await alice.patch(f"/api/v1/inboxes/{bot['id']}", json={"unsolicited": "bot"})
    await buy(alice, phone_number=a, name="Zulu line", agent_id=3)
    await buy(alice, phone_number=b, name="=cmd()", inbox_id=bot["id"])
    await buy(alice, phone_number=c, name="Alpha", description="spare", agent_id=1)

    def numbers_of(response: Any) -> list[str]:
        assert response.status_code == 200, response.text
        return [n["phone_number"] for n in response.json()["items"]]

    demo = ["+15005550006", "+15005550007"]
    assert numbers_of(await alice.get("/api/v1/phone-numbers")) == [a, b, c, *demo]
    by_name = await alice.get("/api/v1/phone-numbers?sort=name&order=desc")
    assert numbers_of(by_name) == [a, demo[0], demo[1], c, b]  # "=cmd()" sorts first asc
    by_agent = await alice.get("/api/v1/phone-numbers?sort=agent")
    assert numbers_of(by_agent)[:2] == [c, a]  # Alice, Bob; no agent after
    assert numbers_of(await alice.get("/api/v1/phone-numbers?agent_id=3")) == [a]
    assert numbers_of(await alice.get(f"/api/v1/phone-numbers?inbox_id={bot['id']}")) == [b]
    assert numbers_of(await alice.get("/api/v1/phone-numbers?inbox_id=none")) == [a, c]
    assert numbers_of(await alice.get("/api/v1/phone-numbers?type=bot")) == [b]
    assert numbers_of(await alice.get("/api/v1/phone-numbers?q=zulu")) == [a]
    assert numbers_of(await alice.get(f"/api/v1/phone-numbers?q={c[-4:]}")) == [c]
    assert numbers_of(await alice.get("/api/v1/phone-numbers?registration=unregistered")) == []
    for column in ("last_used_at", "expires_at", "registration", "number_type", "inbox"):
        sorted_ = await alice.get(f"/api/v1/phone-numbers?sort={column}&order=desc")
        assert sorted(numbers_of(sorted_)) == sorted([*demo, a, b, c])
    for bad in ("sort=secret", "order=up", "number_type=x", "limit=0", "cursor=x"):
        refused = await alice.get(f"/api/v1/phone-numbers?{bad}")
        assert refused.status_code == 422, bad

    first = (await alice.get("/api/v1/phone-numbers?limit=2")).json()
    assert first["total"] == 5 and first["next"] == 2
    second = (await alice.get(f"/api/v1/phone-numbers?limit=2&cursor={first['next']}")).json()
    last = (await alice.get(f"/api/v1/phone-numbers?limit=2&cursor={second['next']}")).json()
    assert last["next"] is None
    paged = [n["phone_number"] for p in (first, second, last) for n in p["items"]]
    assert paged == [a, b, c, *demo]

    exported = await alice.get("/api/v1/phone-numbers?format=csv&agent_id=3")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == [
        *("phone_number", "name", "description", "agent", "inbox", "type", "active_campaign"),
        *("campaign_archived_at", "number_type", "registration", "last_used_at", "expires_at"),
    ]
    assert [r[:4] for r in rows[1:]] == [[a, "Zulu line", "", "Bob Agent"]]
    formula = list(
        csv.reader(io.StringIO((await alice.get("/api/v1/phone-numbers?format=csv&q=cmd")).text))
    )
    assert formula[1][1] == "'=cmd()"  # a spreadsheet does not run it

    bob = await login(numbers_server.url, "bob")
    assert (await bob.get("/api/v1/phone-numbers?format=csv")).status_code == 403


async def test_a_call_is_forwarded_with_the_caller_shown_or_told_texts_only(
    numbers_server: Running,
) -> None:
    alice = await login(numbers_server.url, "alice")
    call = {"CallSid": "CA" + "1" * 32, "From": "+15557654321", "To": FRONT_DESK}

    texts_only = await numbers_server.twilio.post("/webhooks/twilio/voice", call)
    assert texts_only.status_code == 200 and texts_only.headers["content-type"].startswith(
        "text/xml"
    )
    say = ET.fromstring(texts_only.text).find("Say")
    assert say is not None and "text messages only" in (say.text or "")

    forwarded = await alice.patch("/api/v1/inboxes/1", json={"voice_forward_to": "(415) 555-2671"})
    assert forwarded.status_code == 200, forwarded.text
    answer = await numbers_server.twilio.post("/webhooks/twilio/voice", call)
    dial = ET.fromstring(answer.text).find("Dial")
    assert dial is not None and dial.get("callerId") == "+15557654321"
    assert (dial.text or "").strip() == "+14155552671"

    forged = await numbers_server.twilio.post("/webhooks/twilio/voice", call, signature="forged")
    assert forged.status_code == 403
    unknown = await numbers_server.twilio.post(
        "/webhooks/twilio/voice", {**call, "To": "+15550001111"}
    )
    assert ET.fromstring(unknown.text).find("Say") is not None


@pytest.fixture
async def short_lived(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> AsyncIterator[Running]:
    """Numbers with no inbox last 4 s idle (warned from 3 s before), with one 8 s."""
    with running(
        tmp_path / "data",
        clean_redis,
        fake_twilio,
        database_url=database_url,
        unassigned_release_days=4 * SECS,
        number_idle_release_days=8 * SECS,
        number_release_warning_days=3 * SECS,
        twilio_timeout_secs=NUMBERS_TWILIO_TIMEOUT_SECS,
    ) as server:
        yield server


async def test_idle_numbers_are_warned_about_then_released_and_a_text_renews(
    short_lived: Running,
) -> None:
    fake = short_lived.fake
    spare, kept = fake.stock("415", 2)
    alice = await login(short_lived.url, "alice")
    tab = await Agent.connect(short_lived.url, cookies=alice.cookies)
    inbox = (await alice.post("/api/v1/inboxes", json={"name": "Kept"})).json()
    idle = await buy(alice, phone_number=spare, name="idle")
    used = await buy(alice, phone_number=kept, name="used", inbox_id=inbox["id"])
    assert idle["expiring"] is False and idle["expires_at"] < used["expires_at"]

    warned = await tab.next_event(
        "phone_number.updated",
        lambda d: d["phone_number"]["id"] == idle["id"] and d["phone_number"]["expiring"],
    )
    assert not warned["data"]["phone_number"]["released"]
    gone = await tab.next_event(
        "phone_number.updated",
        lambda d: d["phone_number"]["id"] == idle["id"] and d["phone_number"]["released"],
    )
    assert gone["data"]["phone_number"]["release_reason"] == "idle"
    assert spare in [r["phone_number"] for r in fake.released]
    rebuy = await alice.post("/api/v1/phone-numbers", json={"phone_number": spare})
    assert rebuy.status_code == 409 and rebuy.json()["error"]["code"] == "released"

    # The assigned one is warned later; a text to it renews it.
    await tab.next_event(
        "phone_number.updated",
        lambda d: d["phone_number"]["id"] == used["id"] and d["phone_number"]["expiring"],
    )
    before = [
        n
        for n in (await alice.get("/api/v1/phone-numbers")).json()["items"]
        if n["id"] == used["id"]
    ][0]
    await short_lived.twilio.inbound(kept, "+15551112222", "still here")
    after = [
        n
        for n in (await alice.get("/api/v1/phone-numbers")).json()["items"]
        if n["id"] == used["id"]
    ][0]
    assert after["expires_at"] > before["expires_at"] and after["expiring"] is False
    assert after["released"] is False
    await tab.close()


async def test_a_number_a_campaign_is_to_use_is_kept_however_idle(short_lived: Running) -> None:
    """Seed 002: a number in use by a campaign is not deleted; the idle sweep keeps it too."""
    alice = await login(short_lived.url, "alice")
    tab = await Agent.connect(short_lived.url, cookies=alice.cookies)
    await short_lived.twilio.inbound(FRONT_DESK, "+15557720001", "hi")  # used just now
    rows = (await alice.get("/api/v1/phone-numbers")).json()["items"]
    (desk,) = [r for r in rows if r["phone_number"] == FRONT_DESK]
    soon = datetime.now(UTC)
    made = await alice.post(
        "/api/v1/campaigns",
        json={
            "name": "Next week",
            "inbox_id": 1,
            "number_ids": [desk["id"]],
            "body": "See you next week.",
            "numbers": ["+15557720001"],
            "send_at": (soon + timedelta(days=6)).isoformat(),
            "archive_at": (soon + timedelta(days=7)).isoformat(),
            "handling": "agent",
        },
    )
    assert made.status_code == 201, made.text
    if not desk["expiring"]:  # the desk's number is idle for this server's short lifetimes
        await tab.next_event(
            "phone_number.updated",
            lambda d: d["phone_number"]["id"] == desk["id"] and d["phone_number"]["expiring"],
        )
    # A number bought now is due after the desk's: by its release the desk's was due too.
    (spare,) = short_lived.fake.stock("415", 1)
    idle = await buy(alice, phone_number=spare, name="idle")
    await tab.next_event(
        "phone_number.updated",
        lambda d: d["phone_number"]["id"] == idle["id"] and d["phone_number"]["released"],
    )
    rows = (await alice.get("/api/v1/phone-numbers")).json()["items"]
    kept = [r for r in rows if r["id"] == desk["id"]]  # the table leaves released numbers out
    assert kept and kept[0]["released"] is False, "the campaign's number was released"
    assert FRONT_DESK not in [r["phone_number"] for r in short_lived.fake.released]
    await tab.close()
