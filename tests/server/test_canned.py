"""Canned responses over REST: the team's library (admins) and each user's own, filled in for a
conversation with its variables, by a person or by a bot with a token; bad input and other
people's responses are refused and change nothing."""

from __future__ import annotations

import httpx
from sqlalchemy import update
from sqlmodel import col

from inbox.db import Database
from inbox.models import CannedResponse
from tests.accounts import make_other_team
from tests.conftest import Running
from tests.helpers import FRONT_DESK, Agent, login
from tests.realtime.bots import make_bot

DANA, PRIYA = 1, 3
GREETING = "Hi {{ contact.first_name }}, this is {{agent.name}} at {{inbox.name}}."


async def test_the_library_is_the_admins_and_each_agent_keeps_their_own(
    app_server: Running,
) -> None:
    alice, bob = await login(app_server.url, "alice"), await login(app_server.url, "bob")
    carol = await login(app_server.url, "carol")
    team = await alice.post("/api/v1/canned-responses", json={"name": "Greeting", "body": GREETING})
    assert team.status_code == 201, team.text
    assert team.json()["scope"] == "team"
    refused = await bob.post(
        "/api/v1/canned-responses", json={"name": "Hours", "body": "9-5", "scope": "team"}
    )
    assert refused.status_code == 403
    own = await bob.post("/api/v1/canned-responses", json={"name": "My sign-off", "body": "— Bob"})
    assert own.status_code == 201 and own.json()["scope"] == "personal"

    names = [c["name"] for c in (await carol.get("/api/v1/canned-responses")).json()["items"]]
    assert names == ["Greeting"]  # not bob's own
    names = [c["name"] for c in (await bob.get("/api/v1/canned-responses")).json()["items"]]
    assert names == ["Greeting", "My sign-off"]
    found = (await bob.get("/api/v1/canned-responses?q=sign")).json()["items"]
    assert [c["name"] for c in found] == ["My sign-off"]

    own_id, team_id = own.json()["id"], team.json()["id"]
    assert (await carol.get(f"/api/v1/canned-responses/{own_id}")).status_code == 404
    hijack = await alice.patch(f"/api/v1/canned-responses/{own_id}", json={"body": "x"})
    assert hijack.status_code == 404  # another user's own do not exist for admins either
    assert (
        await bob.patch(f"/api/v1/canned-responses/{team_id}", json={"body": "x"})
    ).status_code == 403
    assert (await bob.delete(f"/api/v1/canned-responses/{team_id}")).status_code == 403
    edited = await bob.patch(f"/api/v1/canned-responses/{own_id}", json={"body": "Thanks! Bob"})
    assert edited.json()["body"] == "Thanks! Bob"

    for body, status, code in [
        (
            {"name": "Bad", "body": "Hi {{contact.nickname}} {{ agent.email }}"},
            422,
            "unknown_variable",
        ),
        ({"name": "greeting", "body": "x"}, 409, "exists"),
        ({"name": "", "body": "x"}, 422, "invalid"),
        ({"name": "Long", "body": "x" * 1601}, 422, "too_long"),
        ({"name": "Empty", "body": " "}, 422, "empty"),
        ({"name": "Odd", "body": "x", "scope": "everyone"}, 422, "invalid"),
    ]:
        answer = await alice.post("/api/v1/canned-responses", json=body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), body
    unknown = await alice.post(
        "/api/v1/canned-responses", json={"name": "Bad", "body": "Hi {{contact.nickname}}"}
    )
    assert "{{contact.nickname}}" in unknown.json()["error"]["message"]
    assert (await bob.delete(f"/api/v1/canned-responses/{own_id}")).status_code == 204
    names = [c["name"] for c in (await bob.get("/api/v1/canned-responses")).json()["items"]]
    assert names == ["Greeting"]


async def test_a_response_is_filled_in_for_the_conversation_and_the_sender(
    app_server: Running,
) -> None:
    alice, bob = await login(app_server.url, "alice"), await login(app_server.url, "bob")
    greeting = (
        await alice.post("/api/v1/canned-responses", json={"name": "Greeting", "body": GREETING})
    ).json()
    path = f"/api/v1/canned-responses/{greeting['id']}/render"
    dana = (await bob.get(path, params={"conversation_id": DANA})).json()
    assert dana == {
        "id": greeting["id"],
        "name": "Greeting",
        "body": "Hi Dana, this is Bob Agent at Front Desk.",
        "defaults": [],
    }
    ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    await app_server.twilio.inbound(FRONT_DESK, "+15553330001", "who's there?")
    stranger = (await ws.next_event("message.created"))["data"]["conversation"]["id"]
    nameless = (await bob.get(path, params={"conversation_id": stranger})).json()
    assert nameless["body"] == "Hi there, this is Bob Agent at Front Desk."
    assert nameless["defaults"] == ["contact.first_name"]
    assert (await bob.get(path, params={"conversation_id": PRIYA})).status_code == 403
    assert (await bob.get(path)).status_code == 422
    assert (await bob.get(path, params={"conversation_id": "999"})).status_code == 404

    # A bot with a token lists the library and fills one in for its conversation, as itself.
    token = await make_bot(app_server.settings, "helper", [1])
    bot = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=app_server.url, headers=bot) as client:
        listed = (await client.get("/api/v1/canned-responses")).json()["items"]
        assert [c["name"] for c in listed] == ["Greeting"]
        filled = (await client.get(path, params={"conversation_id": DANA})).json()
        assert filled["body"] == "Hi Dana, this is Helper at Front Desk."
        sent = await client.post(
            f"/api/v1/conversations/{DANA}/messages", json={"body": filled["body"]}
        )
        assert sent.status_code == 201
    await ws.close()


async def test_a_stored_unknown_variable_is_refused_when_filled_in(app_server: Running) -> None:
    alice = await login(app_server.url, "alice")
    made = (await alice.post("/api/v1/canned-responses", json={"name": "Old", "body": "x"})).json()
    db = Database(app_server.settings.database_url)  # written by an older version, say
    async with db.write() as session:
        await session.execute(
            update(CannedResponse)
            .where(col(CannedResponse.id) == made["id"])
            .values(body="Hi {{contact.nickname}}")
        )
    await db.dispose()
    answer = await alice.get(
        f"/api/v1/canned-responses/{made['id']}/render", params={"conversation_id": DANA}
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "unknown_variable"


async def test_other_teams_responses_stay_out_of_reach(app_server: Running) -> None:
    await make_other_team(app_server.settings)
    alice, zed = await login(app_server.url, "alice"), await login(app_server.url, "zed")
    ours = (await alice.post("/api/v1/canned-responses", json={"name": "Ours", "body": "x"})).json()
    assert (await zed.get("/api/v1/canned-responses")).json()["items"] == []
    assert (await zed.get(f"/api/v1/canned-responses/{ours['id']}")).status_code == 404
    assert (
        await zed.patch(f"/api/v1/canned-responses/{ours['id']}", json={"body": "y"})
    ).status_code == 404
    assert (await zed.delete(f"/api/v1/canned-responses/{ours['id']}")).status_code == 404
    theirs = await zed.post("/api/v1/canned-responses", json={"name": "Theirs", "body": "z"})
    render = await zed.get(
        f"/api/v1/canned-responses/{theirs.json()['id']}/render", params={"conversation_id": DANA}
    )
    assert render.status_code == 403
    assert (await alice.get(f"/api/v1/canned-responses/{ours['id']}")).json()["body"] == "x"
