from __future__ import annotations

import httpx
import pytest
import websockets

from tests.conftest import Running
from tests.helpers import Agent, login


async def test_anonymous_api_calls_get_401_with_a_json_error(app_server: Running) -> None:
    async with httpx.AsyncClient(base_url=app_server.url) as client:
        for path in ("/api/v1/me", "/api/v1/inboxes", "/api/v1/inboxes/1/conversations"):
            response = await client.get(path)
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "unauthenticated"
        page = await client.get("/", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login"


async def test_wrong_password_is_refused_without_saying_which_part_was_wrong(
    app_server: Running,
) -> None:
    async with httpx.AsyncClient(base_url=app_server.url) as client:
        for username in ("bob", "nobody"):
            response = await client.post("/login", data={"username": username, "password": "nope"})
            assert response.status_code == 401
            assert "Wrong username or password." in response.text
            assert "switchboard_session" not in response.cookies


async def test_agent_gets_403_for_an_inbox_they_do_not_belong_to(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    carol = await login(app_server.url, "carol")
    billing = next(
        i for i in (await carol.get("/api/v1/inboxes")).json()["items"] if i["name"] == "Billing"
    )
    response = await bob.get(f"/api/v1/inboxes/{billing['id']}/conversations")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    conversation = (await carol.get(f"/api/v1/inboxes/{billing['id']}/conversations")).json()[
        "items"
    ][0]
    for call in (
        bob.get(f"/api/v1/conversations/{conversation['id']}/messages"),
        bob.post(f"/api/v1/conversations/{conversation['id']}/messages", json={"body": "hi"}),
        bob.post("/api/v1/conversations", json={"inbox_id": billing["id"], "to": "+15551230003"}),
    ):
        response = await call
        assert response.status_code == 403
    missing = await bob.get("/api/v1/conversations/999999/messages")
    assert missing.status_code == 404


async def test_cross_site_cookie_requests_are_refused(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    response = await bob.post(
        "/api/v1/conversations",
        json={"inbox_id": 1, "to": "+15551234567"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "bad_origin"


async def test_cookie_socket_from_a_foreign_origin_is_refused(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    with pytest.raises(websockets.InvalidStatus) as refused:
        await Agent.connect(app_server.url, cookies=bob.cookies, origin="https://evil.example")
    assert refused.value.response.status_code == 403
    with pytest.raises(websockets.InvalidStatus) as anonymous:
        await websockets.connect(app_server.url.replace("http", "ws") + "/ws")
    assert anonymous.value.response.status_code == 403
    ok = await Agent.connect(app_server.url, cookies=bob.cookies)
    assert (await ok.command("ping", {}))["type"] == "pong"
    await ok.close()


async def test_pages_send_a_strict_content_security_policy(app_server: Running) -> None:
    async with httpx.AsyncClient(base_url=app_server.url) as client:
        page = await client.get("/login")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text


async def test_a_login_goes_on_to_the_inbox_address_it_came_from_and_nowhere_else(
    app_server: Running,
) -> None:
    async with httpx.AsyncClient(base_url=app_server.url) as client:
        page = await client.get("/conversations/2", follow_redirects=False)
        assert page.headers["location"] == "/login?next=%2Fconversations%2F2"
        form = await client.get("/login", params={"next": "/conversations/2"})
        assert 'name="next" value="/conversations/2"' in form.text
        for asked, lands in [
            ("/conversations/2", "/conversations/2"),
            ("/mentions", "/mentions"),
            ("https://evil.example/", "/"),
            ("//evil.example/x", "/"),
            ("/conversations/2\n", "/"),
            ("/conversations/٢", "/"),
            ("/api/v1/me", "/"),
        ]:
            response = await client.post(
                "/login",
                data={"username": "bob", "password": "switchboard", "next": asked},
                headers={"Origin": app_server.url},
            )
            assert response.status_code == 303 and response.headers["location"] == lands, asked
