"""The team's outgoing allowance (seed 003): counted in segments in the send's own write, so
concurrent sends never pass a refusing allowance; refused sends answer 409 `quota_exhausted`
(REST) or an `error` frame with the ref (socket) and store nothing; HELP is still answered;
an overage allowance keeps sending and records the overage; admins are told at 90 %."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import Running
from tests.helpers import FRONT_DESK, Agent, login

LIMIT = 5
CONCURRENT_SENDS = 12


def customer(i: int) -> str:
    return f"+1555772{i:04d}"


async def conversations(client: httpx.AsyncClient, count: int) -> list[int]:
    ids = []
    for i in range(count):
        made = await client.post("/api/v1/conversations", json={"inbox_id": 1, "to": customer(i)})
        assert made.status_code in (200, 201), made.text
        ids.append(int(made.json()["id"]))
    return ids


async def set_allowance(client: httpx.AsyncClient, limit: int | None, when_out: str) -> None:
    response = await client.put("/api/v1/allowance", json={"limit": limit, "when_out": when_out})
    assert response.status_code == 200, response.text


async def counter(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/v1/allowance")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_concurrent_sends_never_pass_a_refusing_allowance(app_server: Running) -> None:
    alice = await login(app_server.url, "alice")
    await set_allowance(alice, LIMIT, "refuse")
    ids = await conversations(alice, CONCURRENT_SENDS)
    answers = await asyncio.gather(
        *(
            alice.post(
                f"/api/v1/conversations/{c}/messages", json={"body": "Your papers are ready"}
            )
            for c in ids
        )
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * LIMIT + [409] * (CONCURRENT_SENDS - LIMIT), statuses
    refused = [a.json()["error"]["code"] for a in answers if a.status_code == 409]
    assert set(refused) == {"quota_exhausted"}
    shown = await counter(alice)
    assert (shown["used"], shown["limit"], shown["remaining"]) == (LIMIT, LIMIT, 0)
    assert shown["exhausted"] and shown["overage"] == 0
    # A refused send stored nothing: only the texts that went are in the threads.
    stored = 0
    for c in ids:
        items = (await alice.get(f"/api/v1/conversations/{c}/messages")).json()["items"]
        stored += sum(1 for m in items if m["direction"] == "outbound")
    assert stored == LIMIT
    sent = await asyncio.to_thread(app_server.fake.wait_for_messages, LIMIT, 30.0)
    assert len(sent) == LIMIT

    # A bulk send skips every recipient past it; the socket refuses with the command's ref.
    bulk = await alice.post(
        "/api/v1/inboxes/1/bulk", json={"body": "Closed Friday", "numbers": [customer(90)]}
    )
    assert bulk.status_code == 200
    assert bulk.json()["items"][0]["error"]["code"] == "quota_exhausted"
    ws = await Agent.connect(app_server.url, cookies=alice.cookies)
    frame = await ws.command("message.send", {"conversation_id": ids[-1], "body": "again?"})
    assert frame["type"] == "error" and frame["error"]["code"] == "quota_exhausted"
    assert frame["ref"]

    # HELP is still answered (carriers require it), and counts.
    await app_server.twilio.inbound(FRONT_DESK, customer(0), "HELP")
    await ws.next_event(
        "message.created",
        lambda d: d["message"]["direction"] == "outbound" and d["message"]["automatic"],
    )
    assert (await counter(alice))["used"] == LIMIT + 1
    await ws.close()


async def test_an_overage_allowance_keeps_sending_and_admins_are_warned_at_90_percent(
    app_server: Running,
) -> None:
    alice = await login(app_server.url, "alice")
    await set_allowance(alice, 10, "overage")
    admin = await Agent.connect(app_server.url, cookies=alice.cookies)
    bob = await login(app_server.url, "bob")
    assert (await counter(bob))["limit"] == 10  # any member reads the counter
    refused = await bob.put("/api/v1/allowance", json={"limit": None, "when_out": "refuse"})
    assert refused.status_code == 403
    body = "x" * 200  # two segments (153 a segment when split)
    ids = await conversations(bob, 6)
    for c in ids[:4]:
        sent = await bob.post(f"/api/v1/conversations/{c}/messages", json={"body": body})
        assert sent.status_code == 201, sent.text
    shown = await counter(bob)
    assert (shown["used"], shown["warning"], shown["exhausted"]) == (8, False, False)
    sent = await bob.post(f"/api/v1/conversations/{ids[4]}/messages", json={"body": body})
    assert sent.status_code == 201
    warned = await admin.next_event("team.allowance", lambda d: d["reached"] is not None)
    assert warned["data"]["reached"] == 100 and warned["data"]["allowance"]["used"] == 10
    over = await bob.post(f"/api/v1/conversations/{ids[5]}/messages", json={"body": body})
    assert over.status_code == 201  # past it: sent, and the overage recorded
    shown = await counter(bob)
    assert (shown["used"], shown["overage"], shown["remaining"]) == (12, 2, 0)
    await admin.close()


async def test_the_warning_comes_once_at_90_percent(app_server: Running) -> None:
    alice = await login(app_server.url, "alice")
    await set_allowance(alice, 10, "refuse")
    admin = await Agent.connect(app_server.url, cookies=alice.cookies)
    ids = await conversations(alice, 10)
    for c in ids[:9]:
        sent = await alice.post(f"/api/v1/conversations/{c}/messages", json={"body": "hi"})
        assert sent.status_code == 201
    warned = await admin.next_event("team.allowance", lambda d: d["reached"] is not None)
    assert warned["data"]["reached"] == 90 and warned["data"]["allowance"]["warning"]
    sent = await alice.post(f"/api/v1/conversations/{ids[9]}/messages", json={"body": "hi"})
    assert sent.status_code == 201
    full = await admin.next_event("team.allowance", lambda d: d["reached"] is not None)
    assert full["data"]["reached"] == 100
    reached = [
        f["data"]["reached"]
        for f in admin.received
        if f.get("type") == "team.allowance" and f["data"]["reached"] is not None
    ]
    assert reached == [90, 100]  # each level once
    await admin.close()


async def test_allowance_input_is_checked(app_server: Running) -> None:
    alice = await login(app_server.url, "alice")
    for bad in (
        {"limit": -1, "when_out": "refuse"},
        {"limit": "many", "when_out": "refuse"},
        {"limit": 10, "when_out": "sometimes"},
        {"limit": 10},
    ):
        response = await alice.put("/api/v1/allowance", json=bad)
        assert response.status_code == 422, bad
        assert response.json()["error"]["code"] == "invalid"
    shown = await counter(alice)
    assert (shown["limit"], shown["when_out"]) == (100, "overage")  # a new team's default
