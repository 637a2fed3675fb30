"""Cross-site request forgery: a cookie-authenticated change must name our own origin
(`Origin`, else `Referer`); naming none is refused too. Login and logout are checked as well."""

from __future__ import annotations

import httpx

from tests.conftest import Running
from tests.helpers import login

EVIL = "https://evil.example"


async def test_cookie_changes_without_our_origin_are_refused(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    cookies = {"switchboard_session": bob.cookies["switchboard_session"]}
    start = {"inbox_id": 1, "to": "+15551234567"}
    async with httpx.AsyncClient(base_url=app_server.url, cookies=cookies) as bare:
        for headers in ({}, {"Referer": EVIL + "/page"}, {"Origin": "null"}):
            refused = await bare.post("/api/v1/conversations", json=start, headers=headers)
            assert refused.status_code == 403, headers
            assert refused.json()["error"]["code"] == "bad_origin"
        assert (await bare.get("/api/v1/me")).status_code == 200  # reading needs no origin
        # Our own page as the Referer is enough when a browser leaves Origin out.
        ok = await bare.post(
            "/api/v1/conversations", json=start, headers={"Referer": app_server.url + "/"}
        )
        assert ok.status_code == 201, ok.text
    # Bearer tokens are not sent by browsers on their own: no origin is needed.


async def test_logout_and_login_from_another_site_are_refused(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    forced_out = await bob.post("/logout", headers={"Origin": EVIL})
    assert forced_out.status_code == 403
    assert (await bob.get("/api/v1/me")).status_code == 200  # still logged in
    async with httpx.AsyncClient(base_url=app_server.url) as client:
        foreign = await client.post(
            "/login",
            data={"username": "bob", "password": "switchboard"},
            headers={"Origin": EVIL},
        )
        assert foreign.status_code == 403
        assert "switchboard_session" not in foreign.cookies
