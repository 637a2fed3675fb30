"""Twilio's delivery statuses (its Message resource documents thirteen): every one is taken,
and a message's status only ever moves forward, whatever order the callbacks come in."""

from __future__ import annotations

import httpx

from tests.conftest import Running
from tests.helpers import login

# https://www.twilio.com/docs/messaging/api/message-resource#message-status-values
DOCUMENTED = (
    "accepted",
    "scheduled",
    "canceled",
    "queued",
    "sending",
    "sent",
    "failed",
    "delivered",
    "undelivered",
    "receiving",
    "received",
    "read",
    "partially_delivered",
)


async def _reply(client: httpx.AsyncClient, text: str) -> int:
    started = await client.post("/api/v1/conversations", json={"inbox_id": 1, "to": "+15551117777"})
    conversation_id = started.json()["id"]
    sent = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"body": text}
    )
    assert sent.status_code == 201, sent.text
    return int(sent.json()["id"])


async def _report(running: Running, message_id: int, status: str) -> httpx.Response:
    params = {"MessageStatus": status, "AccountSid": running.fake.account_sid}
    return await running.twilio.post(f"/webhooks/twilio/status?message_id={message_id}", params)


async def _status(client: httpx.AsyncClient, message_id: int) -> str:
    conversation = (await client.get("/api/v1/inboxes/1/conversations")).json()["items"][0]
    history = await client.get(f"/api/v1/conversations/{conversation['id']}/messages")
    (message,) = [m for m in history.json()["items"] if m["id"] == message_id]
    return str(message["status"])


async def test_every_documented_status_is_accepted(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    message_id = await _reply(bob, "Your table is ready.")
    for status in DOCUMENTED:
        response = await _report(app_server, message_id, status)
        assert response.status_code == 200, (status, response.text)
    unknown = await _report(app_server, message_id, "exploded")
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "invalid"


async def test_status_never_goes_backwards(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    read = await _reply(bob, "See you at 8.")
    for status in ("sent", "partially_delivered", "read", "delivered", "sent", "queued"):
        assert (await _report(app_server, read, status)).status_code == 200
    assert await _status(bob, read) == "read"

    canceled = await _reply(bob, "Reminder: tomorrow at 9.")
    for status in ("scheduled", "canceled", "sending", "queued"):
        assert (await _report(app_server, canceled, status)).status_code == 200
    assert await _status(bob, canceled) == "canceled"
