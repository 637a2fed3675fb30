"""Tags over REST: admins keep the team's list, members tag conversations, the list filters by
tag, and every change is an event; bad input and other teams' tags change nothing."""

from __future__ import annotations

from tests.accounts import make_other_team
from tests.conftest import Running
from tests.helpers import Agent, login

DANA, MARCUS, PRIYA = 1, 2, 3


async def test_tags_are_kept_by_admins_put_on_by_members_and_filter_the_list(
    app_server: Running,
) -> None:
    alice, bob = await login(app_server.url, "alice"), await login(app_server.url, "bob")
    carol = await login(app_server.url, "carol")
    carol_ws = await Agent.connect(app_server.url, cookies=carol.cookies)
    made = await alice.post("/api/v1/tags", json={"name": " VIP  customer ", "colour": "#D97706"})
    assert made.status_code == 201, made.text
    vip = made.json()
    assert vip == {"id": vip["id"], "name": "VIP customer", "colour": "#d97706"}
    assert (await carol_ws.next_event("tag.updated"))["data"]["tag"] == vip
    assert (await bob.post("/api/v1/tags", json={"name": "Mine"})).status_code == 403
    for body, status, code in [
        ({"name": "vip CUSTOMER"}, 409, "exists"),
        ({"name": "x", "colour": "red"}, 422, "invalid_colour"),
        ({"name": "x" * 41}, 422, "too_long"),
        ({"name": ""}, 422, "invalid"),
    ]:
        refused = await alice.post("/api/v1/tags", json=body)
        assert (refused.status_code, refused.json()["error"]["code"]) == (status, code)
    assert [t["name"] for t in (await bob.get("/api/v1/tags")).json()["items"]] == ["VIP customer"]

    tagged = await bob.post(f"/api/v1/conversations/{DANA}/tags", json={"tag_id": vip["id"]})
    assert tagged.status_code == 200 and tagged.json()["tags"] == [vip]
    event = await carol_ws.next_event("conversation.updated")
    assert event["data"]["conversation"]["tags"] == [vip]
    again = await bob.post(f"/api/v1/conversations/{DANA}/tags", json={"tag_id": vip["id"]})
    assert again.json()["tags"] == [vip]  # already there: no change
    page = (await bob.get(f"/api/v1/inboxes/1/conversations?tag={vip['id']}")).json()
    assert [c["id"] for c in page["items"]] == [DANA]
    assert (await bob.get("/api/v1/inboxes/1/conversations?tag=vip")).status_code == 422

    renamed = await alice.patch(f"/api/v1/tags/{vip['id']}", json={"name": "VIP"})
    assert renamed.json()["name"] == "VIP"
    assert (await carol_ws.next_event("tag.updated"))["data"]["tag"]["name"] == "VIP"
    listed = (await bob.get("/api/v1/inboxes/1/conversations")).json()["items"]
    assert {c["id"]: [t["name"] for t in c["tags"]] for c in listed} == {DANA: ["VIP"], MARCUS: []}

    untagged = await bob.delete(f"/api/v1/conversations/{DANA}/tags/{vip['id']}")
    assert untagged.json()["tags"] == []
    assert (await carol_ws.next_event("conversation.updated"))["data"]["conversation"]["tags"] == []

    await bob.post(f"/api/v1/conversations/{MARCUS}/tags", json={"tag_id": vip["id"]})
    assert (await bob.delete(f"/api/v1/tags/{vip['id']}")).status_code == 403
    assert (await alice.delete(f"/api/v1/tags/{vip['id']}")).status_code == 204
    assert (await carol_ws.next_event("tag.deleted"))["data"] == {"tag_id": vip["id"]}
    assert (await bob.get(f"/api/v1/conversations/{MARCUS}")).json()["tags"] == []
    await carol_ws.close()


async def test_other_teams_tags_and_inboxes_stay_out_of_reach(app_server: Running) -> None:
    other = await make_other_team(app_server.settings)
    alice, bob = await login(app_server.url, "alice"), await login(app_server.url, "bob")
    zed = await login(app_server.url, "zed")
    mine = (await alice.post("/api/v1/tags", json={"name": "Ours"})).json()
    assert [t["name"] for t in (await zed.get("/api/v1/tags")).json()["items"]] == ["Secret"]
    assert [t["name"] for t in (await bob.get("/api/v1/tags")).json()["items"]] == ["Ours"]
    theirs = await bob.post(f"/api/v1/conversations/{DANA}/tags", json={"tag_id": other.tag_id})
    assert theirs.status_code == 404
    assert (await zed.patch(f"/api/v1/tags/{mine['id']}", json={"name": "Mine"})).status_code == 404
    assert (await zed.delete(f"/api/v1/tags/{mine['id']}")).status_code == 404
    into = await zed.post(f"/api/v1/conversations/{DANA}/tags", json={"tag_id": other.tag_id})
    assert into.status_code == 403
    billing = await bob.post(f"/api/v1/conversations/{PRIYA}/tags", json={"tag_id": mine["id"]})
    assert billing.status_code == 403
    assert (await bob.post(f"/api/v1/conversations/{DANA}/tags", json={})).status_code == 422
    assert (await bob.get(f"/api/v1/conversations/{DANA}")).json()["tags"] == []
    assert [t["name"] for t in (await alice.get("/api/v1/tags")).json()["items"]] == ["Ours"]
