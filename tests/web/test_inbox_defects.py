"""Issue 16's defects, each in real Chromium: a conversation has an address (back, forward, a
link), a draft and the reading position survive a reload, a long history loads on scrolling up
without moving what the agent reads, search says when nothing matches, a long paste is kept and
said, Send is on screen on a phone, a user with no inbox is told so, an unreachable server is
said in words, a dropped connection is said in the composer, and admins delete a conversation
after typing its number."""

from __future__ import annotations

from playwright.async_api import Browser, Page, Route, WebSocketRoute, expect

from tests.accounts import make_user
from tests.conftest import Running
from tests.helpers import FRONT_DESK
from tests.web.pages import agent_page

DANA, MARCUS = "Dana Whitfield", "Marcus Lee"
DANA_NUMBER = "+15551230001"
LONG = "+15554449999"
LONG_TEXTS = 80  # more than one history page (50)


def row(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator("#conversations .conversation", has_text=name)


async def long_conversation(server: Running) -> None:
    for i in range(LONG_TEXTS):
        await server.twilio.inbound(FRONT_DESK, LONG, f"text {i}")


# The message's top, measured from the top of the thread's scrolling pane.
TOP_IN_PANE = """body => {
  const pane = document.getElementById("thread-scroll");
  const node = [...document.querySelectorAll("#messages .message")].find(
    (li) => li.querySelector(".body").textContent === body);
  return node ? node.getBoundingClientRect().top - pane.getBoundingClientRect().top : null;
}"""


async def test_a_conversation_has_an_address_that_back_forward_and_links_open(
    app_server: Running, browser: Browser
) -> None:
    context, bob, errors = await agent_page(browser, app_server.url, "bob")
    await row(bob, DANA).click()
    await expect(bob.locator("#thread-title")).to_contain_text(DANA)
    await expect(bob).to_have_url(app_server.url + "/conversations/1")
    await row(bob, MARCUS).click()
    await expect(bob).to_have_url(app_server.url + "/conversations/2")
    await bob.go_back()
    await expect(bob.locator("#thread-title")).to_contain_text(DANA)
    await expect(row(bob, DANA)).to_have_attribute("aria-current", "true")
    await bob.go_forward()
    await expect(bob.locator("#thread-title")).to_contain_text(MARCUS)

    # A link opens it in a new tab; a logged-out visitor logs in and lands on it.
    tab = await context.new_page()
    await tab.goto(app_server.url + "/conversations/1")
    await expect(tab.locator("#thread-title")).to_contain_text(DANA)
    await expect(tab.locator("#messages")).to_contain_text("open on Saturday")
    stranger = await (await browser.new_context()).new_page()
    await stranger.goto(app_server.url + "/conversations/2")
    await expect(stranger).to_have_url(app_server.url + "/login?next=%2Fconversations%2F2")
    await stranger.get_by_label("Username").fill("carol")
    await stranger.get_by_label("Password").fill("switchboard")
    await stranger.get_by_role("button", name="Log in").click()
    await expect(stranger.locator("#thread-title")).to_contain_text(MARCUS)
    # A conversation of an inbox the agent is not in says why, and the inbox shows instead.
    await tab.goto(app_server.url + "/conversations/3")
    await expect(tab.locator("#thread-title")).to_have_text(
        "Could not open this conversation: you are not a member of this conversation's inbox"
    )
    await expect(row(tab, DANA)).to_be_visible()
    assert errors == []


async def test_a_draft_and_the_reading_position_survive_a_reload(
    app_server: Running, browser: Browser
) -> None:
    await long_conversation(app_server)
    _, bob, errors = await agent_page(browser, app_server.url, "bob")
    await row(bob, DANA).click()
    draft = "Yes, 9 to 1 on Saturdays —"
    await bob.get_by_label("Reply", exact=True).fill(draft)
    await bob.reload()
    await expect(bob.get_by_label("Reply", exact=True)).to_have_value(draft)

    await row(bob, LONG).click()
    await expect(bob.locator("#messages")).to_contain_text("text 79")
    await bob.locator("#messages .message", has_text="text 40").scroll_into_view_if_needed()
    await bob.locator("#thread-scroll").evaluate(
        "(pane, body) => { pane.scrollTop += (" + TOP_IN_PANE + ")(body) - 20; }", "text 40"
    )
    await bob.wait_for_function(
        "() => JSON.parse(sessionStorage.getItem('switchboard.scroll.4') || 'null') !== null"
    )
    before = await bob.evaluate(TOP_IN_PANE, "text 40")
    await bob.reload()
    await expect(bob).to_have_url(app_server.url + "/conversations/4")
    await expect(bob.locator("#thread-title")).to_have_text(LONG)
    await bob.wait_for_function(f"body => ({TOP_IN_PANE})(body) !== null", arg="text 40")
    after = await bob.evaluate(TOP_IN_PANE, "text 40")
    assert after is not None and abs(after - before) <= 2, (before, after)

    await row(bob, DANA).click()  # each conversation keeps its own draft
    await expect(bob.get_by_label("Reply", exact=True)).to_have_value(draft)
    assert errors == []


async def test_older_history_loads_on_scrolling_up_and_keeps_the_position(
    app_server: Running, browser: Browser
) -> None:
    await long_conversation(app_server)
    _, bob, errors = await agent_page(browser, app_server.url, "bob")
    await row(bob, LONG).click()
    await expect(bob.locator("#messages .message")).to_have_count(50)
    await expect(bob.locator("#messages .message .body").first).to_have_text("text 30")
    await expect(bob.locator("#history-status")).to_have_text("")
    top = await bob.evaluate(
        "() => { const pane = document.getElementById('thread-scroll'); pane.scrollTop = 0;"
        " return document.querySelector('#messages .message').getBoundingClientRect().top; }"
    )
    await expect(bob.locator("#messages .message")).to_have_count(LONG_TEXTS)
    await expect(bob.locator("#messages .message .body").first).to_have_text("text 0")
    moved = await bob.evaluate(
        "() => [...document.querySelectorAll('#messages .message')].find("
        "li => li.querySelector('.body').textContent === 'text 30').getBoundingClientRect().top"
    )
    assert abs(moved - top) <= 2, (top, moved)  # text 30 did not move on screen
    await bob.locator("#thread-scroll").evaluate("pane => { pane.scrollTop = 0; }")
    await expect(bob.locator("#history-status")).to_have_text("Beginning of the conversation")
    assert errors == []


async def test_search_says_when_nothing_matches_even_with_a_thread_open(
    app_server: Running, browser: Browser
) -> None:
    _, bob, errors = await agent_page(browser, app_server.url, "bob")
    await row(bob, DANA).click()
    await bob.get_by_label("Search").fill("zebra crossing")
    await expect(bob.locator("#list-empty")).to_have_text(
        "No conversations match “zebra crossing”."
    )
    await expect(bob.locator("#conversations .conversation")).to_have_count(0)
    await expect(bob.locator("#thread-title")).to_contain_text(DANA)  # the thread stays open
    await bob.get_by_label("Search").fill("")
    await expect(bob.locator("#conversations .conversation")).to_have_count(2)
    await expect(bob.locator("#list-empty")).to_be_hidden()
    assert errors == []


async def test_a_long_paste_is_kept_and_the_composer_says_it_is_too_long(
    app_server: Running, browser: Browser
) -> None:
    _, bob, errors = await agent_page(browser, app_server.url, "bob")
    await row(bob, DANA).click()
    reply = bob.get_by_label("Reply", exact=True)
    pasted = "x" * 2000
    await reply.focus()
    await bob.keyboard.insert_text(pasted)  # as a paste does
    await expect(reply).to_have_value(pasted)
    await expect(bob.locator("#counter")).to_contain_text(
        "2000/1600 · 14 SMS (GSM-7) · too long by 400 characters: shorten it to send"
    )
    await expect(bob.get_by_role("button", name="Send", exact=True)).to_be_disabled()
    await reply.press("Enter")
    await expect(reply).to_have_value(pasted)  # nothing sent, nothing lost
    await reply.fill("x" * 1600)
    await expect(bob.get_by_role("button", name="Send", exact=True)).to_be_enabled()
    assert errors == []


async def test_send_is_on_screen_on_a_360_by_740_phone(
    app_server: Running, browser: Browser
) -> None:
    await long_conversation(app_server)
    phone = {"width": 360, "height": 740}
    _, bob, errors = await agent_page(browser, app_server.url, "bob", viewport=phone)
    await row(bob, LONG).click()
    await expect(bob.locator("#messages")).to_contain_text("text 79")
    send = bob.get_by_role("button", name="Send", exact=True)
    await expect(send).to_be_in_viewport()
    box = await send.bounding_box()
    assert box is not None and box["y"] + box["height"] <= phone["height"]
    await expect(bob.get_by_label("Reply", exact=True)).to_be_in_viewport()
    await expect(bob.locator("#messages .message").last).to_be_in_viewport()  # the newest text
    width = await bob.evaluate("document.documentElement.scrollWidth")
    assert width <= phone["width"]
    assert errors == []


async def test_a_user_with_no_inbox_is_told_and_cannot_start_a_conversation(
    app_server: Running, browser: Browser
) -> None:
    await make_user(app_server.settings, "dora")
    _, dora, errors = await agent_page(browser, app_server.url, "dora")
    await expect(dora.get_by_role("button", name="New conversation")).to_have_count(0)
    await expect(dora.get_by_role("button", name="Bulk send")).to_have_count(0)
    await expect(dora.locator("#no-inbox")).to_have_text(
        "You are not a member of any inbox yet. Ask an admin to add you to one."
    )
    await expect(dora.locator("#thread-title")).to_have_text("No inbox yet")
    assert errors == []


async def offline_page(
    server: Running, browser: Browser
) -> tuple[Page, list[str], dict[str, bool], list[WebSocketRoute]]:
    """Bob's page, whose socket and REST writes the test can cut (`online["up"] = False`, then
    close the socket): as when the server goes down."""
    context, bob, errors = await agent_page(browser, server.url, "bob")
    online = {"up": True}
    sockets: list[WebSocketRoute] = []

    async def relay(ws: WebSocketRoute) -> None:
        if online["up"]:
            ws.connect_to_server()
            sockets.append(ws)
        else:
            await ws.close(code=1011, reason="test: server down")

    async def writes(route: Route) -> None:
        if online["up"] or route.request.method != "POST":
            await route.continue_()
        else:
            await route.abort("connectionrefused")

    await context.route_web_socket("**/ws", relay)
    await context.route("**/api/v1/**", writes)
    await bob.reload()
    await bob.locator("#app[data-ready=true]").wait_for(state="attached")
    await row(bob, DANA).click()
    return bob, errors, online, sockets


async def test_a_dropped_connection_is_said_in_the_composer(
    app_server: Running, browser: Browser
) -> None:
    bob, errors, online, sockets = await offline_page(app_server, browser)
    reply = bob.get_by_label("Reply", exact=True)
    await reply.fill("We open at 9.")
    await expect(bob.locator("#lock-status")).to_contain_text("You are replying")
    online["up"] = False
    await sockets[-1].close()
    await expect(bob.locator("#connection")).to_be_visible()
    await expect(bob.locator("#lock-status")).to_have_text(
        "Connection lost: reconnecting… Your draft is kept."
    )
    online["up"] = True
    await expect(bob.locator("#connection")).to_be_hidden()  # back by itself
    await expect(bob.locator("#lock-status")).not_to_contain_text("Connection lost")
    await expect(reply).to_have_value("We open at 9.")
    assert errors == []


async def test_an_unreachable_server_is_said_in_words_and_the_draft_kept(
    app_server: Running, browser: Browser
) -> None:
    bob, errors, online, sockets = await offline_page(app_server, browser)
    reply = bob.get_by_label("Reply", exact=True)
    await reply.fill("We open at 9.")
    online["up"] = False
    await sockets[-1].close()
    await expect(bob.locator("#connection")).to_be_visible()
    await reply.press("Enter")  # over REST, as the socket is down: refused by the network
    await expect(bob.locator("#composer-error")).to_have_text(
        "Not sent: the server could not be reached (it may be restarting, or you are offline)."
        " Your draft is kept: send it again once the connection is back."
    )
    await expect(reply).to_have_value("We open at 9.")

    online["up"] = True  # the server is back: the page reconnects by itself and sends
    await expect(bob.locator("#connection")).to_be_hidden()
    await reply.press("Enter")
    await expect(bob.locator(".message.outbound").last).to_contain_text("We open at 9.")
    await expect(reply).to_have_value("")
    assert errors == []


async def test_an_admin_deletes_a_conversation_after_typing_its_number(
    app_server: Running, browser: Browser
) -> None:
    _, alice, alice_errors = await agent_page(browser, app_server.url, "alice")
    _, bob, bob_errors = await agent_page(browser, app_server.url, "bob")
    await row(bob, DANA).click()
    await expect(bob.get_by_role("button", name="Delete…")).to_have_count(0)  # agents cannot
    await alice.get_by_role("button", name="Front Desk").click()
    await row(alice, DANA).click()
    await alice.get_by_role("button", name="Delete…").click()
    dialog = alice.get_by_role("dialog", name="Delete this conversation?")
    await expect(dialog).to_contain_text(
        f"This deletes the conversation with {DANA} and every text and note in it, for everyone."
        " It cannot be undone."
    )
    confirm = dialog.get_by_label(f"Type {DANA_NUMBER} to confirm")
    delete = dialog.get_by_role("button", name="Delete for good")
    await expect(delete).to_be_disabled()
    await confirm.fill("+15551230002")  # Marcus's number, not this one
    await expect(delete).to_be_disabled()
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(row(alice, DANA)).to_be_visible()  # cancelling deletes nothing

    await alice.get_by_role("button", name="Delete…").click()
    await confirm.fill("(555) 123-0001")
    await delete.click()
    await expect(dialog).to_be_hidden()
    await expect(row(alice, DANA)).to_have_count(0)
    await expect(alice).to_have_url(app_server.url + "/inboxes/1")
    await expect(row(bob, DANA)).to_have_count(0)  # gone for everyone, live
    await expect(bob.locator("#thread-title")).to_have_text(
        "This conversation was moved or deleted"
    )
    await alice.reload()  # the store agrees
    await expect(row(alice, MARCUS)).to_be_visible()
    await expect(row(alice, DANA)).to_have_count(0)
    assert alice_errors == [] and bob_errors == []
