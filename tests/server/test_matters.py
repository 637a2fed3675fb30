"""Matters over REST: any member of the team makes, renames and archives them (`matter.changed`
to the team), any member of a conversation's inbox files it (`conversation.updated` carrying
the matter), the list filters by matter; bad input, other teams' matters and inboxes the caller
is not in change nothing."""

from __future__ import annotations

from tests.accounts import make_other_team
from tests.conftest import Running
from tests.helpers import Agent, login

DANA, MARCUS, PRIYA = 1, 2, 3  # the demo's conversations: Front Desk, Front Desk, Billing
DANA_CONTACT, BILLING = 1, 2


async def test_members_make_matters_file_conversations_and_filter_the_list(
    app_server: Running,
) -> None:
    bob, carol = await login(app_server.url, "bob"), await login(app_server.url, "carol")
    carol_ws = await Agent.connect(app_server.url, cookies=carol.cookies)
    made = await bob.post(
        "/api/v1/matters", json={"name": "  Whitfield   v. Acme ", "client_id": DANA_CONTACT}
    )
    assert made.status_code == 201, made.text
    case = made.json()
    assert case == {
        "id": case["id"],
        "name": "Whitfield v. Acme",
        "client": {"id": DANA_CONTACT, "name": "Dana Whitfield"},
        "status": "active",
        "inbox_id": None,
        "created_at": case["created_at"],
    }
    assert (await carol_ws.next_event("matter.changed"))["data"]["matter"] == case
    assert [m["name"] for m in (await carol.get("/api/v1/matters")).json()["items"]] == [
        "Whitfield v. Acme"
    ]

    filed = await bob.put(f"/api/v1/conversations/{DANA}/matter", json={"matter_id": case["id"]})
    assert filed.status_code == 200, filed.text
    assert filed.json()["matter"] == {"id": case["id"], "name": "Whitfield v. Acme"}
    event = await carol_ws.next_event("conversation.updated")
    assert event["data"]["conversation"]["matter"] == {
        "id": case["id"],
        "name": "Whitfield v. Acme",
    }
    listed = (await bob.get(f"/api/v1/inboxes/1/conversations?matter={case['id']}")).json()
    assert [c["id"] for c in listed["items"]] == [DANA]
    assert (await bob.get("/api/v1/inboxes/1/conversations?matter=x")).status_code == 422
    page = (await bob.get(f"/api/v1/matters/{case['id']}")).json()
    assert [c["id"] for c in page["conversations"]] == [DANA]

    renamed = await bob.patch(
        f"/api/v1/matters/{case['id']}", json={"name": "Whitfield", "status": "archived"}
    )
    assert renamed.json()["status"] == "archived"
    changed = await carol_ws.next_event("matter.changed")
    assert changed["data"]["matter"]["name"] == "Whitfield"
    assert (await bob.get("/api/v1/matters?status=active")).json()["items"] == []
    assert (await bob.get(f"/api/v1/conversations/{DANA}")).json()["matter"]["name"] == "Whitfield"

    # Out of a conversation outside the Mailroom, a matter can be taken off again.
    unfiled = await bob.put(f"/api/v1/conversations/{DANA}/matter", json={"matter_id": None})
    assert unfiled.status_code == 200 and unfiled.json()["matter"] is None
    await carol_ws.close()


async def test_bad_input_and_what_the_caller_may_not_reach_change_nothing(
    app_server: Running,
) -> None:
    other = await make_other_team(app_server.settings)
    alice, bob = await login(app_server.url, "alice"), await login(app_server.url, "bob")
    zed = await login(app_server.url, "zed")
    case = (await alice.post("/api/v1/matters", json={"name": "Ours", "client_id": 1})).json()
    for body, status, code in [
        ({"name": "x"}, 422, "invalid"),  # no client
        ({"name": "", "client_id": 1}, 422, "invalid"),
        ({"name": "x" * 121, "client_id": 1}, 422, "too_long"),
        ({"name": "x", "client_id": "1"}, 422, "invalid"),
        ({"name": "x", "client_id": 999}, 404, "not_found"),
        ({"name": "x", "client_id": 1, "status": "closed"}, 422, "invalid"),
        ({"name": "x", "client_id": 1, "inbox_id": BILLING}, 403, "forbidden"),  # not bob's
        ({"name": "x", "client_id": 1, "inbox_id": other.inbox_id}, 404, "not_found"),
    ]:
        refused = await bob.post("/api/v1/matters", json=body)
        assert (refused.status_code, refused.json()["error"]["code"]) == (status, code), body
    assert (await bob.post("/api/v1/matters", content=b"{", headers={})).status_code == 400
    for body in [{}, {"matter_id": "1"}, {"matter_id": True}]:
        refused = await bob.put(f"/api/v1/conversations/{DANA}/matter", json=body)
        assert refused.status_code == 422, body
    assert (
        await bob.put(f"/api/v1/conversations/{PRIYA}/matter", json={"matter_id": case["id"]})
    ).status_code == 403
    assert (await zed.get(f"/api/v1/matters/{case['id']}")).status_code == 404
    assert (
        await zed.patch(f"/api/v1/matters/{case['id']}", json={"name": "Mine"})
    ).status_code == 404
    theirs = await zed.put(
        f"/api/v1/conversations/{other.conversation_id}/matter", json={"matter_id": case["id"]}
    )
    assert theirs.status_code == 404
    assert (await zed.get("/api/v1/matters")).json()["items"] == []
    assert (await bob.get("/api/v1/conversations/1")).json()["matter"] is None
    # Alice files a Billing conversation: bob, not in Billing, does not see it on the page.
    await alice.put(f"/api/v1/conversations/{PRIYA}/matter", json={"matter_id": case["id"]})
    page = (await bob.get(f"/api/v1/matters/{case['id']}")).json()
    assert page["name"] == "Ours" and page["conversations"] == []
    alices = (await alice.get(f"/api/v1/matters/{case['id']}")).json()["conversations"]
    assert [c["id"] for c in alices] == [PRIYA]
    # A cookie request from another site is refused before anything is read.
    forged = await bob.post(
        "/api/v1/matters", json={"name": "x", "client_id": 1}, headers={"Origin": "https://evil"}
    )
    assert forged.status_code == 403
    assert [m["name"] for m in (await bob.get("/api/v1/matters")).json()["items"]] == ["Ours"]
