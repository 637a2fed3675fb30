"""Pictures (MMS) in real Chromium with two agents: a picture a customer texts shows as a
thumbnail in both threads and opens large; one bob attaches (button or drop), removes and
attaches again goes to Twilio with a MediaUrl Twilio can fetch, and shows in both threads; a
picture Twilio no longer has and a file Twilio would refuse are said plainly."""

from __future__ import annotations

import asyncio
import base64

import httpx
from playwright.async_api import Browser, FilePayload, Page, expect

from tests.conftest import Running
from tests.helpers import FRONT_DESK, png
from tests.server.test_media import receive
from tests.web.pages import agent_page, screenshot

CUSTOMER = "+15554447777"
PART = png(240, 160, (30, 110, 200))  # what the customer sends
MAP = png(200, 120, (40, 160, 80))  # what bob sends


async def loaded(page: Page, selector: str) -> None:
    """The picture was drawn (a broken image has no natural width)."""
    image = page.locator(selector)
    await expect(image).to_be_visible()
    await image.evaluate("img => img.decode()")
    assert await image.evaluate("img => img.naturalWidth") > 0


def payload(name: str, data: bytes) -> FilePayload:
    return {"name": name, "mimeType": "image/png", "buffer": data}


async def drop(page: Page, name: str, data: bytes, kind: str) -> None:
    """A file dropped on the composer, as a drag from the desktop delivers it."""
    await page.evaluate(
        """([name, b64, kind]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: kind }));
            const target = document.getElementById("composer");
            const options = { dataTransfer: transfer, bubbles: true, cancelable: true };
            for (const type of ["dragover", "drop"]) {
              target.dispatchEvent(new DragEvent(type, options));
            }
        }""",
        [name, base64.b64encode(data).decode(), kind],
    )


async def test_a_picture_received_and_one_sent_through_twilio_with_the_right_media_url(
    app_server: Running, browser: Browser
) -> None:
    _, bob, bob_errors = await agent_page(browser, app_server.url, "bob")
    _, carol, carol_errors = await agent_page(browser, app_server.url, "carol")
    url = app_server.fake.add_media(PART, "image/png")
    await receive(app_server, FRONT_DESK, [url], ["image/png"], CUSTOMER)
    await carol.get_by_role("button", name="Front Desk").click()
    for page in (bob, carol):
        await page.get_by_role("button", name=CUSTOMER).click()
        await expect(page.locator("#messages")).to_contain_text("see attached")
        await loaded(page, ".message.inbound .thumb img")

    await carol.locator(".message.inbound .thumb").click()
    dialog = carol.locator("#picture-dialog")
    await expect(dialog).to_be_visible()
    await loaded(carol, "#picture-large")
    await screenshot(carol, "picture")
    await dialog.get_by_role("button", name="Close").click()
    await expect(dialog).to_be_hidden()

    # Bob attaches by the button, removes it, then drops it on the composer instead.
    await bob.set_input_files("#attach-input", files=[payload("map.png", MAP)])
    attached = bob.locator("#attached li")
    await expect(attached).to_contain_text("map.png")
    await attached.get_by_role("button", name="Remove map.png").click()
    await expect(attached).to_have_count(0)
    await drop(bob, "map.png", MAP, "image/png")
    await expect(attached).to_have_count(1)
    # A file Twilio would refuse is said plainly, and what was attached stays.
    await drop(bob, "page.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml")
    await expect(bob.locator("#composer-error")).to_contain_text("cannot be sent in a text")
    await expect(attached).to_have_count(1)

    reply = bob.get_by_label("Reply", exact=True)
    await reply.fill("Here is the map to us.")
    await reply.press("Enter")
    for page in (bob, carol):
        sent = page.locator(".message.outbound").last
        await expect(sent).to_contain_text("Here is the map to us.")
        await loaded(page, ".message.outbound .thumb img")
    await expect(attached).to_have_count(0)  # sent: the composer is empty again
    await screenshot(carol, "pictures")
    await expect(reply).to_have_value("")

    # Twilio got one MediaUrl, on our public URL, that it can fetch with no session.
    (created,) = await asyncio.to_thread(app_server.fake.wait_for_messages, 1)
    (media_url,) = created["media_urls"]
    assert created["body"] == "Here is the map to us."
    assert media_url.startswith(f"{app_server.url}/media/")
    async with httpx.AsyncClient() as twilio:
        fetched = await twilio.get(media_url)
    assert fetched.status_code == 200 and fetched.content == MAP
    assert bob_errors == [] and carol_errors == []


async def test_pictures_that_cannot_be_had_are_said_plainly_and_the_draft_is_kept(
    app_server: Running, browser: Browser
) -> None:
    _, bob, errors = await agent_page(browser, app_server.url, "bob")
    deleted = app_server.fake.add_media(PART, "image/png")
    app_server.fake.media.clear()  # Twilio no longer has it
    await receive(app_server, FRONT_DESK, [deleted], ["image/png"], CUSTOMER)
    await bob.get_by_role("button", name=CUSTOMER).click()
    await expect(bob.locator(".message.inbound .media-missing")).to_contain_text(
        "Picture unavailable"
    )
    await bob.reload()  # now known to be gone
    await bob.get_by_role("button", name=CUSTOMER).click()
    await expect(bob.locator(".message.inbound .media-missing")).to_contain_text(
        "Twilio no longer has it"
    )

    reply = bob.get_by_label("Reply", exact=True)
    await reply.fill("Could you send it again?")
    too_big = png(8, 8) + b"\0" * 5_000_001
    await bob.set_input_files("#attach-input", files=[payload("huge.png", too_big)])
    await expect(bob.locator("#composer-error")).to_contain_text("at most 5 MB")
    await expect(bob.locator("#attached li")).to_have_count(0)
    await expect(reply).to_have_value("Could you send it again?")
    assert errors == []
