"""Inboxes as an admin sets them up (DESIGN.md, "Admin"; seed 004's wizard): made with a
generated API code, given one of the team's numbers and members, renamed (live on every open
socket that may see it), told whom unsolicited texts go to, archived (read-only, its number let
go); the team's first inbox is for admins until registered; bad input changes nothing."""

from __future__ import annotations

from typing import Any

from inbox import accounts
from inbox.models import PhoneNumber, Team
from tests.conftest import Running
from tests.helpers import BILLING, Agent, login, open_store, snapshot_store

ALICE, CAROL, BOB = 1, 2, 3
FRONT_DESK_ID, BILLING_ID = 1, 2
FRONT_DESK_NUMBER_ID, BILLING_NUMBER_ID = 1, 2
SPARE = "+15005550008"


async def add_number(server: Running, number: str, team_id: int = 1) -> int:
    """A number the team owns with no inbox yet (buying one is the phone-number lifecycle's)."""
    async with open_store(server.settings.database_url) as db, db.write() as session:
        if await session.get(Team, team_id) is None:
            session.add(Team(id=team_id, name=f"Team {team_id}"))
            await session.flush()
        row = PhoneNumber(team_id=team_id, number=number, label="spare")
        session.add(row)
        await session.flush()
        assert row.id is not None
        return row.id


