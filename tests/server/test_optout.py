from __future__ import annotations

import asyncio

from tests.conftest import Running
from tests.helpers import FRONT_DESK, Agent, login

CUSTOMER = "+15552220001"


async def test_stop_refuses_sends_until_start(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    await app_server.twilio.inbound(FRONT_DESK, CUSTOMER, "  stop ")
    created = await bob_ws.next_event("message.created")
    conversation_id = created["data"]["conversation"]["id"]
    updated = await bob_ws.next_event("conversation.updated")
    assert updated["data"]["conversation"]["opted_out"] is True

    url = f"/api/v1/conversations/{conversation_id}/messages"
    refused = await bob.post(url, json={"body": "Are you sure?"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "opted_out"
    by_socket = await bob_ws.command(
        "message.send", {"conversation_id": conversation_id, "body": "Still there?"}
    )
    assert by_socket["error"]["code"] == "opted_out"
    listed = (await bob.get("/api/v1/inboxes/1/conversations")).json()["items"]
    assert [c["opted_out"] for c in listed if c["id"] == conversation_id] == [True]

    await app_server.twilio.inbound(FRONT_DESK, CUSTOMER, "Start")
    back = await bob_ws.next_event(
        "conversation.updated", lambda d: d["conversation"]["opted_out"] is False
    )
    assert back["data"]["conversation"]["id"] == conversation_id
    sent = await bob.post(url, json={"body": "Welcome back"})
    assert sent.status_code == 201, sent.text
    (only,) = await asyncio.to_thread(app_server.fake.wait_for_messages, 1)
    assert only["body"] == "Welcome back"  # the refused texts never reached Twilio
    await bob_ws.close()


async def test_every_stop_word_opts_out_but_a_sentence_does_not(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    words = ["STOPALL", "unsubscribe", "Cancel", "END", "quit", "REVOKE", "optout"]
    for i, word in enumerate(words):
        await app_server.twilio.inbound(FRONT_DESK, f"+1555222010{i}", word)
        await bob_ws.next_event("conversation.updated", lambda d: d["conversation"]["opted_out"])
    await app_server.twilio.inbound(FRONT_DESK, "+15552220199", "please stop by at noon")
    created = await bob_ws.next_event("message.created")
    assert created["data"]["conversation"]["opted_out"] is False
    await bob_ws.close()


async def test_help_gets_the_inbox_help_text_as_an_automatic_reply(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    await app_server.twilio.inbound(FRONT_DESK, CUSTOMER, "HELP")
    reply = await bob_ws.next_event(
        "message.created", lambda d: d["message"]["direction"] == "outbound"
    )
    message = reply["data"]["message"]
    assert message["automatic"] is True
    assert message["sender"] is None
    assert "Front Desk" in message["body"]
    (sent,) = await asyncio.to_thread(app_server.fake.wait_for_messages, 1)
    assert (sent["to"], sent["body"]) == (CUSTOMER, message["body"])
    await bob_ws.close()


async def test_twilio_21610_marks_the_number_opted_out(app_server: Running) -> None:
    app_server.fake.refused[CUSTOMER] = 21610
    bob = await login(app_server.url, "bob")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    started = await bob.post("/api/v1/conversations", json={"inbox_id": 1, "to": CUSTOMER})
    conversation_id = started.json()["id"]
    url = f"/api/v1/conversations/{conversation_id}/messages"
    assert (await bob.post(url, json={"body": "Hi"})).status_code == 201
    updated = await bob_ws.next_event(
        "conversation.updated", lambda d: d["conversation"]["opted_out"]
    )
    assert updated["data"]["conversation"]["id"] == conversation_id
    again = await bob.post(url, json={"body": "Hi again"})
    assert again.json()["error"]["code"] == "opted_out"
    assert app_server.fake.create_calls == 1
    await bob_ws.close()
