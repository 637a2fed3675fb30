"""The foundation's browser flow: bob logs in, sees Front Desk, watches a text arrive live and
replies; the phone simulator plays the customer and sees the reply."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, expect

from tests.conftest import Running
from tests.helpers import FRONT_DESK
from tests.web.pages import agent_page, log_in


async def test_agent_sees_an_inbound_text_live_and_replies(
    app_server: Running, browser: Browser, tmp_path: Path
) -> None:
    context, page, errors = await agent_page(browser, app_server.url, "bob")
    await expect(page.get_by_role("button", name="Front Desk")).to_be_visible()
    await expect(page.get_by_role("button", name="Billing")).to_have_count(0)
    await expect(page.locator("#conversations li")).to_have_count(2)  # the demo's Front Desk texts

    # A customer texts in; the list shows it without a reload.
    await app_server.twilio.inbound(FRONT_DESK, "+15554443333", "Do you take walk-ins?")
    row = page.get_by_role("button", name="+15554443333")
    await expect(row).to_be_visible()
    await row.click()
    await expect(page.locator("#messages")).to_contain_text("Do you take walk-ins?")

    await page.get_by_label("Reply", exact=True).fill("Yes, until 4pm.")
    await page.get_by_label("Reply", exact=True).press("Enter")
    reply = page.locator(".message.outbound").last
    await expect(reply).to_contain_text("Yes, until 4pm.")
    await expect(reply).to_contain_text("Bob Agent")
    await expect(page.get_by_label("Reply", exact=True)).to_have_value("")
    assert errors == []
    await context.close()


async def test_simulator_plays_the_customer_on_the_sandbox(
    sandbox_server: str, browser: Browser
) -> None:
    agent = await (await browser.new_context()).new_page()
    await log_in(agent, sandbox_server, "bob")
    phone = await (await browser.new_context()).new_page()
    await log_in(phone, sandbox_server, "alice")
    await phone.goto(sandbox_server + "/simulator")
    await phone.get_by_label("Customer's phone").fill("+15557654321")
    await phone.get_by_label("Inbox number").select_option(FRONT_DESK)
    await phone.get_by_label("Message").fill("Is my prescription ready?")
    await phone.get_by_role("button", name="Send text").click()
    await expect(phone.locator("#sim-messages .from-phone")).to_have_text(
        ["Is my prescription ready?"]
    )

    await agent.get_by_role("button", name="+15557654321").click()
    await agent.get_by_label("Reply", exact=True).fill("Ready for pickup.")
    await agent.get_by_role("button", name="Send", exact=True).click()
    await expect(agent.locator(".message.outbound").last).to_contain_text("delivered")
    await expect(phone.locator("#sim-messages .to-phone")).to_have_text(["Ready for pickup."])


async def test_simulator_is_absent_when_twilio_is_configured(
    app_server: Running, browser: Browser
) -> None:
    page = await (await browser.new_context()).new_page()
    await log_in(page, app_server.url, "bob")
    response = await page.goto(app_server.url + "/simulator")
    assert response is not None and response.status == 404