async def test_an_inbox_is_made_given_a_number_and_members_renamed_and_archived(
    app_server: Running,
) -> None:
    alice = await login(app_server.url, "alice")
    bob = await login(app_server.url, "bob")
    carol = await login(app_server.url, "carol")
    bob_tab = await Agent.connect(app_server.url, cookies=bob.cookies)
    carol_tab = await Agent.connect(app_server.url, cookies=carol.cookies)
    alice_tab = await Agent.connect(app_server.url, cookies=alice.cookies)
    spare = await add_number(app_server, SPARE)

    made = await alice.post("/api/v1/inboxes", json={"name": "Billing", "colour": "#1D7A3A"})
    assert made.status_code == 201, made.text
    inbox = made.json()
    assert inbox["code"] == "billing-2"  # generated from the name, unique in the team
    assert inbox["colour"] == "#1d7a3a" and inbox["registration"] == "registered"
    assert inbox["member_ids"] == [ALICE] and inbox["phone_number"] is None
    created = await alice_tab.next_event("inbox.created", lambda d: d["inbox"]["id"] == inbox["id"])
    assert created["data"]["inbox"]["name"] == "Billing"

    numbered = await alice.patch(
        f"/api/v1/inboxes/{inbox['id']}",
        json={"phone_number_id": spare, "voice_forward_to": "(415) 555-2671", "name": "Walk-ins"},
    )
    assert numbered.status_code == 200, numbered.text
    assert numbered.json()["phone_number"] == SPARE and numbered.json()["phone_number_id"] == spare
    assert numbered.json()["voice_forward_to"] == "+14155552671"
    members = await alice.put(
        f"/api/v1/inboxes/{inbox['id']}/members", json={"user_ids": [ALICE, BOB]}
    )
    assert members.status_code == 200
    access = await bob_tab.next_event("access.changed")
    assert inbox["id"] in access["data"]["inbox_ids"]
    assert any(i["name"] == "Walk-ins" for i in (await bob.get("/api/v1/inboxes")).json()["items"])
    # Texts to its number arrive in it, live for its new member.
    await app_server.twilio.inbound(SPARE, "+15557770001", "Are you open today?")
    arrived = await bob_tab.next_event("message.created")
    assert arrived["data"]["conversation"]["inbox_id"] == inbox["id"]

    renamed = await alice.patch(f"/api/v1/inboxes/{inbox['id']}", json={"name": "Walk-in desk"})
    assert renamed.json()["name"] == "Walk-in desk"
    for tab in (bob_tab, alice_tab):
        seen = await tab.next_event("inbox.updated", lambda d: d["inbox"]["name"] == "Walk-in desk")
        assert seen["data"]["inbox"]["id"] == inbox["id"]
    ping = await carol_tab.command("ping", {})  # carol is no member: she never heard of it
    assert ping["type"] == "pong"
    assert not [f for f in carol_tab.received if f.get("type", "").startswith("inbox.")]

    archived = await alice.post(f"/api/v1/inboxes/{inbox['id']}/archive")
    assert archived.status_code == 200
    assert archived.json()["archived"] is True and archived.json()["phone_number"] is None
    gone = await bob_tab.next_event("inbox.updated", lambda d: d["inbox"]["archived"])
    assert gone["data"]["inbox"]["phone_number"] is None
    conversation = arrived["data"]["conversation"]
    history = await bob.get(f"/api/v1/conversations/{conversation['id']}/messages")
    assert history.status_code == 200  # still readable
    listed = (await bob.get(f"/api/v1/inboxes/{inbox['id']}/conversations")).json()["items"]
    assert listed[0]["read_only"] is True
    refused = await bob.post(
        f"/api/v1/conversations/{conversation['id']}/messages", json={"body": "Yes, till 6."}
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "archived"
    numbers = (await alice.get("/api/v1/phone-numbers")).json()["items"]
    assert next(n for n in numbers if n["id"] == spare)["inbox_id"] is None
    # Its number is the team's still, with no inbox: texts to it reach the Mailroom.
    await app_server.twilio.inbound(SPARE, "+15557770001", "Hello?")
    mailroom = await alice_tab.next_event(
        "message.created", lambda d: d["message"]["body"] == "Hello?"
    )
    assert mailroom["data"]["conversation"]["inbox_id"] != inbox["id"]
    again = await alice.patch(f"/api/v1/inboxes/{inbox['id']}", json={"name": "Back"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "archived"
    log = (await alice.get("/api/v1/audit")).json()["items"]
    assert [e["action"] for e in log][:5] == [
        "inbox.archived", "inbox.updated", "inbox.members", "inbox.updated", "inbox.created",
    ]  # fmt: skip
    assert log[1]["before"] == {"name": "Walk-ins"} and log[1]["after"] == {"name": "Walk-in desk"}
    for tab in (bob_tab, carol_tab, alice_tab):
        await tab.close()


async def test_a_number_has_one_inbox_and_another_teams_number_is_refused(
    app_server: Running,
) -> None:
    alice = await login(app_server.url, "alice")
    theirs = await add_number(app_server, "+15005550009", team_id=2)
    made = (await alice.post("/api/v1/inboxes", json={"name": "Collections"})).json()
    taken = await alice.patch(
        f"/api/v1/inboxes/{made['id']}", json={"phone_number_id": BILLING_NUMBER_ID}
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "number_taken"
    assert "Billing" in taken.json()["error"]["message"]
    other = await alice.patch(f"/api/v1/inboxes/{made['id']}", json={"phone_number_id": theirs})
    assert other.status_code == 404
    # Billing lets its number go; then Collections may have it, and texts follow the number.
    freed = await alice.patch(f"/api/v1/inboxes/{BILLING_ID}", json={"phone_number_id": None})
    assert freed.json()["phone_number"] is None
    moved = await alice.patch(
        f"/api/v1/inboxes/{made['id']}", json={"phone_number_id": BILLING_NUMBER_ID}
    )
    assert moved.json()["phone_number"] == BILLING
    await app_server.twilio.inbound(BILLING, "+15557770002", "Invoice question")
    carol = await login(app_server.url, "alice")
    items = (await carol.get(f"/api/v1/inboxes/{made['id']}/conversations")).json()["items"]
    assert [i["counterparty"] for i in items] == ["+15557770002"]


async def test_unsolicited_texts_go_to_the_named_agents_or_bot(app_server: Running) -> None:
    alice = await login(app_server.url, "alice")
    bot = (await alice.post("/api/v1/users", json={"username": "answers", "role": "bot"})).json()
    to_bob = await alice.patch(
        f"/api/v1/inboxes/{FRONT_DESK_ID}", json={"unsolicited": "agent", "unsolicited_to": [BOB]}
    )
    assert to_bob.json()["unsolicited_to"] == [BOB]
    await app_server.twilio.inbound("+15005550006", "+15557770003", "First time texting")
    bob = await login(app_server.url, "bob")
    mine = (await bob.get(f"/api/v1/inboxes/{FRONT_DESK_ID}/conversations?assignee=me")).json()
    assert [c["counterparty"] for c in mine["items"]] == ["+15557770003"]
    outsider = await alice.patch(
        f"/api/v1/inboxes/{BILLING_ID}", json={"unsolicited": "agent", "unsolicited_to": [BOB]}
    )
    assert outsider.status_code == 422 and outsider.json()["error"]["code"] == "not_member"

    to_bot = await alice.patch(
        f"/api/v1/inboxes/{FRONT_DESK_ID}",
        json={"unsolicited": "bot", "unsolicited_to": [bot["id"]]},
    )
    assert to_bot.status_code == 200, to_bot.text
    assert (
        to_bot.json()["unsolicited_to"] == [bot["id"]] and bot["id"] in to_bot.json()["member_ids"]
    )
    public = (await bob.get("/api/v1/inboxes")).json()["items"]
    assert next(i for i in public if i["id"] == FRONT_DESK_ID)["unsolicited_to"] == [bot["id"]]
    await app_server.twilio.inbound("+15005550006", "+15557770004", "Anyone there?")
    left = await bob.get(f"/api/v1/inboxes/{FRONT_DESK_ID}/conversations?assignee=unassigned")
    assert "+15557770004" in [c["counterparty"] for c in left.json()["items"]]  # the bot's
    not_a_bot = await alice.patch(
        f"/api/v1/inboxes/{FRONT_DESK_ID}", json={"unsolicited": "bot", "unsolicited_to": [BOB]}
    )
    assert not_a_bot.status_code == 422 and not_a_bot.json()["error"]["code"] == "not_bot"
    kept = await alice.put(
        f"/api/v1/inboxes/{FRONT_DESK_ID}/members", json={"user_ids": [ALICE, BOB, CAROL]}
    )
    assert kept.status_code == 422 and kept.json()["error"]["code"] == "bot_in_use"


INVALID: list[tuple[dict[str, Any], int, str]] = [
    ({"colour": "red"}, 422, "invalid_colour"),
    ({"colour": "#12345"}, 422, "invalid_colour"),
    ({"voice_forward_to": "not a number"}, 422, "invalid_number"),
    ({"voice_forward_to": "+1 123 456 7890"}, 422, "invalid_number"),
    ({"name": ""}, 422, "invalid"),
    ({"name": "x" * 81}, 422, "invalid"),
    ({"api_code": "Has Spaces"}, 422, "invalid_code"),
    ({"api_code": "billing"}, 409, "code_taken"),
    ({"phone_number_id": "1"}, 422, "invalid"),
    ({"phone_number_id": 999}, 404, "not_found"),
    ({"phone_number_id": BILLING_NUMBER_ID}, 409, "number_taken"),
    ({"unsolicited": "robot"}, 422, "invalid"),
    ({"unsolicited_to": "bob"}, 422, "invalid"),
    ({"unsolicited_to": [2**70]}, 422, "invalid"),
    ({"help_text": "x" * 1601}, 422, "invalid"),
    ({"name": "Fine", "colour": "blue"}, 422, "invalid_colour"),  # all or nothing
]


async def test_bad_inbox_settings_get_a_clear_error_and_change_nothing(
    app_server: Running,
) -> None:
    alice = await login(app_server.url, "alice")
    async with open_store(app_server.settings.database_url) as db:
        before = await snapshot_store(db)
        for body, status, code in INVALID:
            response = await alice.patch(f"/api/v1/inboxes/{FRONT_DESK_ID}", json=body)
            assert response.status_code == status, (body, response.text)
            assert response.json()["error"]["code"] == code, (body, response.text)
            created = await alice.post("/api/v1/inboxes", json={"name": "New", **body})
            assert created.status_code == status, (body, created.text)
        for path in ("/api/v1/inboxes/999", "/api/v1/inboxes/999/archive"):
            response = await alice.request(
                "PATCH" if "archive" not in path else "POST", path, json={}
            )
            assert response.status_code == 404
        assert (await alice.post("/api/v1/inboxes", json={})).status_code == 422
        members = await alice.put(
            f"/api/v1/inboxes/{FRONT_DESK_ID}/members", json={"user_ids": [ALICE, 999]}
        )
        assert members.status_code == 422
        assert await snapshot_store(db) == before


async def test_the_teams_first_inbox_is_for_admins_until_registered(
    app_server: Running,
) -> None:
    """A team with no registered inbox (a new team, made here in the store)."""
    async with open_store(app_server.settings.database_url) as db, db.write() as session:
        team = await accounts.create_team(session, "Harbor")
        assert team.id is not None
        await accounts.create_user(session, team.id, "hana", "Hana", "admin", "long enough")
        await accounts.create_user(session, team.id, "ivo", "Ivo", "agent", "long enough")
    hana = await login(app_server.url, "hana", "long enough")
    ivo = await login(app_server.url, "ivo", "long enough")
    ivo_id = (await ivo.get("/api/v1/me")).json()["id"]
    hana_id = (await hana.get("/api/v1/me")).json()["id"]
    made = await hana.post(
        "/api/v1/inboxes", json={"name": "Leasing", "member_ids": [hana_id, ivo_id]}
    )
    assert made.status_code == 201
    assert made.json()["registration"] == "unregistered"
    assert [i["name"] for i in (await hana.get("/api/v1/inboxes")).json()["items"]] == ["Leasing"]
    assert (await ivo.get("/api/v1/inboxes")).json()["items"] == []
    listed = await ivo.get(f"/api/v1/inboxes/{made.json()['id']}/conversations")
    assert listed.status_code == 403
    # Nor does anyone of the demo team see it, nor may its admin touch it.
    demo = await login(app_server.url, "alice")
    outside = await demo.patch(f"/api/v1/inboxes/{made.json()['id']}", json={"name": "Mine"})
    assert outside.status_code == 404
    assert made.json()["id"] not in [
        i["id"] for i in (await demo.get("/api/v1/inboxes?all=1")).json()["items"]
    ]
    for method, path, body in [
        ("PATCH", f"/api/v1/users/{ivo_id}", {"disabled": True}),
        ("POST", f"/api/v1/users/{ivo_id}/password-link", None),
        ("POST", "/api/v1/tokens", {"user_id": ivo_id, "name": "theirs"}),
        ("PUT", f"/api/v1/inboxes/{made.json()['id']}/members", {"user_ids": [ALICE]}),
        ("POST", f"/api/v1/inboxes/{made.json()['id']}/archive", None),
    ]:
        response = await demo.request(method, path, json=body)
        assert response.status_code == 404, (path, response.text)
    assert ivo_id not in [u["id"] for u in (await demo.get("/api/v1/users")).json()["items"]]
    into = await demo.put(f"/api/v1/inboxes/{FRONT_DESK_ID}/members", json={"user_ids": [ivo_id]})
    assert into.status_code == 422 and into.json()["error"]["code"] == "unknown_user"
