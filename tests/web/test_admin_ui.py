"""The admin console in real Chromium: alice adds an agent who logs in, changes her password and
is disabled (her open tab is logged out); an inbox is made, given a number and a member, renamed
and archived while the member's inbox page follows live; a token is made, shown once and
revoked (its socket closes); agents see no Settings and get the 403 page."""

from __future__ import annotations

from playwright.async_api import Browser, BrowserContext, Page, expect

from inbox.models import PhoneNumber
from tests.conftest import Running
from tests.helpers import Agent, open_store
from tests.web.pages import DESKTOP, agent_page, screenshot

SPARE = "+15005550008"


async def page_as(
    browser: Browser, base_url: str, username: str, password: str
) -> tuple[BrowserContext, Page, list[str]]:
    """A fresh context logged in with a password of one's own (the demo's is `switchboard`)."""
    context = await browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(base_url + "/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Inboxes")).to_be_visible()
    return context, page, errors


async def settings(page: Page, base_url: str, section: str) -> None:
    await page.goto(f"{base_url}/settings/{section}")
    await page.locator("#settings[data-ready=true]").wait_for(state="attached")


async def test_an_admin_adds_an_agent_who_changes_her_password_and_is_disabled(
    app_server: Running, browser: Browser
) -> None:
    _, carol, carol_errors = await agent_page(browser, app_server.url, "carol")
    carol_menu = carol.locator("#filter-assignee option", has_text="Dana Reyes")
    _, alice, alice_errors = await agent_page(browser, app_server.url, "alice")
    await alice.get_by_role("link", name="Settings").click()
    await expect(alice.get_by_role("heading", name="People")).to_be_visible()
    await alice.locator("#settings[data-ready=true]").wait_for(state="attached")
    form = alice.locator("#user-form")
    await form.get_by_label("Username").fill("bob")
    await form.get_by_label("Name", exact=True).fill("Another Bob")
    await form.get_by_role("button", name="Add").click()
    await expect(alice.locator("#user-error")).to_contain_text("already exists")
    await form.get_by_label("Username").fill("dana")
    await form.get_by_label("Name", exact=True).fill("Dana Reyes")
    await form.get_by_label("Password", exact=True).fill("first pass")
    await form.get_by_role("button", name="Add").click()
    await expect(alice.locator("#user-result")).to_contain_text("Added Dana Reyes")
    dana_row = alice.locator("#people tr", has_text="Dana Reyes")
    await expect(dana_row).to_contain_text("Active")
    await expect(carol_menu).to_have_count(1)  # a teammate's open page lists her at once
    await screenshot(alice, "settings-people")

    _, dana, dana_errors = await page_as(browser, app_server.url, "dana", "first pass")
    await expect(dana.get_by_role("link", name="Settings")).to_have_count(0)
    await dana.get_by_role("link", name="Account").click()
    await dana.locator("#account[data-ready=true]").wait_for(state="attached")
    await expect(dana.locator("#sessions tbody tr")).to_have_count(1)
    await dana.get_by_label("Current password").fill("wrong one")
    await dana.get_by_label("New password").fill("second pass")
    await dana.get_by_role("button", name="Change password").click()
    await expect(dana.locator("#password-error")).to_contain_text("not your password")
    await dana.get_by_label("Current password").fill("first pass")
    await dana.get_by_label("New password").fill("second pass")
    await dana.get_by_role("button", name="Change password").click()
    await expect(dana.locator("#password-result")).to_contain_text("Password changed")
    await screenshot(dana, "account")
    await dana.goto(app_server.url + "/")
    await dana.locator("#app[data-ready=true]").wait_for(state="attached")

    await dana_row.get_by_role("button", name="Disable Dana Reyes").click()
    await expect(dana_row).to_contain_text("Disabled")
    await expect(dana).to_have_url(app_server.url + "/login")  # her open tab is logged out
    await expect(carol_menu).to_have_count(0)
    await dana.get_by_label("Username").fill("dana")
    await dana.get_by_label("Password").fill("second pass")
    await dana.get_by_role("button", name="Log in").click()
    await expect(dana.get_by_role("alert")).to_contain_text("disabled")
    # Demoting the last admin is refused, and says why.
    await alice.get_by_role("button", name="Edit Alice Admin").click()
    await alice.locator("#edit-user-role").select_option("agent")
    await alice.locator("#edit-user").get_by_role("button", name="Save").click()
    await expect(alice.locator("#edit-user-error")).to_contain_text("last admin")
    assert alice_errors == [] and dana_errors == [] and carol_errors == []


