"""`make run`'s sandbox provider shows the whole number lifecycle with no Twilio: invented
numbers to search and buy (212 has none), a release, and a registration that walks from
pending to registered on the sandbox's clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.app import create_app
from server.config import Settings
from tests.conftest import make_settings
from tests.helpers import ServerThread, free_port, login
from tests.server.test_registration import BODY, new_team


@pytest.fixture
async def sandbox(
    tmp_path: Path, database_url: str, clean_redis: str
) -> AsyncIterator[tuple[str, Settings]]:
    port = free_port()
    settings = make_settings(
        tmp_path / "data", clean_redis, port, None, None, database_url=database_url,
        sandbox_review_secs=1.0, registration_poll_secs=0.2,
    )  # fmt: skip
    with ServerThread(create_app(settings), port) as server:
        yield server.url, settings


async def test_the_sandbox_sells_invented_numbers_and_walks_a_registration(
    sandbox: tuple[str, Settings],
) -> None:
    url, settings = sandbox
    alice = await login(url, "alice")
    offered = (await alice.get("/api/v1/phone-numbers/available?area_code=415")).json()["items"]
    assert offered and all(n["phone_number"].startswith("+1415555") for n in offered)
    none = await alice.get("/api/v1/phone-numbers/available?area_code=212")
    assert none.json()["items"] == []
    bought = await alice.post("/api/v1/phone-numbers", json={"area_code": "415", "name": "SF"})
    assert bought.status_code == 201, bought.text
    number = bought.json()
    again = (await alice.get("/api/v1/phone-numbers/available?area_code=415")).json()["items"]
    assert number["phone_number"] not in [n["phone_number"] for n in again]
    released = await alice.request(
        "DELETE", f"/api/v1/phone-numbers/{number['id']}", json={"confirm": "DELETE"}
    )
    assert released.status_code == 200 and released.json()["released"]

    await new_team(settings)
    zed = await login(url, "zed")
    mine = await zed.post("/api/v1/phone-numbers", json={"area_code": "312"})
    assert mine.status_code == 201 and mine.json()["registration"] == "unregistered"
    assert (await zed.post("/api/v1/registration", json=BODY)).json()["state"] == "pending"
    async with asyncio.timeout(20):  # a hang guard: the sandbox's review takes a second
        while (await zed.get("/api/v1/registration")).json()["state"] != "registered":
            await asyncio.sleep(0.1)
    items = (await zed.get("/api/v1/phone-numbers")).json()["items"]
    async with asyncio.timeout(20):
        while items[0]["registration"] != "registered":
            await asyncio.sleep(0.1)
            items = (await zed.get("/api/v1/phone-numbers")).json()["items"]
