"""API tokens as an admin makes them (DESIGN.md, "Admin"): for a person or a bot user, named,
optionally expiring, shown once; revoking one closes its sockets at once, and a token that
expires or is revoked behind the server's back has its sockets closed by the sweep."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import websockets
from sqlalchemy import update

from inbox.models import Token
from tests.conftest import Running
from tests.helpers import EVENT_WAIT_SECS, Agent, login, open_store, snapshot_store

BOB = 3


async def closed_with(agent: Agent) -> int | None:
    await agent.ws.wait_closed()
    return agent.ws.close_code


def program(server: Running, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"})


async def test_a_token_is_made_for_a_bot_shown_once_and_revoked(app_server: Running) -> None:
    alice = await login(app_server.url, "alice")
    bot = await alice.post(
        "/api/v1/users", json={"username": "rules", "name": "Rules Bot", "role": "bot"}
    )
    assert bot.status_code == 201
    soon = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    made = await alice.post(
        "/api/v1/tokens",
        json={"user_id": bot.json()["id"], "name": "rules bot", "expires_at": soon},
    )
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    assert token.startswith("sb_") and made.json()["user"]["name"] == "Rules Bot"
    assert made.json()["expires_at"] is not None and made.json()["expired"] is False
    listed = (await alice.get("/api/v1/tokens")).json()["items"]
    assert [t["name"] for t in listed] == ["rules bot"]
    assert token not in str(listed) and "token" not in listed[0]  # never shown again

    socket = await Agent.connect(app_server.url, token=token)
    other = await Agent.connect(app_server.url, token=await _bob_token(alice))
    assert (await socket.command("ping", {}))["type"] == "pong"
    async with program(app_server, token) as client:
        assert (await client.get("/api/v1/me")).json()["name"] == "Rules Bot"
        revoked = await alice.delete(f"/api/v1/tokens/{made.json()['id']}")
        assert revoked.status_code == 204
        assert await closed_with(socket) == 4401
        assert (await client.get("/api/v1/me")).status_code == 401
    with pytest.raises(websockets.InvalidStatus):
        await Agent.connect(app_server.url, token=token)
    assert (await other.command("ping", {}))["type"] == "pong"  # another token's socket stays
    assert (await alice.delete(f"/api/v1/tokens/{made.json()['id']}")).status_code == 404
    actions = [e["action"] for e in (await alice.get("/api/v1/audit")).json()["items"]]
    assert actions[:2] == ["token.revoked", "token.created"]
    await other.close()


async def _bob_token(alice: httpx.AsyncClient) -> str:
    made = await alice.post("/api/v1/tokens", json={"user_id": BOB, "name": "bob's script"})
    assert made.status_code == 201
    token: str = made.json()["token"]
    return token


async def test_an_expired_or_silently_revoked_token_opens_nothing_and_its_socket_closes(
    app_server: Running,
) -> None:
    alice = await login(app_server.url, "alice")
    token = await _bob_token(alice)
    socket = await Agent.connect(app_server.url, token=token)
    assert (await socket.command("ping", {}))["type"] == "pong"
    async with open_store(app_server.settings.database_url) as db, db.write() as session:
        past = datetime.now(UTC) - timedelta(seconds=1)
        await session.execute(update(Token).values(expires_at=past))  # no message to anyone
    async with program(app_server, token) as client:
        assert (await client.get("/api/v1/me")).status_code == 401
    async with asyncio.timeout(EVENT_WAIT_SECS):  # the sweep, within 5 s
        assert await closed_with(socket) == 4401
    listed = (await alice.get("/api/v1/tokens")).json()["items"]
    assert listed[0]["expired"] is True


async def test_bad_token_requests_get_a_clear_error_and_change_nothing(app_server: Running) -> None:
    alice = await login(app_server.url, "alice")
    disabled = await alice.post(
        "/api/v1/users", json={"username": "gone", "password": "long enough"}
    )
    await alice.patch(f"/api/v1/users/{disabled.json()['id']}", json={"disabled": True})
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    cases = [
        ({"name": "no user"}, 422),
        ({"user_id": 999, "name": "nobody"}, 404),
        ({"user_id": BOB, "name": ""}, 422),
        ({"user_id": BOB, "name": "x" * 101}, 422),
        ({"user_id": BOB, "name": "old", "expires_at": past}, 422),
        ({"user_id": BOB, "name": "odd", "expires_at": "next tuesday"}, 422),
        ({"user_id": BOB, "name": "far", "expires_at": "9999-12-31T23:59:59-14:00"}, 422),
        ({"user_id": disabled.json()["id"], "name": "theirs"}, 409),
    ]
    async with open_store(app_server.settings.database_url) as db:
        before = await snapshot_store(db)
        for body, status in cases:
            response = await alice.post("/api/v1/tokens", json=body)
            assert response.status_code == status, (body, response.text)
            assert response.json()["error"]["message"]
        assert (await alice.delete("/api/v1/tokens/999")).status_code == 404
        assert await snapshot_store(db) == before