async def test_an_inbox_made_numbered_renamed_and_archived_shows_live_in_a_members_sidebar(
    app_server: Running, browser: Browser
) -> None:
    async with open_store(app_server.settings.database_url) as db, db.write() as session:
        session.add(PhoneNumber(team_id=1, number=SPARE, label="spare"))
    _, bob, bob_errors = await agent_page(browser, app_server.url, "bob")
    sidebar = bob.locator("#inboxes")
    await expect(sidebar.locator(".inbox-link[data-inbox-id]")).to_have_count(1)
    _, alice, alice_errors = await agent_page(browser, app_server.url, "alice")
    await settings(alice, app_server.url, "inboxes")

    await alice.get_by_role("button", name="New inbox").click()
    dialog = alice.locator("#inbox-dialog")
    await dialog.get_by_label("Name", exact=True).fill("Walk-ins")
    await dialog.get_by_label("Colour").fill("#1d7a3a")
    await dialog.get_by_label("Phone number").select_option(label=f"{SPARE} (spare)")
    await dialog.get_by_label("Voice forwarding number").fill("not a number")
    await dialog.get_by_role("group", name="Members").get_by_label("Bob Agent").check()
    await dialog.get_by_role("button", name="Save").click()
    await expect(alice.locator("#inbox-error")).to_contain_text("not a valid phone number")
    await dialog.get_by_label("Voice forwarding number").fill("(415) 555-2671")
    await screenshot(alice, "settings-inbox-form")
    await dialog.get_by_role("button", name="Save").click()
    row = alice.locator("#inbox-table tr", has_text="Walk-ins")
    await expect(row).to_contain_text(SPARE)
    await expect(row).to_contain_text("Bob Agent")
    await screenshot(alice, "settings-inboxes")

    walk_ins = sidebar.locator(".inbox-link", has_text="Walk-ins")
    await expect(walk_ins).to_be_visible()  # added to it: there without a reload
    await walk_ins.click()
    await expect(bob.locator("#list-title")).to_have_text("Walk-ins")

    await row.get_by_role("button", name="Edit Walk-ins").click()
    await dialog.get_by_label("Name", exact=True).fill("Walk-in desk")
    await dialog.get_by_role("button", name="Save").click()
    await expect(alice.locator("#inbox-table")).to_contain_text("Walk-in desk")
    await expect(sidebar.locator(".inbox-link", has_text="Walk-in desk")).to_be_visible()
    await expect(bob.locator("#list-title")).to_have_text("Walk-in desk")

    await alice.get_by_role("button", name="Edit Walk-in desk").click()
    await dialog.get_by_role("button", name="Archive…").click()
    await alice.locator("#archive-dialog").get_by_role("button", name="Archive").click()
    archived = alice.locator("#inbox-table tr", has_text="Walk-in desk")
    await expect(archived).to_contain_text("Archived")
    await expect(archived).not_to_contain_text(SPARE)  # its number was let go
    await expect(sidebar.locator(".inbox-link.archived")).to_have_text("Walk-in desk ")
    assert bob_errors == [] and alice_errors == []


async def test_a_token_is_shown_once_and_revoking_it_closes_its_socket(
    app_server: Running, browser: Browser
) -> None:
    _, alice, errors = await agent_page(browser, app_server.url, "alice")
    await settings(alice, app_server.url, "tokens")
    bot_form = alice.locator("#bot-form")
    await bot_form.get_by_label("Username").fill("rules")
    await bot_form.get_by_label("Name", exact=True).fill("Rules Bot")
    await bot_form.get_by_role("button", name="Add bot").click()
    await expect(alice.locator("#token-user")).to_have_value(await _user_id(alice, "Rules Bot"))
    await alice.locator("#token-form").get_by_label("Name", exact=True).fill("rules bot")
    await alice.get_by_role("button", name="Make token").click()
    secret = alice.locator("#token-secret")
    await expect(alice.locator("#token-shown")).to_be_visible()
    token = await secret.text_content()
    assert token and token.startswith("sb_")
    row = alice.locator("#tokens tr", has_text="rules bot")
    await expect(row).to_contain_text("Rules Bot (bot)")
    await expect(alice.locator("#tokens")).not_to_contain_text(token)
    await screenshot(alice, "settings-tokens")

    socket = await Agent.connect(app_server.url, token=token)
    assert (await socket.command("ping", {}))["type"] == "pong"
    revoke = row.get_by_role("button", name="Revoke rules bot of Rules Bot")
    await revoke.click()
    await expect(revoke).to_have_text("Really revoke?")
    await revoke.click()
    await expect(alice.locator("#tokens tr", has_text="rules bot")).to_have_count(0)
    await socket.ws.wait_closed()
    assert socket.ws.close_code == 4401
    await settings(alice, app_server.url, "audit")
    await expect(alice.locator("#audit tbody tr").first).to_contain_text("Revoked a token")
    await expect(alice.locator("#audit")).not_to_contain_text(token)
    await screenshot(alice, "settings-audit")
    assert errors == []


async def _user_id(page: Page, name: str) -> str:
    option = page.locator("#token-user option", has_text=name)
    value = await option.get_attribute("value")
    assert value is not None
    return value


async def test_agents_see_no_settings_and_get_the_403_page(
    app_server: Running, browser: Browser
) -> None:
    _, bob, errors = await agent_page(browser, app_server.url, "bob")
    await expect(bob.get_by_role("link", name="Account")).to_be_visible()
    await expect(bob.get_by_role("link", name="Settings")).to_have_count(0)
    response = await bob.goto(app_server.url + "/settings/inboxes")
    assert response is not None and response.status == 403
    await expect(bob.get_by_role("heading", name="Not allowed")).to_be_visible()
    await expect(bob.locator("main")).to_contain_text("Settings are for admins")
    assert errors == []
