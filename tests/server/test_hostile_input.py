"""Hostile bodies, paths and frames get a 4xx (or an `error` frame) that says what is wrong,
and store nothing: never a 500, never a dropped connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from tests.conftest import Running
from tests.helpers import FRONT_DESK, Agent, login, open_store, snapshot_store

MiB = 1024 * 1024
PRESENCE = ("event", "team")  # a socket's presence events (and the team's event counter)


async def stored(running: Running, exclude: tuple[str, ...] = ()) -> dict[str, list[Any]]:
    async with open_store(running.settings.database_url) as db:
        return await snapshot_store(db, exclude)


async def _conversation(client: httpx.AsyncClient) -> int:
    started = await client.post("/api/v1/conversations", json={"inbox_id": 1, "to": "+15550001"})
    return int(started.json()["id"])


def _error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


async def test_hostile_json_is_refused_and_stores_nothing(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    url = f"/api/v1/conversations/{await _conversation(bob)}/messages"
    before = await stored(app_server)
    json_type = {"Content-Type": "application/json"}
    huge = "1" * 4000
    _error(
        await bob.post(
            "/api/v1/conversations",
            content=f'{{"inbox_id": {huge}, "to": "+1"}}',
            headers=json_type,
        ),
        422,
        "invalid",
    )
    _error(
        await bob.post("/api/v1/conversations", json={"inbox_id": 2**70, "to": "+15550002"}),
        422,
        "invalid",
    )
    surrogate = await bob.post(url, content=b'{"body": "hi \\ud800"}', headers=json_type)
    _error(surrogate, 422, "invalid_text")
    assert "body" in surrogate.json()["error"]["message"]
    _error(
        await bob.post(url, content=b'{"body": "a\\u0000b"}', headers=json_type),
        422,
        "invalid_text",
    )
    deep = b"[" * 100_000 + b"]" * 100_000
    _error(await bob.post(url, content=deep, headers=json_type), 400, "invalid_json")
    _error(await bob.post(url, content=b'["a list"]', headers=json_type), 422, "invalid")
    _error(await bob.get("/api/v1/conversations/\u00b2/messages"), 404, "not_found")
    _error(await bob.get("/api/v1/conversations/" + "9" * 40 + "/messages"), 404, "not_found")
    _error(await bob.get(f"{url}?before=\u00b2"), 422, "invalid")
    _error(await bob.get("/api/v1/inboxes/1/conversations?assignee=\u00b2"), 422, "invalid")
    _error(await bob.get("/api/v1/contacts?cursor=\u0663"), 422, "invalid")
    # The connection survived every refusal: the same client goes on working.
    assert (await bob.get("/api/v1/me")).status_code == 200
    assert await stored(app_server) == before


async def test_bodies_over_the_limit_get_413_before_they_are_read(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    url = f"/api/v1/conversations/{await _conversation(bob)}/messages"
    before = await stored(app_server)
    big = b'{"body": "' + b"x" * (2 * MiB) + b'"}'
    _error(
        await bob.post(url, content=big, headers={"Content-Type": "application/json"}),
        413,
        "too_large",
    )

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"body": "'
        for _ in range(64):
            yield b"x" * 64 * 1024
        yield b'"}'

    _error(await bob.post(url, content=chunks()), 413, "too_large")
    # A webhook too, before its signature is even looked at.
    params = {
        "MessageSid": "SMbig",
        "From": "+15551112222",
        "To": FRONT_DESK,
        "Body": "x" * (2 * MiB),
    }
    _error(await app_server.twilio.post("/webhooks/twilio/messages", params), 413, "too_large")
    assert await stored(app_server) == before


async def test_webhook_with_a_hostile_media_count_is_answered(app_server: Running) -> None:
    for count in ("\u00b2", "99999999999999999999", "-1"):
        params = {
            "MessageSid": f"SM{count}",
            "From": "+15551112222",
            "To": FRONT_DESK,
            "Body": "hi",
            "NumMedia": count,
        }
        response = await app_server.twilio.post("/webhooks/twilio/messages", params)
        assert response.status_code == 200, response.text


async def test_signed_webhook_with_a_nul_in_its_text_is_refused_and_stores_nothing(
    app_server: Running,
) -> None:
    before = await stored(app_server)
    params = {"MessageSid": "SMnul", "From": "+15551112222", "To": FRONT_DESK, "Body": "a\x00b"}
    response = await app_server.twilio.post("/webhooks/twilio/messages", params)
    _error(response, 422, "invalid_text")
    assert "Body" in response.json()["error"]["message"]
    assert await stored(app_server) == before


async def test_socket_frame_with_a_lone_surrogate_gets_an_error(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    conversation_id = await _conversation(bob)
    before = await stored(app_server, PRESENCE)  # connecting logs presence events
    ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    # json.dumps writes the lone surrogate as the escape "\ud800", as a hostile client would.
    answer = await ws.command(
        "message.send", {"conversation_id": conversation_id, "body": "\ud800"}
    )
    assert answer["type"] == "error" and answer["error"]["code"] == "invalid_text"
    big = await ws.command("lock.acquire", {"conversation_id": 2**80})
    assert big["type"] == "error" and big["error"]["code"] == "invalid"
    await ws.close()
    assert await stored(app_server, PRESENCE) == before
