"""The phone simulator of the sandbox (what `make run` gives a newcomer) goes through the same
inbound flow as Twilio's webhook: STOP opts the number out, HELP is answered, and a text to an
away inbox gets the away message."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import FRONT_DESK, Agent, login

CUSTOMER = "+15558880001"


async def phone_texts(client: httpx.AsyncClient, body: str) -> dict[str, Any]:
    response = await client.post(
        "/simulator/messages", json={"from": CUSTOMER, "to": FRONT_DESK, "body": body}
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_the_simulators_text_to_an_away_inbox_gets_the_away_message(
    sandbox_server: str,
) -> None:
    alice = await login(sandbox_server, "alice")
    away = {"enabled": True, "message": "Closed for the holidays.", "timezone": "UTC"}
    assert (await alice.put("/api/v1/inboxes/1/out-of-office", json=away)).status_code == 200
    ws = await Agent.connect(sandbox_server, cookies=alice.cookies)
    await phone_texts(alice, "Are you open tomorrow?")
    reply = await ws.next_event(
        "message.created", lambda d: d["message"]["direction"] == "outbound"
    )
    assert reply["data"]["message"]["body"] == "Closed for the holidays."
    assert reply["data"]["message"]["automatic"] is True
    note = await alice.post(
        f"/api/v1/conversations/{reply['data']['conversation']['id']}/notes",
        json={"body": "they will text again on Monday"},
    )
    assert note.status_code == 201
    # The customer's phone shows the away message, as the simulator page lists it; never a note.
    phone = await alice.get("/simulator/messages", params={"phone": CUSTOMER})
    bodies = [m["body"] for m in phone.json()["items"]]
    assert bodies == ["Are you open tomorrow?", "Closed for the holidays."]
    await ws.close()


async def test_the_simulators_stop_opts_the_number_out_and_help_is_answered(
    sandbox_server: str,
) -> None:
    bob = await login(sandbox_server, "bob")
    ws = await Agent.connect(sandbox_server, cookies=bob.cookies)
    text = await phone_texts(bob, "HELP")
    answer = await ws.next_event(
        "message.created", lambda d: d["message"]["direction"] == "outbound"
    )
    assert "STOP" in answer["data"]["message"]["body"]
    await phone_texts(bob, "STOP")
    updated = await ws.next_event("conversation.updated", lambda d: d["conversation"]["opted_out"])
    assert updated["data"]["conversation"]["id"] == text["conversation_id"]
    refused = await bob.post(
        f"/api/v1/conversations/{text['conversation_id']}/messages", json={"body": "Still there?"}
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "opted_out"
    await ws.close()
