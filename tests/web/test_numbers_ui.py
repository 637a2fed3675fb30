"""Phone numbers and registration in real Chromium, through the fake Twilio: alice searches an
area code with none and one with some, buys a number for a new inbox, a text to it shows live,
the table sorts, filters, searches and exports, she replaces Front Desk's number (refused the
second time), releases a number only once DELETE is typed, and sees "expires on" in the table
and the inbox header; a new team's admin registers from unregistered to registered."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import NUMBERS_TWILIO_TIMEOUT_SECS, Running, running
from tests.fake_twilio import FakeTwilio
from tests.helpers import login
from tests.server.test_registration import BODY, new_team
from tests.web.pages import agent_page, screenshot

LIVE_SECS = 15_000  # a hang guard for what the server's poll brings about (ms)


@pytest.fixture
async def warned_server(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> AsyncIterator[Running]:
    """Every number inside its release warning from the start (the warning is longer than its
    life), none released during the test; registrations polled often."""
    with running(
        tmp_path / "data",
        clean_redis,
        fake_twilio,
        database_url=database_url,
        number_release_warning_days=365.0,
        registration_poll_secs=0.2,
        twilio_timeout_secs=NUMBERS_TWILIO_TIMEOUT_SECS,
    ) as server:
        yield server


async def test_buy_assign_text_sort_filter_export_replace_and_release(
    warned_server: Running, browser: Browser
) -> None:
    server, fake = warned_server, warned_server.fake
    stocked = fake.stock("415", 3)
    (replacement,) = fake.stock("512", 1)
    rest = await login(server.url, "alice")
    leasing = (await rest.post("/api/v1/inboxes", json={"name": "Leasing"})).json()
    _, inbox_page, inbox_errors = await agent_page(browser, server.url, "alice")
    _, page, errors = await agent_page(browser, server.url, "alice")
    await page.goto(f"{server.url}/settings/numbers")
    await page.locator("#settings[data-ready=true]").wait_for(state="attached")
    table = page.locator("#numbers tbody tr")
    await expect(table).to_have_count(2)  # the demo's
    await expect(table.first).to_contain_text("expires on")

    await page.get_by_role("button", name="Buy a number").click()
    dialog = page.locator("#buy-dialog")
    await dialog.get_by_label("Area code").fill("907")
    await dialog.get_by_role("button", name="Search").click()
    await expect(page.locator("#buy-none")).to_contain_text(
        "No numbers are available in area code 907"
    )
    await expect(dialog.get_by_role("button", name="Buy")).to_be_disabled()
    await dialog.get_by_label("Area code").fill("415")
    await dialog.get_by_role("button", name="Search").click()
    await expect(dialog.locator("#buy-list label")).to_have_count(4)  # any, and three
    await dialog.get_by_label(stocked[1], exact=False).check()
    await dialog.get_by_label("Name").fill("Leasing line")
    await dialog.get_by_label("Office (inbox)").select_option(label="Leasing")
    await dialog.get_by_label("Responsible agent").select_option(label="Bob Agent")
    await screenshot(page, "settings-buy-number")
    await dialog.get_by_role("button", name="Buy").click()
    await expect(page.locator("#numbers-notice")).to_contain_text(f"Bought {stocked[1]}")
    row = page.locator("#numbers tbody tr", has_text=stocked[1])
    await expect(row).to_contain_text("Leasing line")
    await expect(row).to_contain_text("Bob Agent")
    await expect(row).to_contain_text("Registered")

    # A text to it arrives live in alice's open inbox page.
    await inbox_page.locator(".inbox-link", has_text="Leasing").click()
    await server.twilio.inbound(stocked[1], "+15553330000", "Is the loft still available?")
    await expect(inbox_page.locator("#conversations .conversation")).to_contain_text(
        "Is the loft still available?"
    )
    await expect(inbox_page.locator("#number-expiry")).to_contain_text(f"{stocked[1]} expires on")
    await inbox_page.locator(".inbox-link", has_text="Front Desk").click()
    await expect(inbox_page.locator("#number-expiry")).to_contain_text("+15005550006 expires on")

    # Sort, search, filter, export.
    await page.locator("#numbers thead button[data-sort=name]").click()
    await expect(table.first).to_contain_text("Billing")
    await page.locator("#numbers thead button[data-sort=name]").click()
    await expect(table.first).to_contain_text("Leasing line")
    await expect(page.locator("#numbers thead th[aria-sort=descending]")).to_contain_text("Name")
    await page.get_by_label("Search").fill("leasing")
    await expect(table).to_have_count(1)
    await page.get_by_label("Search").fill("")
    await expect(table).to_have_count(3)
    await page.locator("#numbers-agent").select_option(label="Bob Agent")
    csv_link = page.locator("#numbers-csv")
    await expect(csv_link).to_have_attribute("href", re.compile(r"agent_id=3"))
    await expect(table).to_have_count(1)
    href = await csv_link.get_attribute("href")
    assert href is not None
    exported = await page.request.get(server.url + href)
    rows = list(csv.reader(io.StringIO(await exported.text())))
    assert [r[0] for r in rows[1:]] == [stocked[1]]
    await page.locator("#numbers-agent").select_option(label="Any")
    await expect(table).to_have_count(3)
    await screenshot(page, "settings-numbers")

    # Replace Front Desk's number, then be refused the second time this month.
    front = page.locator("#numbers tbody tr", has_text="+15005550006")
    await front.get_by_role("button", name="Replace +15005550006").click()
    await page.locator("#replace-dialog").get_by_label("Area code").fill("512")
    await page.locator("#replace-dialog").get_by_role("button", name="Replace").click()
    await expect(page.locator("#numbers-notice")).to_contain_text(f"now texts from {replacement}")
    new_row = page.locator("#numbers tbody tr", has_text=replacement)
    await new_row.get_by_role("button", name=f"Replace {replacement}").click()
    await page.locator("#replace-dialog").get_by_role("button", name="Replace").click()
    await expect(page.locator("#replace-error")).to_contain_text("once every 30 days")
    await page.locator("#replace-dialog").get_by_role("button", name="Cancel").click()

    # Release: only once DELETE is typed.
    leasing_row = page.locator("#numbers tbody tr", has_text=stocked[1])
    await leasing_row.get_by_role("button", name=f"Release {stocked[1]}").click()
    confirm = page.locator("#release-dialog").get_by_role("button", name="Release")
    await expect(confirm).to_be_disabled()
    await page.get_by_label("Type DELETE to confirm").fill("delete")
    await expect(confirm).to_be_disabled()
    await page.get_by_label("Type DELETE to confirm").press("Enter")
    assert fake.released == [r for r in fake.released if r["phone_number"] != stocked[1]]
    await page.get_by_label("Type DELETE to confirm").fill("DELETE")
    await screenshot(page, "settings-release-number")
    await confirm.click()
    await expect(page.locator("#numbers-notice")).to_contain_text(f"Released {stocked[1]}")
    await expect(page.locator("#numbers tbody tr", has_text=stocked[1])).to_have_count(0)
    assert stocked[1] in [r["phone_number"] for r in fake.released]
    assert leasing["id"]
    assert errors == [] and inbox_errors == []


async def test_a_new_team_registers_from_unregistered_to_registered(
    warned_server: Running, browser: Browser
) -> None:
    server, fake = warned_server, warned_server.fake
    await new_team(server.settings)
    _, page, errors = await agent_page(browser, server.url, "zed")
    await page.goto(f"{server.url}/settings/registration")
    await page.locator("#settings[data-ready=true]").wait_for(state="attached")
    await expect(page.locator("#registration-state")).to_have_text("Unregistered")
    business, address, person = (
        BODY["business"],
        BODY["business"]["address"],
        BODY["business"]["representative"],
    )
    fields = {
        "Legal business name": business["legal_name"], "EIN": business["registration_number"],
        "Website": business["website"], "Email for review notices": business["email"],
        "Street": address["street"], "City": address["city"], "State": address["region"],
        "ZIP": address["postal_code"], "Contact first name": person["first_name"],
        "Contact last name": person["last_name"], "Contact email": person["email"],
        "Contact phone": person["phone_number"], "Contact title": person["title"],
        "What you text about": BODY["description"],
        "Sample messages (one a line, with how to opt out)": "\n".join(BODY["sample_messages"]),
        "How customers opt in": BODY["opt_in"],
    }  # fmt: skip
    for label, value in fields.items():
        await page.get_by_label(label, exact=True).fill(value)
    await page.get_by_label("Industry").select_option("REAL_ESTATE")
    await page.get_by_role("button", name="Submit for review").click()
    await expect(page.locator("#registration-state")).to_have_text("Pending review")
    await expect(page.locator("#registration-panel")).to_be_hidden()
    profile, product = list(fake.bundles)
    fake.review(profile, "twilio-approved")
    fake.review(product, "twilio-approved")
    await asyncio.to_thread(fake.wait_until, lambda f: bool(f.brands), 20)
    fake.review(next(iter(fake.brands)), "APPROVED")
    await asyncio.to_thread(fake.wait_until, lambda f: any(f.campaigns.values()), 20)
    fake.review(next(sid for c in fake.campaigns.values() for sid in c), "VERIFIED")
    await expect(page.locator("#registration-state")).to_have_text("Registered", timeout=LIVE_SECS)
    await screenshot(page, "settings-registration")
    assert errors == []
