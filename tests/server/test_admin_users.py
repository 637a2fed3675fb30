"""People, as an admin manages them over REST (DESIGN.md, "Admin"): adding someone with a
password or an invitation link, their own password change, renaming and roles, disabling (which
ends their sessions, tokens, sockets and locks at once, and keeps their name on their messages),
the last admin, bad input that changes nothing, and 403 for everyone else."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import websockets

from inbox.models import AuditEntry
from tests.conftest import Running
from tests.helpers import Agent, login, open_store, snapshot_store

ALICE, CAROL, BOB = 1, 2, 3  # the demo team's admin, supervisor and agent
FRONT_DESK_ID = 1


async def closed_with(agent: Agent) -> int | None:
    await agent.ws.wait_closed()
    return agent.ws.close_code


async def audit_log(server: Running) -> list[dict[str, Any]]:
    """The audit log as the store holds it (every column, to check what it never holds)."""
    async with open_store(server.settings.database_url) as db, db.read() as session:
        rows = (await session.execute(AuditEntry.__table__.select())).mappings().all()  # type: ignore[attr-defined]
    return [dict(row) for row in rows]


async def test_an_admin_adds_an_agent_who_logs_in_changes_the_password_and_is_disabled(
    app_server: Running,
) -> None:
    alice = await login(app_server.url, "alice")
    bob = await login(app_server.url, "bob")
    bob_tab = await Agent.connect(app_server.url, cookies=bob.cookies)
    made = await alice.post(
        "/api/v1/users",
        json={"username": "dana", "name": "Dana Reyes", "role": "agent", "password": "first pass"},
    )
    assert made.status_code == 201, made.text
    dana_id = made.json()["id"]
    assert made.json()["role"] == "agent" and "set_password_url" not in made.json()
    joined = await bob_tab.next_event("user.updated", lambda d: d["user"]["id"] == dana_id)
    assert joined["data"]["user"] == {
        "id": dana_id, "name": "Dana Reyes", "kind": "user", "role": "agent", "disabled": False,
    }  # fmt: skip
    members = await alice.put(
        f"/api/v1/inboxes/{FRONT_DESK_ID}/members", json={"user_ids": [ALICE, CAROL, BOB, dana_id]}
    )
    assert members.status_code == 200

    dana = await login(app_server.url, "dana", "first pass")
    changed = await dana.post(
        "/api/v1/me/password", json={"current": "first pass", "new": "second pass"}
    )
    assert changed.status_code == 204
    dana = await login(app_server.url, "dana", "second pass")
    conversation = (await dana.get(f"/api/v1/inboxes/{FRONT_DESK_ID}/conversations")).json()[
        "items"
    ][0]
    sent = await dana.post(
        f"/api/v1/conversations/{conversation['id']}/messages", json={"body": "On it."}
    )
    assert sent.status_code == 201, sent.text  # and she holds the conversation's lock
    token = await alice.post("/api/v1/tokens", json={"user_id": dana_id, "name": "dana's script"})
    dana_token = token.json()["token"]
    dana_tab = await Agent.connect(app_server.url, cookies=dana.cookies)
    script = await Agent.connect(app_server.url, token=dana_token)
    for socket in (dana_tab, script):
        assert (await socket.command("ping", {}))["type"] == "pong"

    disabled = await alice.patch(f"/api/v1/users/{dana_id}", json={"disabled": True})
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    assert await closed_with(dana_tab) == 4401
    assert await closed_with(script) == 4401
    released = await bob_tab.next_event(
        "lock.released", lambda d: d["conversation_id"] == conversation["id"]
    )
    assert released["data"]["reason"] == "forced"
    (update,) = [  # announced before the lock's release
        f for f in bob_tab.received if f["type"] == "user.updated" and f["id"] > joined["id"]
    ]
    assert update["data"]["user"]["disabled"] is True
    assert (await dana.get("/api/v1/me")).status_code == 401
    headers = {"Authorization": f"Bearer {dana_token}"}
    async with httpx.AsyncClient(base_url=app_server.url, headers=headers) as program:
        assert (await program.get("/api/v1/me")).status_code == 401
    async with httpx.AsyncClient(base_url=app_server.url) as browser:
        again = await browser.post("/login", data={"username": "dana", "password": "second pass"})
    assert again.status_code == 403 and "disabled" in again.text
    with pytest.raises(websockets.InvalidStatus):
        await Agent.connect(app_server.url, token=dana_token)
    # Her history keeps her name; she is no longer someone to assign to.
    history = (await bob.get(f"/api/v1/conversations/{conversation['id']}/messages")).json()
    assert history["items"][-1]["sender"]["name"] == "Dana Reyes"
    page = (await bob.get("/")).text
    assert "Dana Reyes" not in page

    enabled = await alice.patch(f"/api/v1/users/{dana_id}", json={"disabled": False})
    assert enabled.json()["disabled"] is False
    await login(app_server.url, "dana", "second pass")
    async with httpx.AsyncClient(base_url=app_server.url, headers=headers) as program:
        assert (await program.get("/api/v1/me")).status_code == 401  # her tokens stay ended

    log = await audit_log(app_server)
    assert [e["action"] for e in log if e["subject_type"] == "user"] == [
        "user.created", "user.disabled", "user.enabled",
    ]  # fmt: skip
    assert all(e["actor_id"] == ALICE for e in log)
    stored = json.dumps(log, default=str)
    assert "first pass" not in stored and "second pass" not in stored and dana_token not in stored
    listed = (await alice.get("/api/v1/audit")).json()["items"]
    assert listed[0]["action"] == "user.enabled"
    assert listed[0]["actor"]["name"] == "Alice Admin"
    assert listed[0]["before"] == {"disabled": True} and listed[0]["after"] == {"disabled": False}
    await bob_tab.close()


async def test_an_invitation_link_sets_the_password_once(app_server: Running) -> None:
    alice = await login(app_server.url, "alice")
    made = await alice.post("/api/v1/users", json={"username": "erin", "name": "Erin"})
    assert made.status_code == 201
    url = made.json()["set_password_url"]
    assert url.startswith(app_server.url + "/password/") and made.json()["password_set"] is False
    path = url.removeprefix(app_server.url)
    async with httpx.AsyncClient(base_url=app_server.url) as browser:
        async with httpx.AsyncClient(base_url=app_server.url) as stranger:
            refused = await stranger.post("/login", data={"username": "erin", "password": ""})
        assert refused.status_code == 401  # no password yet: nobody logs in as her
        page = await browser.get(path)
        assert page.status_code == 200 and "Erin" in page.text
        weak = await browser.post(path, data={"password": "short", "again": "short"})
        assert weak.status_code == 422 and "8" in weak.text
        differ = await browser.post(path, data={"password": "long enough", "again": "other one"})
        assert differ.status_code == 422
        done = await browser.post(path, data={"password": "long enough", "again": "long enough"})
        assert done.status_code == 303 and done.headers["location"] == "/"
        assert (await browser.get("/api/v1/me")).json()["username"] == "erin"
        assert (await browser.get(path)).status_code == 404  # once
        assert (
            await browser.post(path, data={"password": "x" * 9, "again": "x" * 9})
        ).status_code == 404
    await login(app_server.url, "erin", "long enough")
    # A reset link replaces the password the same way, and ends her sessions.
    reset = await alice.post("/api/v1/users/" + str(made.json()["id"]) + "/password-link")
    assert reset.status_code == 201
    async with httpx.AsyncClient(base_url=app_server.url) as browser:
        path = reset.json()["set_password_url"].removeprefix(app_server.url)
        done = await browser.post(
            path, data={"password": "brand new one", "again": "brand new one"}
        )
        assert done.status_code == 303
    await login(app_server.url, "erin", "brand new one")


async def test_renaming_and_roles_are_live_and_a_role_decides_what_one_may_see(
    app_server: Running,
) -> None:
    alice = await login(app_server.url, "alice")
    carol = await login(app_server.url, "carol")
    carol_tab = await Agent.connect(app_server.url, cookies=carol.cookies)
    renamed = await alice.patch(f"/api/v1/users/{BOB}", json={"name": "Robert Agent"})
    assert renamed.json()["name"] == "Robert Agent"
    seen = await carol_tab.next_event("user.updated", lambda d: d["user"]["id"] == BOB)
    assert seen["data"]["user"]["name"] == "Robert Agent"
    assert "username" not in seen["data"]["user"]

    promoted = await alice.patch(f"/api/v1/users/{CAROL}", json={"role": "admin"})
    assert promoted.json()["role"] == "admin"
    access = await carol_tab.next_event("access.changed")
    assert access["data"]["inbox_ids"] == [1, 2]
    assert (await carol.get("/api/v1/users")).status_code == 200  # an admin now
    demoted = await alice.patch(f"/api/v1/users/{CAROL}", json={"role": "agent"})
    assert demoted.status_code == 200
    assert (await carol.get("/api/v1/users")).status_code == 403
    bot = await alice.post("/api/v1/users", json={"username": "helper", "role": "bot"})
    assert bot.status_code == 201 and bot.json()["kind"] == "bot"
    assert "set_password_url" not in bot.json()
    refused = await alice.patch(f"/api/v1/users/{bot.json()['id']}", json={"role": "agent"})
    assert refused.status_code == 422  # bots stay bots
    await carol_tab.close()


WEAK = {"current": "switchboard", "new": "short"}
BOT_WITH_PASSWORD = {"username": "x", "role": "bot", "password": "long enough"}
BAD_INPUT: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("POST", "/api/v1/users", {"username": "bob", "name": "Bob Two"}, 409, "username_taken"),
    ("POST", "/api/v1/users", {"username": "new", "password": "short"}, 422, "weak_password"),
    ("POST", "/api/v1/users", {"username": "has space"}, 422, "invalid_username"),
    ("POST", "/api/v1/users", {"username": "x", "role": "owner"}, 422, "invalid"),
    ("POST", "/api/v1/users", {"username": "x", "name": "  "}, 422, "invalid"),
    ("POST", "/api/v1/users", BOT_WITH_PASSWORD, 422, "invalid"),
    ("PATCH", f"/api/v1/users/{ALICE}", {"role": "agent"}, 409, "last_admin"),
    ("PATCH", f"/api/v1/users/{ALICE}", {"disabled": True}, 409, "last_admin"),
    ("PATCH", f"/api/v1/users/{BOB}", {"disabled": "yes"}, 422, "invalid"),
    ("PATCH", f"/api/v1/users/{BOB}", {"role": "bot"}, 422, "invalid"),
    ("PATCH", f"/api/v1/users/{BOB}", {"name": 7}, 422, "invalid"),
    ("PATCH", "/api/v1/users/999", {"name": "Nobody"}, 404, "not_found"),
    ("POST", "/api/v1/me/password", WEAK, 422, "weak_password"),
]  # fmt: skip


async def test_bad_input_gets_a_clear_error_and_changes_nothing(app_server: Running) -> None:
    alice = await login(app_server.url, "alice")
    async with open_store(app_server.settings.database_url) as db:
        before = await snapshot_store(db)
        for method, path, body, status, code in BAD_INPUT:
            response = await alice.request(method, path, json=body)
            assert response.status_code == status, (path, body, response.text)
            error = response.json()["error"]
            assert error["code"] == code and error["message"], (path, body)
        assert await snapshot_store(db) == before


ADMIN_CALLS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/v1/users", None),
    ("POST", "/api/v1/users", {"username": "mallory", "role": "admin", "password": "long enough"}),
    ("PATCH", f"/api/v1/users/{BOB}", {"role": "admin"}),
    ("PATCH", f"/api/v1/users/{ALICE}", {"disabled": True}),
    ("POST", f"/api/v1/users/{ALICE}/password-link", None),
    ("GET", "/api/v1/tokens", None),
    ("POST", "/api/v1/tokens", {"user_id": ALICE, "name": "mine now"}),
    ("DELETE", "/api/v1/tokens/1", None),
    ("GET", "/api/v1/inboxes?all=1", None),
    ("POST", "/api/v1/inboxes", {"name": "Sneaky"}),
    ("PATCH", f"/api/v1/inboxes/{FRONT_DESK_ID}", {"name": "Renamed"}),
    ("POST", f"/api/v1/inboxes/{FRONT_DESK_ID}/archive", None),
    ("PUT", f"/api/v1/inboxes/{FRONT_DESK_ID}/members", {"user_ids": [BOB]}),
    ("GET", "/api/v1/phone-numbers", None),
    ("GET", "/api/v1/audit", None),
]


async def test_agents_supervisors_and_bots_get_403_on_every_admin_call(
    app_server: Running,
) -> None:
    alice = await login(app_server.url, "alice")
    bot = await alice.post("/api/v1/users", json={"username": "helper", "role": "bot"})
    made = await alice.post("/api/v1/tokens", json={"user_id": bot.json()["id"], "name": "bot"})
    bot_client = httpx.AsyncClient(
        base_url=app_server.url, headers={"Authorization": f"Bearer {made.json()['token']}"}
    )
    callers = [await login(app_server.url, "bob"), await login(app_server.url, "carol"), bot_client]
    async with open_store(app_server.settings.database_url) as db:
        before = await snapshot_store(db)
        for client in callers:
            for method, path, body in ADMIN_CALLS:
                response = await client.request(method, path, json=body)
                assert response.status_code == 403, (method, path, response.text)
                assert response.json()["error"]["code"] == "forbidden"
        assert await snapshot_store(db, exclude={"token"}) == {
            k: v for k, v in before.items() if k != "token"
        }  # the bot's token notes its last use; nothing else moved
    for page in ("/settings", "/settings/users"):
        response = await callers[0].get(page)
        assert response.status_code == 403 and "for admins" in response.text
    assert 'href="/settings' not in (await callers[0].get("/")).text
    assert 'href="/settings' in (await alice.get("/")).text


async def test_own_sessions_are_listed_and_ended(app_server: Running) -> None:
    laptop = await login(app_server.url, "bob")
    phone = await login(app_server.url, "bob")
    phone_tab = await Agent.connect(app_server.url, cookies=phone.cookies)
    listed = (await laptop.get("/api/v1/me/sessions")).json()["items"]
    assert len(listed) == 2 and [s["current"] for s in listed].count(True) == 1
    other = next(s for s in listed if not s["current"])
    alice = await login(app_server.url, "alice")
    assert (await alice.delete(f"/api/v1/me/sessions/{other['id']}")).status_code == 404
    assert (await laptop.delete(f"/api/v1/me/sessions/{other['id']}")).status_code == 204
    assert await closed_with(phone_tab) == 4401
    assert (await phone.get("/api/v1/me")).status_code == 401
    assert len((await laptop.get("/api/v1/me/sessions")).json()["items"]) == 1
