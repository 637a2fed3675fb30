from __future__ import annotations

from tests.conftest import Running
from tests.helpers import BILLING, FRONT_DESK, Agent, login

ALICE, CAROL, BOB = 1, 2, 3  # the demo team's user ids
FRONT_DESK_ID, BILLING_ID = 1, 2


async def test_a_removed_member_stops_receiving_the_inbox_at_once(app_server: Running) -> None:
    alice = await login(app_server.url, "alice")
    bob = await login(app_server.url, "bob")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    await app_server.twilio.inbound(FRONT_DESK, "+15557000001", "for bob")
    await bob_ws.next_event("message.created")

    removed = await alice.put(
        f"/api/v1/inboxes/{FRONT_DESK_ID}/members", json={"user_ids": [ALICE, CAROL]}
    )
    assert removed.status_code == 200, removed.text
    assert removed.json()["user_ids"] == [ALICE, CAROL]
    await app_server.twilio.inbound(FRONT_DESK, "+15557000001", "not for bob any more")
    added = await alice.put(
        f"/api/v1/inboxes/{BILLING_ID}/members", json={"user_ids": [ALICE, CAROL, BOB]}
    )
    assert added.status_code == 200, added.text
    await app_server.twilio.inbound(BILLING, "+15557000002", "billing, now bob's")

    # Exactly these frames, in this order: nothing of Front Desk after the removal.
    first = await bob_ws.reply()
    assert (first["type"], first["data"]) == ("access.changed", {"inbox_ids": []})
    second = await bob_ws.reply()
    assert (second["type"], second["data"]) == ("access.changed", {"inbox_ids": [BILLING_ID]})
    third = await bob_ws.reply()
    assert third["type"] == "message.created"
    assert third["data"]["message"]["body"] == "billing, now bob's"
    inboxes = (await bob.get("/api/v1/inboxes")).json()["items"]
    assert [i["id"] for i in inboxes] == [BILLING_ID]
    await bob_ws.close()


async def test_a_reconnecting_removed_member_gets_no_replay_of_the_inbox(
    app_server: Running,
) -> None:
    alice = await login(app_server.url, "alice")
    bob = await login(app_server.url, "bob")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    await app_server.twilio.inbound(FRONT_DESK, "+15557000003", "seen")
    seen = await bob_ws.next_event("message.created")
    await bob_ws.close()
    await app_server.twilio.inbound(FRONT_DESK, "+15557000003", "missed, still a member")
    response = await alice.put(
        f"/api/v1/inboxes/{FRONT_DESK_ID}/members", json={"user_ids": [ALICE, CAROL]}
    )
    assert response.status_code == 200
    back = await Agent.connect(app_server.url, cookies=bob.cookies, hello=seen["id"])
    # Access is decided at delivery: the missed Front Desk text is not replayed to a non-member.
    first = await back.reply()
    assert (first["type"], first["data"]) == ("access.changed", {"inbox_ids": []})
    assert (await back.command("ping", {}))["type"] == "pong"
    await back.close()


async def test_only_admins_manage_members_and_errors_are_json(app_server: Running) -> None:
    alice = await login(app_server.url, "alice")
    carol, bob = await login(app_server.url, "carol"), await login(app_server.url, "bob")
    path = f"/api/v1/inboxes/{FRONT_DESK_ID}/members"
    refused = await carol.put(path, json={"user_ids": [CAROL]})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    # Members may read who else is in their inbox (whom a note may mention); others may not.
    assert (await carol.get(path)).json()["user_ids"] == [ALICE, CAROL, BOB]
    assert (await bob.get(f"/api/v1/inboxes/{BILLING_ID}/members")).status_code == 403
    members = (await alice.get(path)).json()
    assert (members["inbox_id"], members["user_ids"]) == (FRONT_DESK_ID, [ALICE, CAROL, BOB])
    unknown_user = await alice.put(path, json={"user_ids": [ALICE, 999]})
    assert unknown_user.status_code == 422
    assert unknown_user.json()["error"]["code"] == "unknown_user"
    assert (await alice.put(path, json={"user_ids": "all"})).status_code == 422
    assert (await alice.put("/api/v1/inboxes/99/members", json={"user_ids": []})).status_code == 404
    bad_json = await alice.put(path, content=b"{", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400
    assert (await alice.get(path)).json()["user_ids"] == [ALICE, CAROL, BOB]  # nothing changed
