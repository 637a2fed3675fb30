"""Conversation locks in the browser, two agents in two contexts: focusing the composer claims
the conversation, the other agent's composer says who is replying and is disabled, and is
enabled again the moment the lock frees; the idle prompt; the supervisor board's force release.
These need the lock API of the `locks` branch (issue 4)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Route, WebSocketRoute, expect

from tests.conftest import Running, running
from tests.fake_twilio import FakeTwilio
from tests.faults.parts import PrivateRedis
from tests.helpers import EVENT_WAIT_SECS, FRONT_DESK
from tests.web.conftest import GRACE_SECS, IDLE_AFTER_SECS
from tests.web.pages import agent_page, screenshot

CUSTOMER = "+15554442222"
# The prompt and the release come from the server's sweeper, which backs off after a Redis
# hiccup; a loaded machine needs slack. Waits end as soon as the page shows the change.
LOCK_WAIT_MS = (IDLE_AFTER_SECS + GRACE_SECS + 15) * 1000


async def open_customer(page: Page, front_desk: bool = False) -> None:
    if front_desk:
        await page.get_by_role("button", name="Front Desk").click()
    await page.get_by_role("button", name=CUSTOMER).click()
    await expect(page.locator("#messages")).to_contain_text("Can I move my appointment?")


async def test_composer_shows_who_is_replying_and_frees_when_the_lock_does(
    app_server: Running, browser: Browser
) -> None:
    _, bob, bob_errors = await agent_page(browser, app_server.url, "bob")
    _, carol, carol_errors = await agent_page(browser, app_server.url, "carol")
    await app_server.twilio.inbound(FRONT_DESK, CUSTOMER, "Can I move my appointment?")
    await open_customer(bob)
    await open_customer(carol, front_desk=True)
    await expect(carol.locator("#thread-presence")).to_have_text("Also here: Bob")

    await bob.get_by_label("Reply", exact=True).focus()
    await expect(bob.locator("#lock-status")).to_contain_text("You are replying")
    carol_reply = carol.get_by_label("Reply", exact=True)
    await expect(carol.locator("#lock-status")).to_have_text("Bob is replying…")
    await expect(carol_reply).to_be_disabled()
    await expect(carol.get_by_role("button", name="Send", exact=True)).to_be_disabled()
    carol_row = carol.locator("#conversations .conversation", has_text=CUSTOMER)
    await expect(carol_row.locator(".marker.lock")).to_have_text("Bob is replying")
    await screenshot(carol, "locked-composer")

    await bob.get_by_label("Reply", exact=True).fill("Sure, Thursday at 10?")
    await bob.get_by_label("Reply", exact=True).press("Enter")
    for page in (bob, carol):
        sent = page.locator(".message.outbound").last
        await expect(sent).to_contain_text("Sure, Thursday at 10?")
        await expect(sent).to_contain_text("Bob Agent")
    await expect(carol_reply).to_be_disabled()  # Bob still holds it after sending

    # Bob moves to another conversation: his lock goes, and Carol can reply at once.
    await bob.locator("#conversations .conversation", has_text="Dana Whitfield").click()
    await expect(carol_reply).to_be_enabled()
    await expect(carol.locator("#lock-status")).to_have_text("")
    await expect(carol_row.locator(".marker.lock")).to_have_count(0)

    # Now Carol claims it, and Bob's composer is the one that waits.
    await carol_reply.focus()
    await open_customer(bob)
    await expect(bob.locator("#lock-status")).to_have_text("Carol is replying…")
    await expect(bob.get_by_label("Reply", exact=True)).to_be_disabled()
    assert bob_errors == [] and carol_errors == []


async def test_idle_prompt_counts_down_and_an_ignored_prompt_frees_the_conversation(
    idle_server: Running, browser: Browser
) -> None:
    _, bob, bob_errors = await agent_page(browser, idle_server.url, "bob")
    _, carol, carol_errors = await agent_page(browser, idle_server.url, "carol")
    await idle_server.twilio.inbound(FRONT_DESK, CUSTOMER, "Can I move my appointment?")
    await open_customer(bob)
    await open_customer(carol, front_desk=True)

    bob_reply = bob.get_by_label("Reply", exact=True)
    await bob_reply.fill("Let me check the calendar and")
    await expect(carol.locator("#lock-status")).to_have_text("Bob is replying…")

    dialog = bob.get_by_role("dialog", name="Are you still working on this reply?")
    await expect(dialog).to_be_visible(timeout=LOCK_WAIT_MS)
    await expect(dialog.locator("#idle-countdown")).to_contain_text("second")
    await screenshot(bob, "idle-prompt")

    # "Yes" keeps the lock: Carol still waits.
    await dialog.get_by_role("button", name="Yes, keep it").click()
    await expect(dialog).to_be_hidden()
    await expect(carol.get_by_label("Reply", exact=True)).to_be_disabled()

    # Asked again, Bob ignores it: the lock is released, Carol can reply, Bob keeps his draft.
    await expect(dialog).to_be_visible(timeout=LOCK_WAIT_MS)
    await expect(carol.get_by_label("Reply", exact=True)).to_be_enabled(timeout=LOCK_WAIT_MS)
    await expect(dialog).to_be_hidden()
    await expect(bob.locator("#composer-error")).to_have_text(
        "You were idle, so your claim on this conversation was released. Your draft is kept."
    )
    await expect(bob_reply).to_have_value("Let me check the calendar and")
    assert bob_errors == [] and carol_errors == []


async def test_an_idle_agent_stays_released_until_they_act_again(
    idle_server: Running, browser: Browser
) -> None:
    """The closing idle prompt hands the focus back to the composer; that is not the agent
    asking for the conversation again, so the lock stays released until they type."""
    _, bob, bob_errors = await agent_page(browser, idle_server.url, "bob")
    _, carol, carol_errors = await agent_page(browser, idle_server.url, "carol")
    told: list[dict[str, Any]] = []  # every lock event Carol's page is told, in order

    def record(frame: str | bytes) -> None:
        event = json.loads(frame)
        if str(event.get("type", "")).startswith("lock."):
            told.append(event)

    carol.on("websocket", lambda ws: ws.on("framereceived", record))
    await carol.reload()
    await carol.locator("#app[data-ready=true]").wait_for(state="attached")
    await idle_server.twilio.inbound(FRONT_DESK, CUSTOMER, "Can I move my appointment?")
    await open_customer(bob)
    await open_customer(carol, front_desk=True)
    bob_reply = bob.get_by_label("Reply", exact=True)
    carol_reply = carol.get_by_label("Reply", exact=True)
    await bob_reply.fill("Let me check the calendar and")
    await expect(carol_reply).to_be_disabled()

    prompt = "Are you still working on this reply?"
    bob_dialog = bob.get_by_role("dialog", name=prompt)
    await expect(bob_dialog).to_be_visible(timeout=LOCK_WAIT_MS)
    await expect(carol_reply).to_be_enabled(timeout=LOCK_WAIT_MS)  # Bob ignored it
    await expect(bob_dialog).to_be_hidden()
    await expect(bob_reply).to_be_focused()
    idle = "You were idle, so your claim on this conversation was released. Your draft is kept."
    await expect(bob.locator("#composer-error")).to_have_text(idle)

    # Carol claims another conversation; her own prompt comes a full idle period later.
    await carol.locator("#conversations .conversation", has_text="Dana Whitfield").click()
    await carol_reply.fill("Checking")
    await expect(carol.get_by_role("dialog", name=prompt)).to_be_visible(timeout=LOCK_WAIT_MS)
    bobs = [
        (e["type"], e["data"].get("reason"))
        for e in told
        if e["data"].get("holder", {}).get("name") == "Bob Agent"
    ]
    # The inbox (the supervisor board) is told of the prompt, then of the release it ended in.
    assert bobs == [("lock.acquired", None), ("lock.prompted", None), ("lock.released", "idle")]
    answer = await carol.request.get(idle_server.url + "/api/v1/locks")
    holders = [item["holder"]["name"] for item in (await answer.json())["items"]]
    assert holders == ["Carol Supervisor"]
    await expect(bob_dialog).to_be_hidden()
    await expect(bob.locator("#composer-error")).to_have_text(idle)
    await expect(bob.locator("#lock-status")).to_have_text("")

    await bob_reply.press_sequentially(" Thursday")  # acting again claims it
    await expect(bob.locator("#lock-status")).to_contain_text("You are replying")
    assert bob_errors == [] and carol_errors == []


async def test_supervisor_board_shows_agents_and_force_releases_a_lock(
    app_server: Running, browser: Browser
) -> None:
    _, bob, bob_errors = await agent_page(browser, app_server.url, "bob")
    _, carol, carol_errors = await agent_page(browser, app_server.url, "carol")
    await carol.goto(app_server.url + "/board")
    await expect(carol.get_by_role("heading", name="Supervisor board")).to_be_visible()
    await carol.locator("#board[data-ready=true]").wait_for(state="attached")

    await app_server.twilio.inbound(FRONT_DESK, CUSTOMER, "Can I move my appointment?")
    await open_customer(bob)
    bob_row = carol.locator("#agents tbody tr", has_text="Bob Agent")
    await expect(bob_row).to_contain_text("online")
    await expect(bob_row).to_contain_text(CUSTOMER)  # what he is viewing, live
    await expect(carol.locator("#agents tbody tr", has_text="Carol Supervisor")).to_contain_text(
        "online"
    )

    await bob.get_by_label("Reply", exact=True).fill("Half-written answer")
    lock_row = carol.locator("#locks tbody tr", has_text=CUSTOMER)
    await expect(lock_row).to_contain_text("Bob Agent")
    await expect(bob_row.locator("td").nth(3)).to_contain_text(CUSTOMER)  # holding
    await screenshot(carol, "board")

    await lock_row.get_by_role("button", name="Force release").click()
    await expect(carol.locator("#locks tbody")).to_contain_text("No conversation is locked.")
    await expect(bob.locator("#composer-error")).to_have_text(
        "A supervisor released your claim on this conversation. Your draft is kept."
    )
    await expect(bob.get_by_label("Reply", exact=True)).to_have_value("Half-written answer")
    assert bob_errors == [] and carol_errors == []


async def test_agents_get_a_403_page_for_the_board(app_server: Running, browser: Browser) -> None:
    _, bob, _ = await agent_page(browser, app_server.url, "bob")
    await expect(bob.get_by_role("link", name="Board", exact=True)).to_have_count(0)
    response = await bob.goto(app_server.url + "/board")
    assert response is not None and response.status == 403
    await expect(bob.get_by_role("heading", name="Not allowed")).to_be_visible()


async def test_a_refused_send_says_why_and_keeps_the_draft(
    app_server: Running, browser: Browser
) -> None:
    """Carol's socket is down, so she never heard Bob take the conversation; her send goes
    over REST, is refused with 409 `locked`, and the page says who holds it."""
    _, bob, bob_errors = await agent_page(browser, app_server.url, "bob")
    carol_context, carol, carol_errors = await agent_page(browser, app_server.url, "carol")
    online = {"allowed": True}
    sockets: list[WebSocketRoute] = []

    async def relay(ws: WebSocketRoute) -> None:
        if online["allowed"]:
            ws.connect_to_server()
            sockets.append(ws)
        else:
            await ws.close(code=1011, reason="test: offline")

    await carol_context.route_web_socket("**/ws", relay)
    await carol.reload()
    await carol.locator("#app[data-ready=true]").wait_for(state="attached")
    await app_server.twilio.inbound(FRONT_DESK, CUSTOMER, "Can I move my appointment?")
    await open_customer(bob)
    await open_customer(carol, front_desk=True)

    online["allowed"] = False
    await sockets[-1].close()
    await expect(carol.locator("#connection")).to_be_visible()
    await bob.get_by_label("Reply", exact=True).focus()
    await expect(bob.locator("#lock-status")).to_contain_text("You are replying")

    carol_reply = carol.get_by_label("Reply", exact=True)
    await carol_reply.fill("I can do Friday.")
    await carol_reply.press("Enter")
    await expect(carol.locator("#composer-error")).to_have_text(
        "Not sent: Bob is replying. Your draft is kept."
    )
    await expect(carol_reply).to_have_value("I can do Friday.")
    await expect(carol_reply).to_be_disabled()
    await expect(carol.locator("#lock-status")).to_have_text("Bob is replying…")

    online["allowed"] = True  # back online: the page reconnects by itself
    await expect(carol.locator("#connection")).to_be_hidden(timeout=20_000)
    assert bob_errors == [] and carol_errors == []


# Feeds events to the page's own modules (ES modules are shared per URL) and reads the composer.
INJECT = """async (events) => {
  const { onLockEvent } = await import("/static/js/composer.js");
  for (const event of events) onLockEvent(event);
  return document.querySelector("#lock-status").textContent;
}"""


async def test_a_lock_event_older_than_what_the_tab_applied_is_ignored(
    app_server: Running, browser: Browser
) -> None:
    """The server acks first and writes lock events after, so two decisions on one conversation
    can arrive in the other order; their `version` says which one the tab must keep."""
    _, bob, bob_errors = await agent_page(browser, app_server.url, "bob")
    await app_server.twilio.inbound(FRONT_DESK, CUSTOMER, "Can I move my appointment?")
    await open_customer(bob)
    await bob.get_by_label("Reply", exact=True).focus()
    await expect(bob.locator("#lock-status")).to_contain_text("You are replying")
    conversation, version, me = await bob.evaluate(
        """async () => {
          const { state } = await import("/static/js/state.js");
          const { lockOf } = await import("/static/js/locks.js");
          const id = state.conversationId;
          return [id, lockOf(id).version, state.me];
        }"""
    )
    assert isinstance(version, int)
    carol = {"id": me["id"] + 1000, "name": "Carol Agent", "kind": "user"}

    def event(type: str, version: int, holder: dict[str, object]) -> dict[str, object]:
        data = {"conversation_id": conversation, "holder": holder, "version": version}
        if type == "lock.released":
            data["reason"] = "expired"
        else:
            data["expires_at"] = "2099-01-01T00:00:00.000Z"
        return {"id": 0, "type": type, "ts": "2099-01-01T00:00:00.000Z", "data": data}

    bob_holder = {"id": me["id"], "name": me["name"], "kind": "user"}
    # A release of an older hold, delivered after the tab applied Bob's newer one: ignored.
    stale = await bob.evaluate(INJECT, [event("lock.released", version - 1, bob_holder)])
    assert stale.startswith("You are replying")
    # Newer decisions apply; then the release of that older hold comes late: ignored.
    newer = [
        event("lock.released", version + 1, bob_holder),
        event("lock.acquired", version + 3, carol),
        event("lock.released", version + 2, carol),
    ]
    assert await bob.evaluate(INJECT, newer) == "Carol is replying…"
    assert bob_errors == []


# Reads the locks the way the page does after a reconnect or a resync, and what the composer says.
LOAD_LOCKS = """async () => {
  const { loadLocks } = await import("/static/js/locks.js");
  await loadLocks();
  return document.querySelector("#lock-status").textContent;
}"""


async def test_a_locks_snapshot_answered_late_does_not_undo_a_newer_lock_event(
    app_server: Running, browser: Browser
) -> None:
    """GET /api/v1/locks is answered after a lock event newer than it: the page keeps what the
    event said, for a lock the snapshot lists (released since) and one it lacks (taken since)."""
    _, bob, bob_errors = await agent_page(browser, app_server.url, "bob")
    _, carol, carol_errors = await agent_page(browser, app_server.url, "carol")
    await app_server.twilio.inbound(FRONT_DESK, CUSTOMER, "Can I move my appointment?")
    await open_customer(bob)
    await open_customer(carol, front_desk=True)
    taken, answer = asyncio.Event(), asyncio.Event()

    async def late(route: Route) -> None:
        response = await route.fetch()  # the server answers now...
        taken.set()
        await answer.wait()  # ...and the page gets it when the test says
        await route.fulfill(response=response)

    await carol.route("**/api/v1/locks", late)
    bob_reply = bob.get_by_label("Reply", exact=True)
    status = carol.locator("#lock-status")

    await bob_reply.focus()
    await expect(status).to_have_text("Bob is replying…")
    snapshot = asyncio.create_task(carol.evaluate(LOAD_LOCKS))  # taken while Bob holds it
    await asyncio.wait_for(taken.wait(), EVENT_WAIT_SECS)
    await bob.locator("#conversations .conversation", has_text="Dana Whitfield").click()
    await expect(status).to_have_text("")  # his release reached Carol first
    answer.set()
    assert await snapshot == ""
    await expect(carol.get_by_label("Reply", exact=True)).to_be_enabled()

    taken.clear()
    answer.clear()
    snapshot = asyncio.create_task(carol.evaluate(LOAD_LOCKS))  # taken while nobody holds it
    await asyncio.wait_for(taken.wait(), EVENT_WAIT_SECS)
    await open_customer(bob)
    await bob_reply.focus()
    await expect(status).to_have_text("Bob is replying…")  # his new hold reached Carol first
    answer.set()
    assert await snapshot == "Bob is replying…"
    await expect(carol.get_by_label("Reply", exact=True)).to_be_disabled()
    assert bob_errors == [] and carol_errors == []


@pytest.fixture
def restartable(
    tmp_path: Path, database_url: str, fake_twilio: tuple[FakeTwilio, str]
) -> Iterator[tuple[Running, PrivateRedis]]:
    """A server on a Redis of its own, which the test restarts empty."""
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    try:
        with running(
            tmp_path / "data", redis.url, fake_twilio, database_url=database_url
        ) as server:
            yield server, redis
    finally:
        redis.kill()


async def _holders(page: Page, url: str) -> list[str] | None:
    """Who holds what, as the board reads it; None for a 503 (right after Redis came back, a
    call may meet a connection of the old server)."""
    answer = await page.request.get(url + "/api/v1/locks")
    if answer.status == 503:
        return None
    return [item["holder"]["name"] for item in (await answer.json())["items"]]


async def test_a_lock_redis_lost_is_claimed_back_by_the_agent_still_writing(
    restartable: tuple[Running, PrivateRedis], browser: Browser
) -> None:
    """Redis restarts empty: Bob, writing (focus and a draft), gets his claim back at once and
    Carol still waits; Alice, whose composer has no draft, is told and claims nothing."""
    server, redis = restartable
    _, bob, bob_errors = await agent_page(browser, server.url, "bob")
    _, carol, carol_errors = await agent_page(browser, server.url, "carol")
    _, alice, alice_errors = await agent_page(browser, server.url, "alice")
    await server.twilio.inbound(FRONT_DESK, CUSTOMER, "Can I move my appointment?")
    await server.twilio.inbound(FRONT_DESK, "+15554443333", "Is the office open?")
    await open_customer(bob)
    await open_customer(carol, front_desk=True)
    await alice.get_by_role("button", name="Front Desk").click()
    await alice.get_by_role("button", name="+15554443333").click()
    bob_reply = bob.get_by_label("Reply", exact=True)
    await bob_reply.fill("Let me check the calendar and")
    alice_reply = alice.get_by_label("Reply", exact=True)
    await alice_reply.focus()
    await expect(alice.locator("#lock-status")).to_contain_text("You are replying")
    await expect(carol.locator("#lock-status")).to_have_text("Bob is replying…")
    assert sorted(await _holders(carol, server.url) or []) == ["Alice Admin", "Bob Agent"]

    redis.kill()
    redis.start()  # empty: both locks are gone

    lost = "The server lost your claim on this conversation (it restarted). Your draft is kept."
    # Noticed within the epoch check (1 s) after Redis answers again; a loaded machine is slower.
    await expect(alice.locator("#composer-error")).to_have_text(lost, timeout=LOCK_WAIT_MS)
    await expect(alice.locator("#lock-status")).to_have_text("")
    async with asyncio.timeout(EVENT_WAIT_SECS):  # bob's page claimed it back by itself
        while await _holders(carol, server.url) != ["Bob Agent"]:
            await asyncio.sleep(0.05)
    await expect(bob.locator("#lock-status")).to_contain_text("You are replying")
    await expect(bob.locator("#composer-error")).to_have_text("")
    await expect(carol.locator("#lock-status")).to_have_text("Bob is replying…")
    await expect(carol.get_by_label("Reply", exact=True)).to_be_disabled()
    await expect(bob_reply).to_have_value("Let me check the calendar and")
    assert bob_errors == [] and carol_errors == [] and alice_errors == []
