"""Helpers for browser tests: log in, watch for script errors, save screenshots."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Page, expect

# `make screenshots` sets this to refresh docs/screenshots; otherwise they go to a temp dir,
# so a test run leaves the work tree as it was.
SCREENSHOTS = Path(
    os.environ.get("SWITCHBOARD_SCREENSHOTS") or tempfile.mkdtemp(prefix="switchboard-shots-")
)
DESKTOP = {"width": 1280, "height": 760}


async def log_in(page: Page, base_url: str, username: str) -> None:
    await page.goto(base_url + "/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill("switchboard")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Inboxes")).to_be_visible()


async def agent_page(
    browser: Browser, base_url: str, username: str, **context_options: object
) -> tuple[BrowserContext, Page, list[str]]:
    """A fresh browser context logged in as `username`, and the script errors it logs."""
    options: dict[str, object] = {"viewport": DESKTOP, **context_options}
    context = await browser.new_context(**options)  # type: ignore[arg-type]
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # HTTP error answers the page handles (a 403 or 404 it shows or works around) are logged by
    # Chromium as "Failed to load resource"; script errors are what this list is for.
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    await log_in(page, base_url, username)
    await page.locator("#app[data-ready=true]").wait_for(state="attached")  # the scripts ran
    return context, page, errors


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
