"""Parts the outbox and webhook-spool fault cases share: a reply sent as an agent and watched
until the outbox settles it, and what the fake Twilio ended up holding."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from tests.fake_twilio import FakeTwilio
from tests.helpers import EVENT_WAIT_SECS, Agent


@dataclass
class Reply:
    conversation_id: int
    message_id: int
    body: str


async def start_conversation(client: httpx.AsyncClient, number: str, inbox_id: int = 1) -> int:
    response = await client.post("/api/v1/conversations", json={"inbox_id": inbox_id, "to": number})
    assert response.status_code in (200, 201), response.text
    return int(response.json()["id"])


async def reply(client: httpx.AsyncClient, number: str, body: str) -> Reply:
    """Send `body` to `number` as the logged-in agent; the answer is 201 and `queued`."""
    conversation_id = await start_conversation(client, number)
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"body": body}
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "queued"
    return Reply(conversation_id, int(response.json()["id"]), body)


def settled(data: dict[str, Any], message_id: int) -> bool:
    """A `message.status` of this message that says the outbox is done with it: Twilio's sid
    is known, or it failed."""
    message = data["message"]
    return bool(
        message["id"] == message_id and (message["provider_sid"] or message["status"] == "failed")
    )


async def wait_settled(
    agent: Agent, message_id: int, timeout: float = EVENT_WAIT_SECS
) -> dict[str, Any]:
    """The message as the live event shows it once settled."""
    event = await agent.next_event("message.status", lambda d: settled(d, message_id), timeout)
    message: dict[str, Any] = event["data"]["message"]
    return message


async def history(client: httpx.AsyncClient, conversation_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/conversations/{conversation_id}/messages")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def texts_to(fake: FakeTwilio, number: str) -> list[dict[str, Any]]:
    """The texts Twilio holds for `number`, oldest first."""
    with fake.changed:
        return [m for m in fake.messages if m["to"] == number]


async def wait_for(fake: FakeTwilio, done: Any, timeout: float = EVENT_WAIT_SECS) -> None:
    await asyncio.to_thread(fake.wait_until, done, timeout)
