"""The example bot, `switchboard bot --url URL --token TOKEN --rules FILE`: its own process on
the socket bus (realtime/client.py: hello with the last event id, reconnect with backoff).

It answers inbound texts of the inboxes set to `unsolicited: bot` that name it in
`unsolicited_to` (or name no bot: then any bot member answers) while no human has taken the
conversation (no assignee, not handed off), with the same send rules as a person (socket
`message.send`). It follows `inbox.updated` events, so an admin's change takes effect at
once. A text containing the hand-off keyword hands the conversation to the agents.
The rules file is JSON:

    {"replies": [{"keyword": "hours", "reply": "We're open 9 to 5, Monday to Friday."}],
     "handoff": {"keyword": "agent", "reply": "Passing you to a person now."},
     "fallback": "Sorry, I didn't get that. Text AGENT to reach a person."}
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from inbox.optout import keyword_action
from realtime.client import BusClient
from realtime.errors import CommandError, ConnectionLostError

logger = logging.getLogger("switchboard.bot")

HTTP_TIMEOUT_SECS = 30.0  # a REST call waits on the store only; generous for a busy server
# Retry pace while the server is not up yet at start: as the bus client's reconnects.
FIRST_RETRY_SECS = 0.5
MAX_RETRY_SECS = 30.0


@dataclass
class Rules:
    replies: list[tuple[str, str]]
    handoff_keyword: str
    handoff_reply: str | None = None
    fallback: str | None = None

    @classmethod
    def load(cls, path: Path) -> Rules:
        raw = json.loads(path.read_text())
        replies = [(str(r["keyword"]).lower(), str(r["reply"])) for r in raw.get("replies", [])]
        handoff = raw.get("handoff") or {}
        return cls(
            replies,
            str(handoff.get("keyword", "agent")).lower(),
            handoff.get("reply"),
            raw.get("fallback"),
        )

    def decide(self, body: str) -> tuple[str, str | None]:
        """("handoff", reply or None) or ("reply", text) or ("ignore", None)."""
        words = body.lower()
        if self.handoff_keyword and self.handoff_keyword in words:
            return "handoff", self.handoff_reply
        for keyword, reply in self.replies:
            if keyword in words:
                return "reply", reply
        return ("reply", self.fallback) if self.fallback else ("ignore", None)


@dataclass
class Bot:
    url: str
    token: str
    rules: Rules
    inboxes: set[int] = field(default_factory=set)  # inboxes set to `bot` that it serves
    me: int | None = None  # its own user id
    answered: set[int] = field(default_factory=set)  # inbound message ids already handled

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=HTTP_TIMEOUT_SECS,
        )

    async def refresh(self) -> int:
        """Which inboxes hand their unsolicited texts to bots (again after a resync), and the
        team's newest event id: the bot answers what comes after it, even across reconnects."""
        async with self.http() as client:
            me = await client.get("/api/v1/me")
            me.raise_for_status()
            response = await client.get("/api/v1/inboxes")
            response.raise_for_status()
            items = response.json()["items"]
        self.me = int(me.json()["id"])
        self.inboxes = {i["id"] for i in items if self.serves(i)}
        logger.info("serving inboxes %s", sorted(self.inboxes))
        return int(me.json()["last_event_id"])

    def serves(self, inbox: dict[str, Any]) -> bool:
        """Whether this bot answers the inbox's unsolicited texts."""
        named = inbox.get("unsolicited_to") or []
        return inbox.get("unsolicited") == "bot" and (not named or self.me in named)

    def follow(self, inbox: dict[str, Any]) -> None:
        """An admin changed the inbox (`inbox.updated`): serve it from now on, or stop."""
        before = inbox["id"] in self.inboxes
        if self.serves(inbox) and not inbox.get("archived"):
            self.inboxes.add(inbox["id"])
        else:
            self.inboxes.discard(inbox["id"])
        if before != (inbox["id"] in self.inboxes):
            logger.info("serving inboxes %s", sorted(self.inboxes))

    def wants(self, data: dict[str, Any]) -> bool:
        message, conversation = data["message"], data["conversation"]
        return (
            message["direction"] == "inbound"
            and message["id"] not in self.answered
            and conversation["inbox_id"] in self.inboxes
            and conversation["assignee"] is None
            and not conversation.get("handed_off")
            and not conversation["read_only"]
            and not conversation.get("opted_out")
            and keyword_action(message["body"]) is None  # STOP/HELP are the server's
        )

    async def handle(self, bus: BusClient, data: dict[str, Any]) -> None:
        message, conversation_id = data["message"], data["conversation"]["id"]
        if not self.wants(data):
            logger.info(
                "message %s: not mine (taken, handed off or not a bot inbox)", message["id"]
            )
            return
        self.answered.add(message["id"])
        action, text = self.rules.decide(message["body"])
        if text:
            try:
                await bus.command(
                    "message.send", {"conversation_id": conversation_id, "body": text}
                )
            except (CommandError, ConnectionLostError) as exc:
                logger.warning("message %s: reply refused: %s", message["id"], exc)
            await self.release(bus, conversation_id)
        if action == "handoff":
            async with self.http() as client:
                response = await client.post(
                    f"/api/v1/conversations/{conversation_id}/handoff", json={"user_id": None}
                )
            logger.info("message %s: handed off (%s)", message["id"], response.status_code)
        else:
            logger.info("message %s: %s", message["id"], "answered" if text else "no rule")

    async def first_refresh(self) -> int:
        """`refresh`, retried with backoff while the server is not up yet (started together)."""
        delay = FIRST_RETRY_SECS
        while True:
            try:
                return await self.refresh()
            except httpx.TransportError as exc:
                logger.info("server not reachable (%s); retrying in %.1f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_SECS)

    async def release(self, bus: BusClient, conversation_id: int) -> None:
        """A send takes the conversation's lock; give it back at once so agents can reply."""
        try:
            await bus.command("lock.release", {"conversation_id": conversation_id})
        except (CommandError, ConnectionLostError) as exc:
            logger.debug("lock of %s not released: %s", conversation_id, exc)

    async def run(self) -> None:
        start = await self.first_refresh()
        async with BusClient(self.url, token=self.token, last_event_id=start) as bus:
            logger.info("connected to %s", self.url)
            async for event in bus.events():
                if event["type"] == "resync":
                    await self.refresh()
                elif event["type"] == "message.created":
                    await self.handle(bus, event["data"])
                elif event["type"] in ("inbox.created", "inbox.updated"):
                    self.follow(event["data"]["inbox"])
