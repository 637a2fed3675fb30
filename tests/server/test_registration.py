"""Carrier registration over REST through the real `twilio` library against the fake (DESIGN.md,
"Phone numbers"; seeds 000, 004): a new team is unregistered, its first inbox hidden from its
agents and its sends refused; submitting the business makes the profiles, the poll walks the
brand and the campaign to `registered` (the inbox opens, the numbers join the campaign and
send), or to `failed` with Twilio's reason; bad input changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from inbox import accounts
from inbox.db import Database
from inbox.errors import RegistrationRejectedError
from inbox.models import Inbox, InboxMember
from server.config import Settings
from server.errors import answer_of
from tests.accounts import OtherTeam, make_other_team
from tests.conftest import NUMBERS_TWILIO_TIMEOUT_SECS, Running, running
from tests.fake_twilio import FakeTwilio
from tests.helpers import DEMO_PASSWORD, Agent, login, open_store, snapshot_store

BODY: dict[str, Any] = {
    "business": {
        "legal_name": "Harbor Property Management LLC",
        "business_type": "Limited Liability Corporation",
        "industry": "REAL_ESTATE",
        "registration_number": "12-3456789",
        "website": "https://harbor.example",
        "email": "compliance@harbor.example",
        "address": {
            "street": "1 Market St",
            "city": "San Francisco",
            "region": "CA",
            "postal_code": "94105",
        },
        "representative": {
            "first_name": "Dana",
            "last_name": "Reyes",
            "email": "dana@harbor.example",
            "phone_number": "+14155550142",
            "title": "Operations Director",
        },
    },
    "use_case": "LOW_VOLUME",
    "description": "Tenants and property managers text about repairs, rent and notices.",
    "sample_messages": [
        "Harbor PM: your repair is booked for Tue 9-11am. Reply STOP to opt out.",
        "Harbor PM: rent for May is due on the 1st. Reply STOP to stop.",
    ],
    "opt_in": "Tenants give their mobile number on the lease form and tick a box to get texts.",
}


@pytest.fixture
async def polling(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> AsyncIterator[Running]:
    with running(
        tmp_path / "data",
        clean_redis,
        fake_twilio,
        database_url=database_url,
        registration_poll_secs=0.2,
        twilio_timeout_secs=NUMBERS_TWILIO_TIMEOUT_SECS,
    ) as server:
        yield server


async def new_team(settings: Settings) -> tuple[OtherTeam, int]:
    """A second team (admin zed, inbox "Elsewhere") and an agent of it who is a member."""
    team = await make_other_team(settings)
    db = Database(settings.database_url)
    try:
        async with db.write() as session:
            inbox = await session.get(Inbox, team.inbox_id)
            assert inbox is not None
            agent = await accounts.create_user(
                session, inbox.team_id, "yan", "Yan", "agent", DEMO_PASSWORD
            )
            assert agent.id is not None
            session.add(InboxMember(inbox_id=team.inbox_id, user_id=agent.id))
            return team, agent.id
    finally:
        await db.dispose()


async def until(check: Any, what: str) -> None:
    """Wait for a condition the background poll brings about (a hang guard, not a timing)."""
    async with asyncio.timeout(20):
        while not await check():
            await asyncio.sleep(0.05)


async def test_registration_walks_to_registered_and_opens_the_inbox(polling: Running) -> None:
    fake = polling.fake
    (number,) = fake.stock("415", 1)
    team, _ = await new_team(polling.settings)
    zed, yan = await login(polling.url, "zed"), await login(polling.url, "yan")
    assert (await zed.get("/api/v1/registration")).json()["state"] == "unregistered"
    bought = await zed.post(
        "/api/v1/phone-numbers", json={"phone_number": number, "inbox_id": team.inbox_id}
    )
    assert bought.status_code == 201 and bought.json()["registration"] == "unregistered"
    # Unregistered: the agent does not see the first inbox; the admin's send is refused.
    assert (await yan.get("/api/v1/inboxes")).json()["items"] == []
    refused = await zed.post(
        f"/api/v1/conversations/{team.conversation_id}/messages", json={"body": "hi"}
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_registered"
    register = await zed.post(f"/api/v1/phone-numbers/{bought.json()['id']}/register")
    assert register.status_code == 409 and register.json()["error"]["code"] == "not_registered"

    started = await zed.post("/api/v1/registration", json=BODY)
    assert started.status_code == 202, started.text
    assert started.json()["state"] == "pending"
    twice = await zed.post("/api/v1/registration", json=BODY)
    assert twice.status_code == 409
    profile, product = list(fake.bundles)
    assert fake.services and list(fake.service_numbers[next(iter(fake.services))]) == list(
        fake.owned
    )
    yan_tab = await Agent.connect(polling.url, cookies=yan.cookies)

    fake.review(profile, "twilio-approved")
    fake.review(product, "twilio-approved")
    await asyncio.to_thread(fake.wait_until, lambda f: bool(f.brands), 20)
    (brand,) = fake.brands
    state = (await zed.get("/api/v1/registration")).json()
    assert state["state"] == "pending"
    fake.review(brand, "APPROVED")
    await asyncio.to_thread(fake.wait_until, lambda f: any(f.campaigns.values()), 20)
    (campaign,) = [sid for c in fake.campaigns.values() for sid in c]
    fake.review(campaign, "VERIFIED")

    access = await yan_tab.next_event("access.changed", lambda d: team.inbox_id in d["inbox_ids"])
    assert access["data"]["inbox_ids"] == [team.inbox_id]
    done = (await zed.get("/api/v1/registration")).json()
    assert (done["state"], done["campaign_status"]) == ("registered", "VERIFIED")

    async def tagged() -> bool:
        items = (await zed.get("/api/v1/phone-numbers")).json()["items"]
        return bool(items[0]["registration"] == "registered")

    await until(tagged, "the number tagged registered")
    assert [i["id"] for i in (await yan.get("/api/v1/inboxes")).json()["items"]] == [team.inbox_id]
    sent = await zed.post(
        f"/api/v1/conversations/{team.conversation_id}/messages", json={"body": "hi"}
    )
    assert sent.status_code == 201, sent.text
    # A number bought now joins the campaign as it is bought.
    (later,) = fake.stock("415", 1)
    again = await zed.post("/api/v1/phone-numbers", json={"phone_number": later})
    assert again.status_code == 201 and again.json()["registration"] == "registered"
    assert len(fake.requests_to("POST", "/BrandRegistrations")) == 1
    await yan_tab.close()


async def test_a_rejected_brand_fails_with_twilio_s_reason(polling: Running) -> None:
    fake = polling.fake
    await new_team(polling.settings)
    zed = await login(polling.url, "zed")
    assert (await zed.post("/api/v1/registration", json=BODY)).status_code == 202
    profile, product = list(fake.bundles)
    errors = [{"code": 27009, "description": "The EIN does not match the business name."}]
    fake.review(profile, "twilio-rejected", errors)

    async def failed() -> bool:
        return bool((await zed.get("/api/v1/registration")).json()["state"] == "failed")

    await until(failed, "failed")
    state = (await zed.get("/api/v1/registration")).json()
    assert state["reason"] == errors[0]["description"]
    # After a failure the admin may submit again.
    again = await zed.post("/api/v1/registration", json=BODY)
    assert again.status_code == 202 and again.json()["state"] == "pending"


async def test_bad_registration_input_and_callers_change_nothing(polling: Running) -> None:
    await new_team(polling.settings)
    zed, yan = await login(polling.url, "zed"), await login(polling.url, "yan")
    async with open_store(polling.settings.database_url) as db:
        before = await snapshot_store(db)
    missing = await zed.post("/api/v1/registration", json={"use_case": "LOW_VOLUME"})
    assert missing.status_code == 422
    message = missing.json()["error"]["message"]
    assert "business.legal_name" in message and "sample_messages" in message
    bad: list[Any] = [[], {"business": "x"}, {**BODY, "sample_messages": ["a"] * 9}]
    for body in bad:
        response = await zed.post("/api/v1/registration", json=body)
        assert response.status_code == 422, body
    # Twilio's documented lengths, checked before any call.
    short = await zed.post("/api/v1/registration", json={**BODY, "description": "texts"})
    assert short.status_code == 422, short.text
    assert "description" in short.json()["error"]["message"]
    assert (await yan.post("/api/v1/registration", json=BODY)).status_code == 403
    assert (await yan.get("/api/v1/registration")).status_code == 403
    assert polling.fake.bundles == {}
    async with open_store(polling.settings.database_url) as db:
        assert await snapshot_store(db) == before


def test_a_rejection_by_the_carrier_is_answered_with_its_reasons() -> None:
    answer = answer_of(RegistrationRejectedError("refused", ("no EIN", "no website")))
    assert answer is not None
    assert (answer.status, answer.code) == (422, "registration_rejected")
    assert answer.extra == {"reasons": ["no EIN", "no website"]}


async def test_a_poll_twilio_fails_keeps_the_registration_pending_and_the_next_goes_on(
    polling: Running,
) -> None:
    fake = polling.fake
    await new_team(polling.settings)
    zed = await login(polling.url, "zed")
    assert (await zed.post("/api/v1/registration", json=BODY)).status_code == 202
    profile, product = list(fake.bundles)
    fake.fail("GET", "/v1/CustomerProfiles/", status=503, code=20503, times=3)
    fake.review(profile, "twilio-approved")
    fake.review(product, "twilio-approved")
    # The failed polls change nothing; a later one makes the brand, once.
    await asyncio.to_thread(fake.wait_until, lambda f: bool(f.brands), 30)
    state = (await zed.get("/api/v1/registration")).json()
    assert state["state"] == "pending" and state["brand_status"] in (None, "PENDING")
    assert len(fake.requests_to("POST", "/BrandRegistrations")) == 1
    assert len(fake.requests_to("GET", "/v1/CustomerProfiles/")) >= 4  # three refused
