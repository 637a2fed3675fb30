"""What agents use all day, end to end in real Chromium with two agents: a canned response
with variables filled in and sent, a private note whose mention reaches the teammate live and
never the SMS provider, tags and the tag filter, the list paged past 50 conversations (and the
board naming one it never listed), the contact panel, keyboard shortcuts and the sound."""

from __future__ import annotations

import asyncio

from playwright.async_api import Browser, Page, expect

from tests.conftest import Running
from tests.helpers import FRONT_DESK, login
from tests.web.pages import agent_page, screenshot

DANA, MARCUS = "Dana Whitfield", "Marcus Lee"
DANA_NUMBER = "+15551230001"


def row(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator("#conversations .conversation", has_text=name)


async def test_a_canned_response_is_filled_in_and_sent(
    app_server: Running, browser: Browser
) -> None:
    _, alice, alice_errors = await agent_page(browser, app_server.url, "alice")
    _, bob, bob_errors = await agent_page(browser, app_server.url, "bob")
    await alice.get_by_role("button", name="Canned responses").click()
    library = alice.get_by_role("dialog", name="Canned responses")
    await library.get_by_label("Name").fill("Opening hours")
    await library.get_by_label("Text").fill(
        "Hi {{contact.first_name}}, {{agent.first_name}} from {{inbox.name}}: we open 9-5."
    )
    await library.get_by_role("button", name="Save").click()
    await expect(library.locator("#canned-result")).to_have_text("Added Opening hours.")
    await expect(library.locator("#canned-list")).to_contain_text("Opening hours · team")
    await library.get_by_label("Name").fill("Broken")
    await library.get_by_label("Text").fill("Hello {{contact.nickname}}")
    await library.get_by_role("button", name="Save").click()
    await expect(library.locator("#canned-result")).to_contain_text(
        "Not saved: unknown variable {{contact.nickname}}"
    )
    await library.get_by_role("button", name="Close").click()

    await row(bob, DANA).click()
    reply = bob.get_by_label("Reply", exact=True)
    await reply.press_sequentially("/open")
    options = bob.get_by_role("listbox", name="Suggestions").get_by_role("option")
    await expect(options).to_have_count(1)
    await expect(options.first).to_contain_text("Opening hours")
    await screenshot(bob, "canned-responses")
    await reply.press("Enter")  # takes the suggestion; it does not send
    filled = "Hi Dana, Bob from Front Desk: we open 9-5."
    await expect(reply).to_have_value(filled)
    await expect(bob.locator("#lock-status")).to_contain_text("You are replying")
    await reply.press("Enter")
    (created,) = await asyncio.to_thread(app_server.fake.wait_for_messages, 1)
    assert created["body"] == filled and created["to"] == DANA_NUMBER
    await alice.get_by_role("button", name="Front Desk").click()
    await row(alice, DANA).click()
    await expect(alice.locator(".message.outbound").last).to_contain_text(filled)
    assert alice_errors == [] and bob_errors == []


async def test_a_note_mentions_a_teammate_live_and_never_reaches_the_provider(
    app_server: Running, browser: Browser
) -> None:
    _, bob, bob_errors = await agent_page(browser, app_server.url, "bob")
    _, carol, carol_errors = await agent_page(browser, app_server.url, "carol")
    await carol.get_by_role("button", name="Front Desk").click()
    await row(carol, MARCUS).click()
    await row(bob, DANA).click()
    await bob.get_by_role("button", name="Private note").click()
    note = bob.get_by_label("Reply", exact=True)
    await expect(bob.locator("#lock-status")).to_have_text(
        "Private note: only your team sees it. It is never sent as a text."
    )
    await note.press_sequentially("@car")
    suggestions = bob.get_by_role("listbox", name="Suggestions").get_by_role("option")
    await expect(suggestions).to_have_text(["@carolCarol Supervisor"])
    await note.press("Tab")
    await note.press_sequentially("she asked twice about Saturday, can you call?")
    await expect(note).to_have_value("@carol she asked twice about Saturday, can you call?")
    await bob.get_by_role("button", name="Add note").click()
    mine = bob.locator(".message.note").last
    await expect(mine).to_contain_text("Private note · Bob Agent")
    await expect(mine.locator(".mention")).to_have_text("@carol")
    await expect(note).to_have_value("")
    await screenshot(bob, "private-note")

    # Carol hears of it at once, wherever she is, and finds it in Mentions.
    await expect(carol.locator("#mention-toast")).to_contain_text(
        f"Bob Agent mentioned you in a note on {DANA}."
    )
    await expect(carol.locator("#mentions-count")).to_have_text("1")
    await carol.get_by_role("button", name="Mentions").click()
    await expect(carol).to_have_url(app_server.url + "/mentions")
    item = carol.locator("#mentions .mention-item")
    await expect(item).to_have_count(1)
    await expect(item).to_contain_text("she asked twice about Saturday")
    await expect(carol.locator("#mentions-count")).to_have_text("")
    await item.click()
    await expect(carol.locator("#thread-title")).to_contain_text(DANA)
    await expect(carol.locator(".message.note")).to_contain_text("she asked twice")
    # The list's preview is still the customer's text, and the note was never sent.
    await expect(row(carol, DANA).locator(".preview")).to_have_text(
        "Hi, is the office open on Saturday?"
    )
    await bob.get_by_role("button", name="Reply", exact=True).click()
    await note.fill("Yes, 9 to 1.")
    await note.press("Enter")
    (created,) = await asyncio.to_thread(app_server.fake.wait_for_messages, 1)
    assert created["body"] == "Yes, 9 to 1."
    assert app_server.fake.create_calls == 1
    await expect(carol.locator("#messages .message .body")).to_have_text(
        [
            "Hi, is the office open on Saturday?",
            "@carol she asked twice about Saturday, can you call?",
            "Yes, 9 to 1.",
        ]
    )
    assert bob_errors == [] and carol_errors == []


async def test_tags_show_live_and_filter_the_list(app_server: Running, browser: Browser) -> None:
    _, alice, alice_errors = await agent_page(browser, app_server.url, "alice")
    _, bob, bob_errors = await agent_page(browser, app_server.url, "bob")
    _, carol, carol_errors = await agent_page(browser, app_server.url, "carol")
    await carol.get_by_role("button", name="Front Desk").click()
    await alice.get_by_role("button", name="Tags").click()
    tags = alice.get_by_role("dialog", name="Tags")
    await tags.get_by_label("Name").fill("VIP")
    await tags.get_by_label("Colour").fill("#d97706")
    await tags.get_by_role("button", name="Add tag").click()
    await expect(tags.locator("#tags-result")).to_have_text("Added VIP.")
    await tags.get_by_role("button", name="Close").click()

    await row(bob, DANA).click()
    await bob.get_by_label("Add a tag").select_option(label="VIP")  # the new tag arrived live
    await expect(bob.locator("#thread-tag-list")).to_have_text("VIP×")
    for page in (bob, carol):
        await expect(row(page, DANA).locator(".tag")).to_have_text("VIP")
    await carol.get_by_label("Tag", exact=True).select_option(label="VIP")
    await expect(carol.locator("#conversations .conversation")).to_have_count(1)
    await expect(row(carol, DANA)).to_be_visible()
    await screenshot(bob, "tags")

    await bob.get_by_role("button", name="Remove tag VIP").click()
    await expect(row(bob, DANA).locator(".tag")).to_have_count(0)
    await expect(carol.locator("#conversations .conversation")).to_have_count(0)  # live
    await expect(carol.locator("#list-empty")).to_be_visible()
    assert alice_errors == [] and bob_errors == [] and carol_errors == []


async def test_the_list_pages_past_50_and_the_board_names_what_it_never_listed(
    app_server: Running, browser: Browser
) -> None:
    bob_api = await login(app_server.url, "bob")
    numbers = [f"+1555888{i:04d}" for i in range(55)]
    bulk = await bob_api.post(
        "/api/v1/inboxes/1/bulk", json={"numbers": numbers, "body": "Closed Monday."}
    )
    assert bulk.json()["queued"] == 55
    _, bob, bob_errors = await agent_page(browser, app_server.url, "bob")
    await expect(bob.locator("#conversations .conversation")).to_have_count(50)
    await expect(row(bob, DANA)).to_have_count(0)  # the oldest, past the first page
    await bob.locator("#list-more").scroll_into_view_if_needed()
    await expect(bob.locator("#conversations .conversation")).to_have_count(57)
    await expect(bob.locator("#list-more")).to_be_hidden()
    await expect(bob.locator("#conversations .conversation").last).to_contain_text(DANA)

    _, carol, carol_errors = await agent_page(browser, app_server.url, "carol")
    await carol.goto(app_server.url + "/board")
    await carol.locator("#board[data-ready=true]").wait_for(state="attached")
    await row(bob, DANA).click()
    await bob.get_by_label("Reply", exact=True).fill("Hello")
    lock = carol.locator("#locks tbody tr").first
    await expect(lock).to_contain_text(f"{DANA} · Front Desk")
    await expect(lock).to_contain_text("Bob Agent")
    await expect(carol.locator("#agents tbody tr", has_text="Bob Agent")).to_contain_text(DANA)
    assert bob_errors == [] and carol_errors == []


async def test_the_contact_panel_names_a_stranger_and_shows_other_conversations(
    app_server: Running, browser: Browser
) -> None:
    await app_server.twilio.inbound(FRONT_DESK, "+15554447777", "Hi, it's me again")
    _, bob, bob_errors = await agent_page(browser, app_server.url, "bob")
    _, carol, carol_errors = await agent_page(browser, app_server.url, "carol")
    await carol.get_by_role("button", name="Front Desk").click()
    await row(bob, "+15554447777").click()
    await bob.get_by_role("button", name="Contact").click()
    panel = bob.get_by_role("complementary", name="Unknown number")
    await expect(panel).to_contain_text("Who is this? Nobody has named this number yet.")
    await panel.get_by_label("Name").fill("Erin Kim")
    await panel.get_by_label("Notes").fill("Prefers texts after 5pm.")
    await panel.get_by_role("button", name="Save contact").click()
    await expect(bob.locator("#contact-result")).to_have_text("Saved Erin Kim.")
    await expect(bob.locator("#thread-title")).to_have_text("Erin Kim (+15554447777)")
    await expect(row(carol, "Erin Kim")).to_be_visible()  # live for the teammate

    # Sam shares Erin's phone: the thread names the newest contact, the panel who else has it.
    carol_api = await login(app_server.url, "carol")
    shared = {"name": "Sam Kim", "numbers": ["+15554447777"]}
    assert (await carol_api.post("/api/v1/contacts", json=shared)).status_code == 201
    await expect(bob.locator("#thread-title")).to_have_text("Sam Kim (+15554447777)")
    await expect(bob.locator("#contact-also")).to_have_text("Also this number: Erin Kim")

    # Dana also texts Billing; alice (in both inboxes) sees that conversation from Front Desk's.
    await app_server.twilio.inbound("+15005550007", DANA_NUMBER, "And my invoice?")
    _, alice, alice_errors = await agent_page(browser, app_server.url, "alice")
    await alice.goto(app_server.url + "/conversations/1")
    await expect(alice.locator("#thread-title")).to_contain_text(DANA)
    panel = alice.get_by_role("complementary", name=DANA)
    if await panel.count() == 0:  # closed in this browser: open it
        await alice.get_by_role("button", name="Contact").click()
    await expect(panel.get_by_label("Numbers (one a line)")).to_have_value(DANA_NUMBER)  # loaded
    await panel.get_by_label("Notes").fill("Owns the bakery on Main St.")
    await panel.get_by_role("button", name="Save contact").click()
    await expect(alice.locator("#contact-result")).to_have_text(f"Saved {DANA}.")
    other = panel.get_by_role("link", name=f"Billing · {DANA_NUMBER}")
    await expect(other).to_be_visible()
    await screenshot(alice, "contact-panel")
    await other.click()
    await expect(alice).to_have_url(app_server.url + "/conversations/5")
    await expect(alice.locator("#messages")).to_contain_text("And my invoice?")
    await expect(alice.locator("#list-title")).to_have_text("Billing")
    await alice.reload()  # the panel stays open, with what was saved

    await expect(alice.get_by_role("complementary", name=DANA).get_by_label("Notes")).to_have_value(
        "Owns the bakery on Main St."
    )
    assert bob_errors == [] and carol_errors == [] and alice_errors == []


async def test_keyboard_shortcuts_move_reply_archive_and_list_themselves(
    app_server: Running, browser: Browser
) -> None:
    _, bob, errors = await agent_page(browser, app_server.url, "bob")
    await bob.locator("body").press("j")
    await expect(bob.locator("#thread-title")).to_contain_text(MARCUS)  # the newest first
    await bob.keyboard.press("j")
    await expect(bob.locator("#thread-title")).to_contain_text(DANA)
    await bob.keyboard.press("k")
    await expect(bob.locator("#thread-title")).to_contain_text(MARCUS)
    await bob.keyboard.press("r")
    reply = bob.get_by_label("Reply", exact=True)
    await expect(reply).to_be_focused()
    await reply.press_sequentially("j and k are letters here")
    await expect(bob.locator("#thread-title")).to_contain_text(MARCUS)
    await bob.locator("#thread-title").click()  # out of the box
    await bob.keyboard.press("e")
    await expect(row(bob, MARCUS)).to_have_count(0)  # archived
    await expect(bob.get_by_role("button", name="Unarchive")).to_be_visible()
    await bob.keyboard.press("?")
    help = bob.get_by_role("dialog", name="Keyboard shortcuts")
    await expect(help).to_contain_text("Next conversation")
    await expect(help).to_contain_text("Archive (or unarchive)")
    await bob.keyboard.press("Escape")
    await expect(help).to_be_hidden()
    assert errors == []


COUNT_TONES = """() => {
  window.tones = 0;
  const Real = window.AudioContext;
  window.AudioContext = class extends Real {
    createOscillator() { window.tones += 1; return super.createOscillator(); }
  };
}"""


async def test_the_sound_for_new_texts_is_optional_and_remembered(
    app_server: Running, browser: Browser
) -> None:
    context, bob, errors = await agent_page(browser, app_server.url, "bob")
    await context.add_init_script(script=f"({COUNT_TONES})()")
    await bob.reload()
    await bob.locator("#app[data-ready=true]").wait_for(state="attached")
    await app_server.twilio.inbound(FRONT_DESK, "+15554440001", "quiet, please")
    await expect(row(bob, "+15554440001")).to_be_visible()
    assert await bob.evaluate("window.tones") == 0  # off until turned on
    await bob.get_by_label("Sound for new texts").check()
    await bob.wait_for_function("() => window.tones === 1")  # a sample when turned on
    await bob.reload()
    await expect(bob.get_by_label("Sound for new texts")).to_be_checked()
    await bob.locator("#list-title").click()  # browsers play sound once the page got a click
    await app_server.twilio.inbound(FRONT_DESK, "+15554440001", "ring, please")
    await bob.wait_for_function("() => window.tones === 1")
    await bob.get_by_label("Sound for new texts").uncheck()
    await app_server.twilio.inbound(FRONT_DESK, "+15554440002", "and quiet again")
    await expect(row(bob, "+15554440002")).to_be_visible()
    assert await bob.evaluate("window.tones") == 1
    assert errors == []
