"""Password guessing: failed logins are throttled per username and per address (429 with
`Retry-After`, a delay that grows), bad tokens per address; other users log in as before; and
argon2 runs on a bounded pool of threads, never on the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from inbox import accounts
from tests.conftest import Running, running
from tests.fake_twilio import FakeTwilio
from tests.helpers import DEMO_PASSWORD, Agent, login, open_store

OTHER_ADDRESS = "127.0.0.2"  # loopback too: a second client machine, as the server sees it


# A hang guard: 16 argon2 verifications at low priority take seconds on a loaded machine.
ANSWER_WAIT_SECS = 60.0


def client(url: str, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(
        base_url=url, transport=transport, headers={"Origin": url}, timeout=ANSWER_WAIT_SECS
    )


async def attempt(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await http.post("/login", data={"username": username, "password": password})


@pytest.fixture
def strict(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> Iterator[Running]:
    rules = {
        "login_user_failures": 3,
        "login_address_failures": 6,
        "token_address_failures": 3,
        "login_delay_secs": 3.0,  # longer than the second a refused attempt is held
    }
    with running(
        tmp_path / "data", clean_redis, fake_twilio, database_url=database_url, **rules
    ) as server:
        yield server


async def test_a_guessed_username_is_refused_for_longer_each_time(strict: Running) -> None:
    async with client(strict.url) as attacker, client(strict.url, OTHER_ADDRESS) as elsewhere:
        for _ in range(4):  # three free failures, then the fourth starts the delay
            assert (await attempt(attacker, "bob", "guess")).status_code == 401
        refused = await attempt(attacker, "bob", DEMO_PASSWORD)  # even the right one, for now
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "3"
        assert "Too many attempts" in refused.text
        # From another machine too: the username itself is being guessed.
        assert (await attempt(elsewhere, "bob", DEMO_PASSWORD)).status_code == 429
        # Alice, from the attacker's own address, is not bob: she logs in.
        assert (await attempt(attacker, "alice", DEMO_PASSWORD)).status_code == 303

        await asyncio.sleep(3.0)  # the delay passing is the event: Retry-After said 3 s
        assert (await attempt(attacker, "bob", "guess")).status_code == 401
        longer = await attempt(attacker, "bob", "guess")
        assert longer.status_code == 429
        assert longer.headers["retry-after"] == "6"  # doubled


async def test_one_address_guessing_many_usernames_is_refused(strict: Running) -> None:
    async with client(strict.url) as attacker, client(strict.url, OTHER_ADDRESS) as elsewhere:
        for i in range(7):
            assert (await attempt(attacker, f"user{i}", "guess")).status_code == 401
        assert (await attempt(attacker, "carol", DEMO_PASSWORD)).status_code == 429
        assert (await attempt(elsewhere, "carol", DEMO_PASSWORD)).status_code == 303


async def test_bad_tokens_are_throttled_per_address(strict: Running) -> None:
    bob = await login(strict.url, "bob")
    token = await _token(strict)
    async with client(strict.url) as attacker, client(strict.url, OTHER_ADDRESS) as elsewhere:
        for i in range(4):
            bad = await attacker.get("/api/v1/me", headers={"Authorization": f"Bearer sb_{i}"})
            assert bad.status_code == 401
        throttled = await attacker.get("/api/v1/me", headers={"Authorization": "Bearer sb_x"})
        assert throttled.status_code == 429
        assert throttled.json()["error"]["code"] == "rate_limited"
        assert int(throttled.headers["retry-after"]) >= 1
        good = await elsewhere.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert good.status_code == 200
    assert (await bob.get("/api/v1/me")).status_code == 200  # cookies are not tokens


async def _token(server: Running) -> str:
    async with open_store(server.settings.database_url) as db, db.write() as session:
        user = await accounts.user_by_username(session, "bob")
        assert user.id is not None
        return await accounts.create_token(session, user.id, "test")


@pytest.fixture
async def lenient(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> AsyncIterator[Running]:
    with running(
        tmp_path / "data",
        clean_redis,
        fake_twilio,
        database_url=database_url,
        login_address_failures=10_000,
    ) as server:
        yield server


async def test_a_login_flood_is_bounded_and_the_socket_answers(lenient: Running) -> None:
    bob = await login(lenient.url, "bob")
    tab = await Agent.connect(lenient.url, cookies=bob.cookies)
    async with client(lenient.url) as attacker:
        flood = [asyncio.create_task(attempt(attacker, f"ghost{i}", "guess")) for i in range(40)]
        assert (await tab.command("ping", {}))["type"] == "pong"
        answers = [r.status_code for r in await asyncio.gather(*flood)]
    assert set(answers) <= {401, 429}
    # More than 16 at once: the rest were refused as busy at once instead of queueing.
    assert 429 in answers
    # They ran on the password threads, not on the loop that answers sockets.
    assert any(t.name.startswith("argon2") for t in threading.enumerate())
    await tab.close()
