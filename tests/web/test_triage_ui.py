"""Triage in the browser: assign, filters, archive and unarchive, mark unread, search, start a
conversation, the opt-out banner, out-of-office for admins, keyboard use and a 360 px screen.
The state changes need the `flows` branch (issue 5)."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.conftest import Running
from tests.helpers import FRONT_DESK
from tests.web.pages import agent_page, screenshot

MARCUS = "Marcus Lee"


def row(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator("#conversations .conversation", has_text=name)


async def test_assign_archive_and_mark_unread_show_live_for_both_agents(
    app_server: Running, browser: Browser
) -> None:
    _, bob, bob_errors = await agent_page(browser, app_server.url, "bob")
    _, carol, carol_errors = await agent_page(browser, app_server.url, "carol")
    await carol.get_by_role("button", name="Front Desk").click()
    await row(bob, MARCUS).click()
    await expect(bob.locator("#thread-title")).to_contain_text(MARCUS)
    await expect(row(bob, MARCUS)).not_to_have_class("conversation unread")  # opening reads it

    await bob.get_by_label("Assign to", exact=True).select_option(label="Bob Agent")
    for page in (bob, carol):
        await expect(row(page, MARCUS).locator(".avatar")).to_have_text("BAAssigned to Bob Agent")
    await bob.get_by_label("Assignee", exact=True).select_option("me")
    await expect(bob.locator("#conversations .conversation")).to_have_count(1)
    await bob.get_by_label("Assignee", exact=True).select_option("unassigned")
    await expect(bob.locator("#conversations .conversation")).to_have_count(1)
    await expect(row(bob, "Dana Whitfield")).to_be_visible()
    await bob.get_by_label("Assignee", exact=True).select_option("")

    await bob.get_by_role("button", name="Archive", exact=True).click()
    for page in (bob, carol):
        await expect(row(page, MARCUS)).to_have_count(0)
    await bob.get_by_role("button", name="Archived", exact=True).click()
    await expect(row(bob, MARCUS)).to_be_visible()
    await bob.get_by_role("button", name="Unarchive").click()
    await bob.get_by_role("button", name="Inbox", exact=True).click()
    await expect(row(bob, MARCUS)).to_be_visible()
    await expect(row(carol, MARCUS)).to_be_visible()

    await bob.get_by_role("button", name="Mark unread").click()
    await expect(row(bob, MARCUS)).to_have_class("conversation unread")
    await bob.get_by_label("Read state").select_option("unread")
    await expect(row(bob, MARCUS)).to_be_visible()
    await bob.get_by_label("Read state").select_option("read")
    await expect(row(bob, MARCUS)).to_have_count(0)
    assert bob_errors == [] and carol_errors == []


async def test_search_new_conversation_and_opt_out_banner(
    app_server: Running, browser: Browser
) -> None:
    _, bob, errors = await agent_page(browser, app_server.url, "bob")
    await bob.get_by_label("Search").fill("saturday")
    await expect(bob.locator("#conversations .conversation")).to_have_count(1)
    await expect(row(bob, "Dana Whitfield")).to_be_visible()
    await bob.get_by_label("Search").fill("")
    await expect(bob.locator("#conversations .conversation")).to_have_count(2)

    await bob.get_by_role("button", name="New conversation").click()
    await bob.get_by_label("To (phone number)").fill("+15557778888")
    await bob.get_by_role("button", name="Start").click()
    await expect(bob.locator("#thread-title")).to_have_text("+15557778888")
    await expect(bob.get_by_label("Reply", exact=True)).to_be_focused()

    await app_server.twilio.inbound(FRONT_DESK, "+15557778888", "STOP")
    await expect(bob.locator("#optout-banner")).to_be_visible()
    await expect(bob.get_by_label("Reply", exact=True)).to_be_disabled()
    await expect(bob.locator("#lock-status")).to_have_text("Opted out: replies are disabled.")
    assert errors == []


async def test_admin_sets_out_of_office(app_server: Running, browser: Browser) -> None:
    _, alice, errors = await agent_page(browser, app_server.url, "alice")
    await alice.get_by_role("button", name="Out of office").click()
    dialog = alice.get_by_role("dialog", name="Out of office")
    await expect(dialog).to_be_visible()
    await dialog.get_by_label("Inbox").select_option(label="Front Desk")
    await dialog.get_by_label("Out-of-office on").check()
    await dialog.get_by_label("Away message").fill("We're closed; back at 9am.")
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog.locator("#ooo-result")).to_have_text(
        "Saved. Away now: texts get the away message."
    )
    await dialog.get_by_role("button", name="Close").click()
    await expect(dialog).to_be_hidden()
    assert errors == []

    _, bob, _ = await agent_page(browser, app_server.url, "bob")
    await expect(bob.get_by_role("button", name="Out of office")).to_have_count(0)


async def test_keyboard_moves_through_the_list_and_opens_a_conversation(
    app_server: Running, browser: Browser
) -> None:
    _, bob, errors = await agent_page(browser, app_server.url, "bob")
    first = bob.locator("#conversations .conversation").first
    await first.focus()
    await bob.keyboard.press("ArrowDown")
    second = bob.locator("#conversations .conversation").nth(1)
    await expect(second).to_be_focused()
    await bob.keyboard.press("Enter")
    await expect(bob.locator("#thread-title")).to_contain_text("Dana Whitfield")
    await bob.keyboard.press("ArrowUp")
    await expect(first).to_be_focused()
    assert errors == []


async def test_inbox_works_at_360_px(app_server: Running, browser: Browser) -> None:
    _, bob, errors = await agent_page(
        browser, app_server.url, "bob", viewport={"width": 360, "height": 740}
    )
    await bob.set_viewport_size({"width": 360, "height": 740})
    await expect(bob.locator("#conversations .conversation")).to_have_count(2)
    await expect(bob.locator(".thread")).to_be_hidden()
    await row(bob, "Dana Whitfield").click()
    await expect(bob.locator(".thread")).to_be_visible()
    await expect(bob.locator(".list")).to_be_hidden()
    await expect(bob.get_by_label("Reply", exact=True)).to_be_visible()
    width = await bob.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways at 360 px ({width} px wide)"
    await screenshot(bob, "inbox-360")
    await bob.get_by_role("button", name="Back").click()
    await expect(bob.locator(".list")).to_be_visible()
    assert errors == []


async def test_bulk_send_texts_each_recipient_and_reports_skips(
    app_server: Running, browser: Browser
) -> None:
    _, bob, errors = await agent_page(browser, app_server.url, "bob")
    await bob.get_by_role("button", name="Bulk send").click()
    dialog = bob.get_by_role("dialog", name="Bulk send")
    await dialog.get_by_label("Recipients (one number a line)").fill(
        "+15556660001\n+15556660002\n+15556660001"
    )
    await dialog.get_by_label("Message").fill("We're closed Monday for the holiday.")
    await dialog.get_by_role("button", name="Send to all").click()
    await expect(dialog.locator("#bulk-result")).to_contain_text("Queued 2 individual texts.")
    await expect(dialog.locator("#bulk-result")).to_contain_text("Skipped 1")
    await dialog.get_by_role("button", name="Close").click()
    for number in ("+15556660001", "+15556660002"):  # one conversation each, live in the list
        await expect(row(bob, number)).to_contain_text("We're closed Monday for the holiday.")
    assert errors == []
