"""The sandbox's invented numbers and its clock-driven registration review."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from inbox.errors import ConflictError, InvalidInputError, NumberUnavailableError
from inbox.providers.base import Registration, RegistrationStatus
from inbox.providers.sandbox import SandboxProvider
from inbox.providers.sandbox_registration import NUMBERS_PER_CAMPAIGN
from tests.helpers import EVENT_WAIT_SECS
from tests.inbox.conftest import BUSINESS, CAMPAIGN, INBOUND_URL, WEBHOOKS

# Short enough to watch the whole review in a test; each check is polled for, not slept on.
REVIEW_SECS = 0.3
POLL_SECS = 0.02


async def test_an_area_code_offers_a_stable_set_of_plausible_numbers() -> None:
    sandbox = SandboxProvider()
    first = await sandbox.numbers.search("415", limit=5)
    assert first == await sandbox.numbers.search("415", limit=5)
    assert len(first) == 5 and all(n.phone_number.startswith("+14155550") for n in first)
    assert {(n.locality, n.region) for n in first} == {("San Francisco", "CA")}
    assert {n.region for n in await sandbox.numbers.search("512")} == {"TX"}
    assert first != await SandboxProvider().numbers.search("510", limit=5)


async def test_a_contains_pattern_narrows_the_search() -> None:
    sandbox = SandboxProvider()
    found = await sandbox.numbers.search("415", contains="0142", limit=50)
    assert [n.phone_number for n in found] == ["+14155550142"]
    # Letters count as on a keypad: 0142 has no letters, "55501*2" has a wildcard.
    wild = await sandbox.numbers.search("415", contains="55501*2", limit=50)
    assert {n.phone_number[-4:] for n in wild} == {f"01{d}2" for d in range(10)}


async def test_some_area_codes_have_no_numbers() -> None:
    sandbox = SandboxProvider()
    for area_code in ("212", "604", "999"):  # Manhattan (scarce), Vancouver, unassigned
        assert await sandbox.numbers.search(area_code) == []
    with pytest.raises(NumberUnavailableError) as none_left:
        await sandbox.numbers.buy(WEBHOOKS, area_code="212")
    assert (none_left.value.code, none_left.value.area_code) == ("unavailable", "212")
    with pytest.raises(InvalidInputError):
        await sandbox.numbers.search("011")


async def test_a_sold_number_is_never_offered_again() -> None:
    sandbox = SandboxProvider()
    offered = await sandbox.numbers.search("415", limit=3)
    owned = await sandbox.numbers.buy(WEBHOOKS, phone_number=offered[0].phone_number)
    assert owned.webhooks == WEBHOOKS
    after = await sandbox.numbers.search("415", limit=3)
    assert after[:2] == offered[1:] and owned.phone_number not in {n.phone_number for n in after}
    with pytest.raises(NumberUnavailableError):
        await sandbox.numbers.buy(WEBHOOKS, phone_number=owned.phone_number)
    await sandbox.numbers.release(owned.sid)
    await sandbox.numbers.release(owned.sid)
    assert owned.phone_number not in {n.phone_number for n in await sandbox.numbers.search("415")}
    assert await sandbox.numbers.find_owned(phone_number=owned.phone_number) is None


async def test_buying_by_area_code_takes_the_first_offered() -> None:
    sandbox = SandboxProvider()
    (first,) = await sandbox.numbers.search("303", limit=1)
    owned = await sandbox.numbers.buy(WEBHOOKS, area_code="303", friendly_name="switchboard:1")
    assert owned.phone_number == first.phone_number
    assert await sandbox.numbers.find_owned(friendly_name="switchboard:1") == owned
    renamed = await sandbox.numbers.update(owned.sid, friendly_name="Billing")
    assert renamed.friendly_name == "Billing" and renamed.webhooks == WEBHOOKS


async def checks_until(
    sandbox: SandboxProvider, registration: Registration, state: str
) -> list[RegistrationStatus]:
    """Every status seen while polling, up to the first in `state` (a hang guard bounds it)."""
    seen: list[RegistrationStatus] = []
    async with asyncio.timeout(EVENT_WAIT_SECS):
        while not seen or seen[-1].state != state:
            if seen:
                await asyncio.sleep(POLL_SECS)
            seen.append(await sandbox.registration.check(registration))
    return seen


async def test_registration_walks_from_pending_to_registered() -> None:
    sandbox = SandboxProvider(registration_review_secs=REVIEW_SECS)
    number = await sandbox.numbers.buy(WEBHOOKS, area_code="415")
    registration = await sandbox.registration.start(
        BUSINESS, CAMPAIGN, inbound_url=INBOUND_URL, number_sids=[number.sid]
    )
    seen = await checks_until(sandbox, registration, "registered")
    assert seen[0].state == "pending" and seen[0].brand_status == "PENDING"
    walk = [(s.state, s.brand_status, s.campaign_status) for s in seen]
    steps = [step for i, step in enumerate(walk) if i == 0 or walk[i - 1] != step]
    brand_approved = ("pending", "APPROVED", "IN_PROGRESS")
    assert steps[1:-1] in ([], [brand_approved])  # in order, no way back (a slow poll may skip)
    done = seen[-1]
    assert (done.brand_status, done.campaign_status) == ("APPROVED", "VERIFIED")
    assert done.registration.brand_sid and done.registration.campaign_sid
    assert done.numbers == (number.phone_number,)
    again = await sandbox.registration.check(done.registration)
    assert again.registration == done.registration  # the same sids every time


async def test_a_campaign_whose_samples_never_say_how_to_opt_out_fails() -> None:
    sandbox = SandboxProvider(registration_review_secs=REVIEW_SECS)
    quiet = replace(
        CAMPAIGN,
        sample_messages=tuple(s.split(" Reply STOP")[0] for s in CAMPAIGN.sample_messages),
    )
    registration = await sandbox.registration.start(BUSINESS, quiet, inbound_url=INBOUND_URL)
    failed = (await checks_until(sandbox, registration, "failed"))[-1]
    assert failed.reason is not None and "opt out" in failed.reason


async def test_a_campaign_holds_at_most_400_numbers() -> None:
    sandbox = SandboxProvider()
    registration = await sandbox.registration.start(BUSINESS, CAMPAIGN, inbound_url=INBOUND_URL)
    area_codes = iter(("415", "510", "303", "512", "206", "312"))
    area_code = next(area_codes)
    for _ in range(NUMBERS_PER_CAMPAIGN):
        if not await sandbox.numbers.search(area_code, limit=1):
            area_code = next(area_codes)
        number = await sandbox.numbers.buy(WEBHOOKS, area_code=area_code)
        await sandbox.registration.add_number(registration, number.sid)
    await sandbox.registration.add_number(registration, number.sid)  # again: no error
    one_more = await sandbox.numbers.buy(WEBHOOKS, area_code=next(area_codes))
    with pytest.raises(ConflictError) as full:
        await sandbox.registration.add_number(registration, one_more.sid)
    assert full.value.code == "number_pool_full"
