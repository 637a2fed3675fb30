"""The foundation's browser flow: bob logs in, sees Front Desk, watches a text arrive live and
replies; the phone simulator plays the customer and sees the reply."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests.conftest import Running
from tests.helpers import FRONT_DESK


async def log_in(page: Page, base_url: str, username: str) -> None:
    await page.goto(base_url + "/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill("switchboard")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Inboxes")).to_be_visible()


async def test_agent_sees_an_inbound_text_live_and_replies(
    app_server: Running, browser: Browser, tmp_path: Path
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    await log_in(page, app_server.url, "bob")
    await expect(page.get_by_role("button", name="Front Desk")).to_be_visible()
    await expect(page.get_by_role("button", name="Billing")).to_have_count(0)
    await expect(page.locator("#conversations li")).to_have_count(2)  # the demo's Front Desk texts

    # A customer texts in; the list shows it without a reload.
    await app_server.twilio.inbound(FRONT_DESK, "+15554443333", "Do you take walk-ins?")
    row = page.get_by_role("button", name="+15554443333")
    await expect(row).to_be_visible()
    await row.click()
    await expect(page.locator("#messages")).to_contain_text("Do you take walk-ins?")

    await page.get_by_label("Reply").fill("Yes, until 4pm.")
    await page.get_by_label("Reply").press("Enter")
    reply = page.locator(".message.outbound").last
    await expect(reply).to_contain_text("Yes, until 4pm.")
    await expect(reply).to_contain_text("Bob Agent")
    await expect(page.get_by_label("Reply")).to_have_value("")
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
    await agent.get_by_label("Reply").fill("Ready for pickup.")
    await agent.get_by_role("button", name="Send").click()
    await expect(agent.locator(".message.outbound").last).to_contain_text("delivered")
    await expect(phone.locator("#sim-messages .to-phone")).to_have_text(["Ready for pickup."])


async def test_simulator_is_absent_when_twilio_is_configured(
    app_server: Running, browser: Browser
) -> None:
    page = await (await browser.new_context()).new_page()
    await log_in(page, app_server.url, "bob")
    response = await page.goto(app_server.url + "/simulator")
    assert response is not None and response.status == 404
