"""Campaigns in real Chromium: alice creates a campaign in the admin console from Front Desk's
number (sent now, replies to Billing), sees it active in the list and in the numbers table
(its number's Release greyed out), the texts reach the fake Twilio, and archiving it clears the
number's campaign; the allowance counter at the top of Settings counts the texts and warns at
90 %."""

from __future__ import annotations

import asyncio

from playwright.async_api import Browser, expect

from tests.conftest import Running
from tests.helpers import FRONT_DESK, login
from tests.web.pages import agent_page

RECIPIENTS = ["+15557730001", "+15557730002"]


async def test_an_admin_creates_a_campaign_and_archives_it(
    app_server: Running, browser: Browser
) -> None:
    rest = await login(app_server.url, "alice")
    used = (await rest.put("/api/v1/allowance", json={"limit": 2, "when_out": "refuse"})).json()
    assert used["used"] == 0
    _, page, errors = await agent_page(browser, app_server.url, "alice")
    await page.goto(f"{app_server.url}/settings/campaigns")
    await page.locator("#settings[data-ready=true]").wait_for(state="attached")
    await expect(page.locator("#allowance-counter")).to_contain_text("0 segments of 2 used")
    await expect(page.locator("#allowance-warning")).to_be_hidden()
    await page.fill("#campaign-name", "Open house")
    await page.select_option("#campaign-inbox", label="Front Desk")
    await expect(page.locator("#campaign-numbers")).to_contain_text(FRONT_DESK)
    await page.fill("#campaign-body", "Open house on Saturday: reply to book a visit.")
    await page.fill("#campaign-recipients", "\n".join(RECIPIENTS))
    await page.select_option("#campaign-reply-inbox", label="Billing")
    await page.click("#campaign-form button[type=submit]")
    await expect(page.locator("#campaign-result")).to_contain_text("Open house")
    row = page.locator("#campaigns tbody tr", has_text="Open house")
    await expect(row).to_contain_text("Active")
    await expect(row).to_contain_text("2 sent, 0 skipped")
    await expect(row).to_contain_text("Agents in Billing")
    sent = await asyncio.to_thread(app_server.fake.wait_for_messages, 2, 30.0)
    assert sorted(m["to"] for m in sent) == RECIPIENTS
    # The allowance is used up: the counter and the warning say so, live.
    await expect(page.locator("#allowance-counter")).to_contain_text("2 segments of 2 used")
    await expect(page.locator("#allowance-warning")).to_contain_text("used up")

    await page.goto(f"{app_server.url}/settings/numbers")
    await page.locator("#settings[data-ready=true]").wait_for(state="attached")
    number = page.locator("#numbers tbody tr", has_text=FRONT_DESK)
    await expect(number).to_contain_text("Open house")
    await expect(number.get_by_role("button", name=f"Release {FRONT_DESK}")).to_be_disabled()

    await page.goto(f"{app_server.url}/settings/campaigns")
    await page.locator("#settings[data-ready=true]").wait_for(state="attached")
    await row.get_by_role("button", name="Archive Open house").click()
    await expect(row).to_contain_text("Archived")
    await expect(row.get_by_role("button")).to_have_count(0)
    table = (await rest.get("/api/v1/phone-numbers")).json()["items"]
    assert [n["active_campaign"] for n in table if n["phone_number"] == FRONT_DESK] == [None]
    assert errors == []
