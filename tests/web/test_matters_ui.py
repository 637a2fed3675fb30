"""Matters in real Chromium: an agent adds one on the matters page, files a conversation under
it with the pencil in the thread header, a teammate's list filters by it live, a text to the
team's Org number lands in the filed conversation saying why (a new thread after a quiet month),
and the matter's page lists the conversation."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import Browser, expect

from tests.conftest import Running
from tests.server.test_routing import ORG, add_org_number, backdate
from tests.web.pages import agent_page, screenshot

DANA, MARCUS = "Dana Whitfield", "Marcus Lee"
DANA_NUMBER = "+15551230001"
DANA_CONVERSATION = 1


async def test_a_conversation_is_filed_under_a_matter_and_the_list_filters_by_it(
    app_server: Running, browser: Browser
) -> None:
    await add_org_number(app_server)
    _, bob, bob_errors = await agent_page(browser, app_server.url, "bob")
    _, carol, carol_errors = await agent_page(browser, app_server.url, "carol")
    await carol.get_by_role("button", name="Front Desk").click()
    await expect(carol.locator("#conversations .conversation")).to_have_count(2)

    await bob.goto(app_server.url + "/matters")
    await bob.get_by_label("Name").fill("Whitfield v. Acme")
    await bob.get_by_label("Client").select_option(label=DANA)
    await bob.get_by_label("Inbox for texts routed to it").select_option(label="Front Desk")
    await bob.get_by_role("button", name="Add matter").click()
    await expect(bob.locator("#matters-result")).to_have_text("Added Whitfield v. Acme.")
    await expect(bob.locator("#matters tbody")).to_contain_text("Whitfield v. Acme")

    await bob.goto(app_server.url + "/")
    await bob.locator("#conversations .conversation", has_text=DANA).click()
    await expect(bob.locator("#matter-shown")).to_have_text("No matter")
    await bob.get_by_role("button", name="File under a matter").click()
    await bob.get_by_label("Matter to file under").select_option(
        label=f"Whitfield v. Acme ({DANA})"
    )
    await bob.get_by_role("button", name="Save").click()
    await expect(bob.locator("#matter-shown")).to_have_text("Matter: Whitfield v. Acme")

    # Carol's filter learned the matter live (matter.changed), and her list applies it.
    await carol.get_by_label("Matter", exact=True).select_option(
        label=f"Whitfield v. Acme ({DANA})"
    )
    await expect(carol.locator("#conversations .conversation")).to_have_count(1)
    await expect(carol.locator("#conversations .conversation", has_text=DANA)).to_be_visible()
    await expect(carol.locator("#conversations .conversation", has_text=MARCUS)).to_have_count(0)

    # Dana texts the Org number after 31 quiet days: her one active matter's conversation, a
    # new thread in it, with the reason shown.
    await backdate(app_server, DANA_CONVERSATION, timedelta(days=31))
    assert (await app_server.twilio.inbound(ORG, DANA_NUMBER, "about my case")).status_code == 200
    arrived = bob.locator("#messages .message", has_text="about my case")
    await expect(arrived.locator(".routed")).to_have_text(
        "Routed here: the client's only active matter"
    )
    await expect(arrived.locator(".thread-start")).to_contain_text("New thread · started")
    await screenshot(bob, "matter-filed")

    await bob.get_by_role("link", name="Whitfield v. Acme").click()
    await expect(bob.get_by_role("heading", name="Whitfield v. Acme")).to_be_visible()
    await expect(bob.locator("#matter-conversations")).to_contain_text(DANA)
    assert bob_errors == [] and carol_errors == []
