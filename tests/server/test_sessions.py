"""Browser sessions are server-side: logout, a password change and their lifetimes end them at
once, a copied cookie included, and their sockets close with 4401 on every process."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import websockets
from sqlalchemy import delete, update
from sqlmodel import col

from inbox import accounts
from inbox.accounts import hash_token
from inbox.models import LoginSession, Token, User, utcnow
from server.app import create_app
from tests.conftest import Running, make_settings, running
from tests.fake_twilio import FakeTwilio
from tests.helpers import EVENT_WAIT_SECS, Agent, ServerThread, free_port, login, open_store

COOKIE = "switchboard_session"


def copy_of(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another client holding the same cookie (a stolen or copied one)."""
    return httpx.AsyncClient(
        base_url=str(client.base_url),
        headers={"Origin": str(client.base_url).rstrip("/")},
        cookies={COOKIE: client.cookies[COOKIE]},
    )


async def closed_with(agent: Agent) -> int | None:
    async with asyncio.timeout(EVENT_WAIT_SECS):
        await agent.ws.wait_closed()
    return agent.ws.close_code


async def test_logout_ends_the_session_and_a_copied_cookie_with_it(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    stolen = copy_of(bob)
    assert (await stolen.get("/api/v1/me")).status_code == 200
    tab = await Agent.connect(app_server.url, cookies=bob.cookies)
    other = await login(app_server.url, "bob")  # another browser: its session goes on
    other_tab = await Agent.connect(app_server.url, cookies=other.cookies)

    out = await bob.post("/logout")
    assert out.status_code == 303
    assert await closed_with(tab) == 4401
    assert (await stolen.get("/api/v1/me")).status_code == 401
    assert (await stolen.post("/api/v1/conversations", json={"inbox_id": 1})).status_code == 401
    with pytest.raises(websockets.InvalidStatus):
        await Agent.connect(app_server.url, cookies=stolen.cookies)
    assert (await other.get("/api/v1/me")).status_code == 200
    assert (await other_tab.command("ping", {}))["type"] == "pong"
    await other_tab.close()


async def test_password_change_ends_every_other_session(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    laptop = await login(app_server.url, "bob")
    laptop_tab = await Agent.connect(app_server.url, cookies=laptop.cookies)
    wrong = await bob.post("/api/v1/me/password", json={"current": "nope", "new": "longer pass"})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_password"
    short = await bob.post("/api/v1/me/password", json={"current": "switchboard", "new": "x"})
    assert short.status_code == 422 and "new" in short.json()["error"]["message"]
    assert (await laptop.get("/api/v1/me")).status_code == 200  # refusals ended nothing

    changed = await bob.post(
        "/api/v1/me/password", json={"current": "switchboard", "new": "correct horse"}
    )
    assert changed.status_code == 204, changed.text
    assert await closed_with(laptop_tab) == 4401
    assert (await laptop.get("/api/v1/me")).status_code == 401
    assert (await bob.get("/api/v1/me")).status_code == 200  # the session that changed it stays
    await login(app_server.url, "bob", "correct horse")
    async with httpx.AsyncClient(base_url=app_server.url) as client:
        old = await client.post("/login", data={"username": "bob", "password": "switchboard"})
    assert old.status_code == 401


async def test_logout_on_one_process_closes_the_socket_on_another(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    fake, fake_url = fake_twilio
    port_a, port_b = free_port(), free_port()
    data, store = tmp_path / "data", {"database_url": database_url}
    settings_a = make_settings(data, clean_redis, port_a, fake, fake_url, **store)
    settings_b = make_settings(data, clean_redis, port_b, fake, fake_url, **store)
    with (
        ServerThread(create_app(settings_a), port_a) as a,
        ServerThread(create_app(settings_b), port_b) as b,
    ):
        bob = await login(a.url, "bob")
        on_b = await Agent.connect(b.url, cookies=bob.cookies)
        assert (await on_b.command("ping", {}))["type"] == "pong"
        await bob.post("/logout")
        assert await closed_with(on_b) == 4401


async def test_a_socket_whose_session_vanished_is_closed_by_the_sweep(app_server: Running) -> None:
    """The Redis message that closes sockets can be lost; the sweep still closes them."""
    bob = await login(app_server.url, "bob")
    tab = await Agent.connect(app_server.url, cookies=bob.cookies)
    assert (await tab.command("ping", {}))["type"] == "pong"
    async with open_store(app_server.settings.database_url) as db, db.write() as session:
        await session.execute(delete(LoginSession))  # behind the server's back: no message
    assert await closed_with(tab) == 4401


async def test_the_sweep_closes_token_sockets_whose_token_lapsed_and_keeps_the_rest(
    app_server: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tokens deleted, expired, or of a disabled user behind the server's back: the sweep closes
    their sockets (checked a read per chunk of tokens, here two to a chunk) and leaves a live
    token's open."""
    monkeypatch.setattr(accounts, "LOOK_UP_CHUNK", 2)  # the server runs in this process
    async with open_store(app_server.settings.database_url) as db, db.write() as session:
        bob = await accounts.user_by_username(session, "bob")
        carol = await accounts.user_by_username(session, "carol")
        assert bob.id is not None and carol.id is not None
        deleted, (expiring_row, expiring) = (
            await accounts.create_token(session, bob.id, "deleted"),
            await accounts.new_token(session, bob.id, "expiring"),
        )
        live = await accounts.create_token(session, bob.id, "live")
        disabled = await accounts.create_token(session, carol.id, "carol's")
    sockets = {
        name: await Agent.connect(app_server.url, token=token)
        for name, token in [
            ("deleted", deleted), ("expiring", expiring), ("live", live), ("disabled", disabled)
        ]
    }  # fmt: skip
    for agent in sockets.values():
        assert (await agent.command("ping", {}))["type"] == "pong"
    async with open_store(app_server.settings.database_url) as db, db.write() as session:
        await session.execute(delete(Token).where(col(Token.token_hash) == hash_token(deleted)))
        await session.execute(
            update(Token)
            .where(col(Token.id) == expiring_row.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.execute(
            update(User).where(col(User.id) == carol.id).values(disabled_at=utcnow())
        )
    for name in ("deleted", "expiring", "disabled"):
        assert await closed_with(sockets[name]) == 4401, name
    assert (await sockets["live"].command("ping", {}))["type"] == "pong"
    await sockets["live"].close()


async def test_sessions_lapse_when_idle_and_when_old(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    second = 1 / 86400  # settings are in days
    with running(
        tmp_path / "idle",
        clean_redis,
        fake_twilio,
        database_url=database_url,
        session_idle_days=2 * second,
    ) as server:
        bob = await login(server.url, "bob")
        assert (await bob.get("/api/v1/me")).status_code == 200
        # Unused for longer than the idle lifetime (time passing is the event here: any
        # request in between would count as use), then the cookie opens nothing.
        await asyncio.sleep(3 * second * 86400)
        assert (await bob.get("/api/v1/me")).status_code == 401
    with running(
        tmp_path / "old",
        clean_redis,
        fake_twilio,
        database_url=database_url,
        session_max_days=3 * second,
    ) as server:
        bob = await login(server.url, "bob")
        tab = await Agent.connect(server.url, cookies=bob.cookies)
        async with asyncio.timeout(EVENT_WAIT_SECS):  # in use all along, and still ended at 3 s
            while (await bob.get("/api/v1/me")).status_code == 200:
                await asyncio.sleep(0.1)
        assert await closed_with(tab) == 4401


async def test_the_cookie_is_httponly_lax_and_secure_behind_https(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    with running(tmp_path / "http", clean_redis, fake_twilio, database_url=database_url) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            plain = await client.post("/login", data={"username": "bob", "password": "switchboard"})
    with running(
        tmp_path / "https",
        clean_redis,
        fake_twilio,
        database_url=database_url,
        public_url="https://sms.example.org",
    ) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            secure = await client.post(
                "/login", data={"username": "bob", "password": "switchboard"}
            )
    for response in (plain, secure):
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        value = cookie.split(";")[0].split("=", 1)[1]
        assert len(value) >= 40 and "uid" not in value  # a random id, not a signed blob
    assert "secure" not in plain.headers["set-cookie"].lower()
    assert "secure" in secure.headers["set-cookie"].lower()
