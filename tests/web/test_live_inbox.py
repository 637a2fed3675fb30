"""Two agents, bob and carol, in two browser contexts on Front Desk: texts arrive and reorder
live in both lists, replies show in both threads with the sender's name, and the page resyncs
after its socket drops."""

from __future__ import annotations

import asyncio
import json

from playwright.async_api import Browser, Route, WebSocketRoute, expect

from tests.conftest import Running
from tests.helpers import EVENT_WAIT_SECS, FRONT_DESK
from tests.web.pages import agent_page, screenshot

SUNDAY = "Are you open Sunday?"


async def test_inbound_text_appears_live_in_both_lists_and_reorders(
    app_server: Running, browser: Browser
) -> None:
    _, bob, bob_errors = await agent_page(browser, app_server.url, "bob")
    _, carol, carol_errors = await agent_page(browser, app_server.url, "carol")
    for page in (bob, carol):
        await page.get_by_role("button", name="Front Desk").click()
        await expect(page.locator("#conversations li")).to_have_count(2)

    await app_server.twilio.inbound(FRONT_DESK, "+15554443333", "Do you take walk-ins?")
    for page in (bob, carol):
        first = page.locator("#conversations .conversation").first
        await expect(first).to_contain_text("+15554443333")
        await expect(first).to_contain_text("Do you take walk-ins?")  # the preview
        await expect(first).to_have_class("conversation unread")
        await expect(
            page.locator(".inbox-link", has_text="Front Desk").locator(".count")
        ).to_have_text("3")

    # Dana's older conversation gets a new text and moves to the top, in both lists.
    await expect(bob.locator("#conversations .conversation").last).to_contain_text("Dana Whitfield")
    await app_server.twilio.inbound(FRONT_DESK, "+15551230001", "Also, do you validate parking?")
    for page in (bob, carol):
        first = page.locator("#conversations .conversation").first
        await expect(first).to_contain_text("Dana Whitfield")
        await expect(first).to_contain_text("Also, do you validate parking?")
    await expect(bob.locator("#conversations .conversation")).to_have_count(3)

    await bob.locator("#conversations .conversation").first.click()
    await expect(bob.locator("#messages")).to_contain_text("Also, do you validate parking?")
    await screenshot(bob, "inbox")
    assert bob_errors == [] and carol_errors == []


async def test_reply_shows_in_both_threads_with_the_senders_name(
    app_server: Running, browser: Browser
) -> None:
    _, bob, bob_errors = await agent_page(browser, app_server.url, "bob")
    _, carol, carol_errors = await agent_page(browser, app_server.url, "carol")
    await app_server.twilio.inbound(FRONT_DESK, "+15554440000", "Is the pharmacy open?")
    await carol.get_by_role("button", name="Front Desk").click()
    for page in (bob, carol):
        await page.get_by_role("button", name="+15554440000").click()
        await expect(page.locator("#messages")).to_contain_text("Is the pharmacy open?")

    reply = bob.get_by_label("Reply", exact=True)
    await reply.fill("Yes, until 6pm.\nSee you soon.")
    await expect(bob.locator("#counter")).to_contain_text("29/1600 · 1 SMS (GSM-7)")
    await reply.press("Enter")
    for page in (bob, carol):
        sent = page.locator(".message.outbound").last
        await expect(sent).to_contain_text("Yes, until 6pm.")
        await expect(sent).to_contain_text("Bob Agent")
        await expect(sent.locator(".status")).to_have_text(" · queued")
    await expect(reply).to_have_value("")

    # Twilio reports delivery; both threads follow it live, then a failure with its reason.
    (created,) = await asyncio.to_thread(app_server.fake.wait_for_messages, 1)
    callback = str(created["status_callback"]).removeprefix(app_server.url)
    for status in ("sent", "delivered"):
        await app_server.twilio.post(
            callback, {"MessageSid": created["sid"], "MessageStatus": status}
        )
        for page in (bob, carol):
            await expect(page.locator(".message.outbound .status").last).to_have_text(
                f" · {status}"
            )
    await reply.fill("One more thing")
    await reply.press("Enter")
    (_, second) = await asyncio.to_thread(app_server.fake.wait_for_messages, 2)
    failure = {
        "MessageSid": second["sid"],
        "MessageStatus": "failed",
        "ErrorCode": "30003",
        "ErrorMessage": "Unreachable destination handset",
    }
    await app_server.twilio.post(
        str(second["status_callback"]).removeprefix(app_server.url), failure
    )
    for page in (bob, carol):
        await expect(page.locator(".message.outbound .status").last).to_have_text(
            " · failed: Unreachable destination handset"
        )
    assert bob_errors == [] and carol_errors == []


