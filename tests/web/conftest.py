"""Real headless Chromium (Debian's package) driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.conftest import Running, running
from tests.fake_twilio import FakeTwilio

CHROMIUM = os.environ.get("SWITCHBOARD_CHROMIUM", "/usr/bin/chromium")
# Without these, Chromium keeps trying to reach Google's services, which this network refuses.
# Small enough to keep the test quick, large enough for a browser to show the prompt first.
IDLE_AFTER_SECS = 1.5
GRACE_SECS = 2.5
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        await browser.close()


@pytest.fixture
async def idle_server(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> AsyncIterator[Running]:
    """A server that prompts an idle lock holder soon and releases the lock soon after."""
    timings = {"lock_idle_after_secs": IDLE_AFTER_SECS, "lock_grace_secs": GRACE_SECS}
    with running(
        tmp_path / "data", clean_redis, fake_twilio, database_url=database_url, **timings
    ) as server:
        yield server
