"""The supervisor board, live end to end in real Chromium: two agents and a supervisor. Every
lock and presence change a supervisor should see arrives as an event (the page no longer
polls): status and since when, viewing, holding, the idle prompt pending, confirmed and
expired, the assigned and unanswered counts, the last reply, and each inbox's queue with its
oldest wait and what is past the first-response target (flagged by the page's clock, also in
the agents' list)."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Browser, Page, expect

from tests.conftest import Running
from tests.helpers import FRONT_DESK, login
from tests.server.test_reports import seed_week
from tests.web.conftest import GRACE_SECS, IDLE_AFTER_SECS
from tests.web.pages import agent_page, screenshot

DANA, MARCUS = "Dana Whitfield", "Marcus Lee"  # the demo's Front Desk conversations, waiting
CUSTOMER = "+15554443333"
WAIT_MS = (IDLE_AFTER_SECS + GRACE_SECS + 15) * 1000  # the sweeper's prompt and release
# Short enough to pass during the test, long enough for the page to show it not passed first.
SLA_MINUTES = 0.1  # 6 s


async def second_agent(alice: httpx.AsyncClient) -> None:
    """Dave, an agent of Front Desk beside Bob."""
    made = await alice.post(
        "/api/v1/users",
        json={"username": "dave", "name": "Dave Agent", "role": "agent", "password": "switchboard"},
    )
    assert made.status_code == 201, made.text
    members = await alice.get("/api/v1/inboxes/1/members")
    ids = [*members.json()["user_ids"], made.json()["id"]]
    assert (await alice.put("/api/v1/inboxes/1/members", json={"user_ids": ids})).is_success


async def open_row(page: Page, name: str) -> None:
    await page.locator("#conversations .conversation", has_text=name).click()


async def test_the_board_follows_every_lock_presence_and_queue_change_without_polling(
    idle_server: Running, browser: Browser
) -> None:
    alice = await login(idle_server.url, "alice")
    await second_agent(alice)
    _, carol, carol_errors = await agent_page(browser, idle_server.url, "carol")
    requests: list[str] = []
    carol.on("request", lambda r: requests.append(r.url))
    await carol.goto(idle_server.url + "/board")
    await carol.locator("#board[data-ready=true]").wait_for(state="attached")
    front = carol.locator("#queues tbody tr", has_text="Front Desk")
    await expect(front.locator("td").nth(0)).to_have_text("2")  # Dana and Marcus wait

    _, bob, bob_errors = await agent_page(browser, idle_server.url, "bob")
    dave_context, dave, dave_errors = await agent_page(browser, idle_server.url, "dave")
    bob_row = carol.locator("#agents tbody tr", has_text="Bob Agent")
    dave_row = carol.locator("#agents tbody tr", has_text="Dave Agent")
    await expect(bob_row.locator("td").nth(0)).to_have_text("online")
    await expect(dave_row.locator("td").nth(0)).to_have_text("online")
    await expect(dave_row.locator("td").nth(1)).not_to_have_text("—")  # online since

    # A new text joins the queue at once.
    await idle_server.twilio.inbound(FRONT_DESK, CUSTOMER, "Is parking free?")
    await expect(front.locator("td").nth(0)).to_have_text("3")

    # Bob takes Dana: viewing, holding; idle, he is prompted and says he is still working.
    await open_row(bob, DANA)
    await expect(bob_row.locator("td").nth(2)).to_contain_text(DANA)  # viewing
    await bob.get_by_label("Reply", exact=True).fill("Yes, from 9 to")
    await expect(bob_row.locator("td").nth(3)).to_contain_text(DANA)  # holding
    dana_lock = carol.locator("#locks tbody tr", has_text=DANA)
    await expect(dana_lock.locator("td").nth(3)).to_have_text("pending", timeout=WAIT_MS)
    await expect(bob_row.locator("td").nth(5)).to_have_text("pending")
    await screenshot(carol, "board-live")
    await bob.get_by_role("button", name="Yes, keep it").click()
    await expect(dana_lock.locator("td").nth(3)).to_have_text("—")
    await expect(bob_row.locator("td").nth(5)).to_have_text("—")
    # His reply answers Dana: the queue shrinks and his last reply is now.
    await bob.get_by_label("Reply", exact=True).fill("Yes, from 9 to 5 on Saturdays.")
    await bob.get_by_label("Reply", exact=True).press("Enter")
    await expect(front.locator("td").nth(0)).to_have_text("2")
    await expect(bob_row.locator("td").nth(8)).to_have_text(re.compile(r"^\d+s$"))  # seconds ago

    # Dave takes Marcus and ignores the prompt: pending, then released as idle.
    await open_row(dave, MARCUS)
    await dave.get_by_label("Reply", exact=True).fill("Sure, no")
    marcus_lock = carol.locator("#locks tbody tr", has_text=MARCUS)
    await expect(marcus_lock.locator("td").nth(3)).to_have_text("pending", timeout=WAIT_MS)
    await expect(marcus_lock).to_have_count(0, timeout=WAIT_MS)
    await expect(dave_row.locator("td").nth(3)).to_have_text("—")

    # Assigned to Dave, Marcus counts as his, and unanswered.
    conversations = (await alice.get("/api/v1/inboxes/1/conversations")).json()["items"]
    (marcus,) = [c for c in conversations if (c["contact"] or {}).get("name") == MARCUS]
    dave_id = next(
        u["id"]
        for u in (await alice.get("/api/v1/users")).json()["items"]
        if u["username"] == "dave"
    )
    assigned = await alice.post(
        f"/api/v1/conversations/{marcus['id']}/assign", json={"user_id": dave_id}
    )
    assert assigned.status_code == 200, assigned.text
    await expect(dave_row.locator("td").nth(6)).to_have_text("1")  # assigned
    await expect(dave_row.locator("td").nth(7)).to_have_text("1")  # unanswered

    # A first-response target: the waiting conversations pass it by the page's clock.
    await expect(front.locator("td").nth(2)).to_have_text("—")
    target = await alice.patch("/api/v1/inboxes/1", json={"sla_minutes": SLA_MINUTES})
    assert target.status_code == 200, target.text
    # Marcus and the parking question have waited longer than 6 s by now.
    await expect(front.locator("td").nth(2)).to_have_text("2")
    await dave.reload()  # the agents' list reads the target with the page
    await dave.locator("#app[data-ready=true]").wait_for(state="attached")
    late_row = dave.locator("#conversations .conversation", has_text=CUSTOMER)
    await expect(late_row.locator(".marker.late")).to_have_text("Past response target")

    # Dave closes his tab: offline.
    await dave_context.close()
    await expect(dave_row.locator("td").nth(0)).to_have_text("offline")
    polled = [u for u in requests if u.endswith("/api/v1/locks")]
    assert len(polled) <= 1, polled  # read once when the board opened, never again
    assert carol_errors == [] and bob_errors == [] and dave_errors == []


async def test_a_conversation_is_flagged_the_moment_it_passes_the_target_without_a_reload(
    app_server: Running, browser: Browser
) -> None:
    alice = await login(app_server.url, "alice")
    target = await alice.patch("/api/v1/inboxes/1", json={"sla_minutes": SLA_MINUTES})
    assert target.status_code == 200, target.text
    _, bob, bob_errors = await agent_page(browser, app_server.url, "bob")
    await app_server.twilio.inbound(FRONT_DESK, CUSTOMER, "Are you open today?")
    row = bob.locator("#conversations .conversation", has_text=CUSTOMER)
    await expect(row).to_be_visible()
    await expect(row.locator(".marker.late")).to_have_count(0)  # just arrived
    await expect(row.locator(".marker.late")).to_have_text(
        "Past response target", timeout=SLA_MINUTES * 60_000 + 10_000
    )
    # Answered: no longer waiting, no longer flagged.
    await row.click()
    await bob.get_by_label("Reply", exact=True).fill("We are, until 5.")
    await bob.get_by_label("Reply", exact=True).press("Enter")
    await expect(row.locator(".marker.late")).to_have_count(0)
    assert bob_errors == []


async def test_the_reports_page_draws_its_charts_and_offers_the_csv(
    app_server: Running, browser: Browser
) -> None:
    await seed_week(app_server.settings.database_url)
    _, carol, carol_errors = await agent_page(browser, app_server.url, "carol")
    await carol.get_by_role("link", name="Reports").click()
    await carol.get_by_label("From", exact=True).fill("2026-11-02")
    await carol.get_by_label("To", exact=True).fill("2026-11-09")
    await carol.get_by_role("button", name="Show").click()
    totals = carol.locator("#report-totals tbody tr", has_text="Front Desk")
    await expect(totals.locator("td").nth(0)).to_have_text("6")  # texts in
    await expect(totals.locator("td").nth(7)).to_have_text("1")  # past target
    # Three days with texts: an in and an out bar each, drawn by the page (no library).
    await expect(carol.locator("#texts-chart svg rect")).to_have_count(6)
    await expect(carol.locator("#times-chart svg rect")).to_have_count(3)
    csv_link = carol.get_by_role("link", name="Download CSV")
    assert "from=2026-11-02" in (await csv_link.get_attribute("href") or "")
    async with carol.expect_download() as download:
        await csv_link.click()
    saved = await (await download.value).path()
    assert saved.read_text().splitlines()[-1].startswith("total,1,Front Desk,6,6,7,3,1,1,")
    await screenshot(carol, "reports")
    assert carol_errors == []