async def test_a_send_warns_only_of_texts_the_agent_had_not_seen(
    app_server: Running, browser: Browser
) -> None:
    """The traffic cop: a reply sent after a text the page had not shown yet says so; a reply
    after nothing new says nothing."""
    context, bob, errors = await agent_page(browser, app_server.url, "bob")
    holding = {"on": False}
    held: list[str | bytes] = []
    arrived = asyncio.Event()
    pages: list[WebSocketRoute] = []

    def relay(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        pages.append(ws)

        def to_page(frame: str | bytes) -> None:
            event = json.loads(frame)
            body = event.get("data", {}).get("message", {}).get("body")
            if holding["on"] and event.get("type") == "message.created" and body == SUNDAY:
                arrived.set()  # the server sent it; the page has not seen it yet
            if holding["on"] and arrived.is_set() and "id" in event:
                held.append(frame)  # it and every event after it, in order; answers pass
            else:
                ws.send(frame)

        server.on_message(to_page)

    await context.route_web_socket("**/ws", relay)
    await bob.reload()
    await bob.locator("#app[data-ready=true]").wait_for(state="attached")
    await app_server.twilio.inbound(FRONT_DESK, "+15554446666", "Is the pharmacy open?")
    await bob.get_by_role("button", name="+15554446666").click()
    await expect(bob.locator("#messages")).to_contain_text("Is the pharmacy open?")
    reply = bob.get_by_label("Reply", exact=True)
    await reply.fill("Yes, until 6pm.")
    await reply.press("Enter")
    await expect(bob.locator(".message.outbound").last).to_contain_text("Yes, until 6pm.")
    await expect(reply).to_have_value("")  # the answer came; the composer said what it had to
    await expect(bob.locator("#composer-error")).to_have_text("")

    holding["on"] = True
    await reply.fill("See you then.")
    await app_server.twilio.inbound(FRONT_DESK, "+15554446666", SUNDAY)
    await asyncio.wait_for(arrived.wait(), EVENT_WAIT_SECS)
    await reply.press("Enter")
    await expect(bob.locator("#composer-error")).to_have_text(
        "Sent — but 1 new message arrived while you were typing."
    )
    holding["on"] = False
    for frame in held:
        pages[-1].send(frame)
    await expect(bob.locator("#messages .message .body")).to_have_text(
        ["Is the pharmacy open?", "Yes, until 6pm.", SUNDAY, "See you then."]
    )
    assert errors == []


async def test_page_resyncs_after_its_socket_drops_with_no_gap_or_duplicate(
    app_server: Running, browser: Browser
) -> None:
    context, bob, errors = await agent_page(browser, app_server.url, "bob")
    sockets: list[WebSocketRoute] = []

    def relay(ws: WebSocketRoute) -> None:
        ws.connect_to_server()
        sockets.append(ws)

    await context.route_web_socket("**/ws", relay)
    await bob.reload()
    await bob.locator("#app[data-ready=true]").wait_for(state="attached")
    assert sockets, "the page's socket goes through the test's relay"
    await app_server.twilio.inbound(FRONT_DESK, "+15554441111", "first")
    row = bob.get_by_role("button", name="+15554441111")
    await row.click()
    await expect(bob.locator("#messages .message")).to_have_count(1)
    await expect(bob.locator("#connection")).to_be_hidden()

    await sockets[-1].close()  # the connection drops
    await expect(bob.locator("#connection")).to_be_visible()
    await expect(bob.locator("#connection")).to_have_text("Reconnecting…")
    await app_server.twilio.inbound(FRONT_DESK, "+15554441111", "second, while offline")
    await app_server.twilio.inbound(FRONT_DESK, "+15554441111", "third, while offline")

    await expect(bob.locator("#connection")).to_be_hidden()  # reconnected by itself
    await expect(bob.locator("#messages .message .body")).to_have_text(
        ["first", "second, while offline", "third, while offline"]
    )
    await app_server.twilio.inbound(FRONT_DESK, "+15554441111", "fourth, live")
    await expect(bob.locator("#messages .message .body")).to_have_text(
        ["first", "second, while offline", "third, while offline", "fourth, live"]
    )
    await asyncio.sleep(0)  # let any stray duplicate land before the final count
    await expect(bob.locator("#messages .message")).to_have_count(4)
    assert errors == []


HIDE = """hidden => {
  Object.defineProperty(document, "hidden", { get: () => hidden, configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


async def test_hidden_tab_counts_new_texts_in_its_title(
    app_server: Running, browser: Browser
) -> None:
    context, bob, errors = await agent_page(browser, app_server.url, "bob")
    await context.grant_permissions(["notifications"], origin=app_server.url)
    await expect(bob).to_have_title("Switchboard")
    await bob.evaluate(HIDE, True)  # as when the agent switches to another tab
    await app_server.twilio.inbound(FRONT_DESK, "+15554445555", "Hello?")
    await app_server.twilio.inbound(FRONT_DESK, "+15554445555", "Anyone there?")
    await expect(bob).to_have_title("(2) Switchboard")
    await bob.evaluate(HIDE, False)
    await expect(bob).to_have_title("Switchboard")
    assert errors == []


async def test_a_failed_count_is_said_not_papered_over(
    app_server: Running, browser: Browser
) -> None:
    context, bob, errors = await agent_page(browser, app_server.url, "bob")

    async def unavailable(route: Route) -> None:
        error = {"code": "unavailable", "message": "Redis is not answering"}
        await route.fulfill(status=503, json={"error": error})

    await context.route("**/api/v1/inboxes/*/counts", unavailable)
    await bob.reload()
    alert = bob.get_by_role("alert").filter(has_text="Could not count")
    await expect(alert).to_contain_text(
        "Could not count the unread texts of Front Desk: Redis is not answering"
    )
    await alert.get_by_role("button", name="Dismiss").click()
    await expect(alert).to_be_hidden()
    assert errors == []
