from __future__ import annotations

import asyncio

import httpx

from tests.conftest import Running
from tests.helpers import FRONT_DESK, Agent, login


async def conversation_with(client: httpx.AsyncClient, number: str) -> int:
    response = await client.post("/api/v1/conversations", json={"inbox_id": 1, "to": number})
    assert response.status_code in (200, 201), response.text
    return int(response.json()["id"])


async def test_reply_goes_through_twilio_and_status_callback_updates_it(
    app_server: Running,
) -> None:
    bob = await login(app_server.url, "bob")
    carol = await login(app_server.url, "carol")
    carol_ws = await Agent.connect(app_server.url, cookies=carol.cookies)
    conversation_id = await conversation_with(bob, "+15551115555")

    response = await bob.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"body": "We open at 9."}
    )
    assert response.status_code == 201, response.text
    sent = response.json()
    assert sent["sender"]["name"] == "Bob Agent"
    assert sent["status"] == "queued"

    created = await carol_ws.next_event("message.created")
    assert created["data"]["message"]["body"] == "We open at 9."
    assert created["data"]["message"]["sender"] == {
        "id": sent["sender"]["id"],
        "name": "Bob Agent",
        "kind": "user",
    }

    # The fake Twilio got exactly this text, from the inbox's number, with our status callback.
    (twilio_message,) = await asyncio.to_thread(app_server.fake.wait_for_messages, 1)
    assert (twilio_message["to"], twilio_message["from"], twilio_message["body"]) == (
        "+15551115555",
        FRONT_DESK,
        "We open at 9.",
    )
    callback = twilio_message["status_callback"]
    assert callback == f"{app_server.url}/webhooks/twilio/status?message_id={sent['id']}"

    # Twilio reports the delivery: signed, and a late "sent" after "delivered" changes nothing.
    path = callback.removeprefix(app_server.url)
    for status in ("delivered", "sent"):
        params = {
            "MessageSid": twilio_message["sid"],
            "MessageStatus": status,
            "AccountSid": app_server.fake.account_sid,
        }
        assert (await app_server.twilio.post(path, params)).status_code == 200
    await carol_ws.next_event("message.status", lambda d: d["message"]["status"] == "delivered")

    history = (await bob.get(f"/api/v1/conversations/{conversation_id}/messages")).json()["items"]
    assert history[-1]["status"] == "delivered"
    assert history[-1]["body"] == "We open at 9."
    await carol_ws.close()


async def test_twilio_500_then_success_sends_exactly_once(app_server: Running) -> None:
    app_server.fake.fail_next = [500, 503]
    bob = await login(app_server.url, "bob")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    conversation_id = await conversation_with(bob, "+15551116666")
    response = await bob.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"body": "Retry me"}
    )
    assert response.status_code == 201
    messages = await asyncio.to_thread(app_server.fake.wait_for_messages, 1)
    assert [m["body"] for m in messages] == ["Retry me"]
    assert app_server.fake.create_calls == 3  # two refused with 5xx, then the one that took
    # Twilio's status callback for that one sid moves our one message forward.
    params = {"MessageSid": messages[0]["sid"], "MessageStatus": "sent"}
    path = messages[0]["status_callback"].removeprefix(app_server.url)
    await app_server.twilio.post(path, params)
    await bob_ws.next_event("message.status", lambda d: d["message"]["status"] == "sent")
    history = (await bob.get(f"/api/v1/conversations/{conversation_id}/messages")).json()["items"]
    assert [m["body"] for m in history] == ["Retry me"]
    await bob_ws.close()


async def test_timed_out_send_is_not_sent_again(app_server: Running) -> None:
    """Twilio took the text but the answer never came: the retry finds it instead of resending."""
    import threading

    app_server.fake.hold = threading.Event()
    bob = await login(app_server.url, "bob")
    conversation_id = await conversation_with(bob, "+15551110000")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    await bob.post(f"/api/v1/conversations/{conversation_id}/messages", json={"body": "Only once"})
    (taken,) = await asyncio.to_thread(app_server.fake.wait_for_messages, 1)
    # The client gives up waiting, asks Twilio what it has, and adopts the text it finds.
    status = await bob_ws.next_event("message.status")
    app_server.fake.hold.set()
    assert status["data"]["message"]["provider_sid"] == taken["sid"]
    assert status["data"]["message"]["status"] == "queued"
    assert app_server.fake.create_calls == 1
    await bob_ws.close()


async def test_provider_refusal_is_stored_on_the_message_and_shown(app_server: Running) -> None:
    app_server.fake.refused["+15551117777"] = 21211
    bob = await login(app_server.url, "bob")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    conversation_id = await conversation_with(bob, "+15551117777")
    await bob.post(f"/api/v1/conversations/{conversation_id}/messages", json={"body": "Hello?"})
    status = await bob_ws.next_event("message.status", lambda d: d["message"]["status"] == "failed")
    assert status["data"]["message"]["error_code"] == "21211"
    history = (await bob.get(f"/api/v1/conversations/{conversation_id}/messages")).json()["items"]
    assert history[-1]["status"] == "failed"
    assert app_server.fake.create_calls == 1  # a 4xx is final: no retry
    await bob_ws.close()


async def test_send_rules_answer_clear_errors(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    conversation_id = await conversation_with(bob, "+15551118888")
    url = f"/api/v1/conversations/{conversation_id}/messages"
    too_long = await bob.post(url, json={"body": "x" * 1601})
    assert too_long.status_code == 422
    assert too_long.json()["error"]["code"] == "too_long"
    empty = await bob.post(url, json={"body": "  "})
    assert empty.status_code == 422
    not_json = await bob.post(url, content=b"{nope", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400
    assert not_json.json()["error"]["code"] == "invalid_json"
    assert app_server.fake.create_calls == 0
    history = (await bob.get(url)).json()["items"]
    assert history == []


async def test_socket_send_is_acked_with_the_message(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    conversation_id = await conversation_with(bob, "+15551119999")
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    ack = await bob_ws.command(
        "message.send", {"conversation_id": conversation_id, "body": "From the socket"}
    )
    assert ack["type"] == "ack"
    assert ack["data"]["message"]["body"] == "From the socket"
    refused = await bob_ws.command("message.send", {"conversation_id": conversation_id, "body": ""})
    assert refused["type"] == "error"
    assert refused["error"]["code"] == "empty"
    await bob_ws.close()
