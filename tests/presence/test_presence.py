"""Presence: online, away, offline and viewing, folded over all of a user's connections."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.helpers import Agent, login
from tests.presence.conftest import ServerFactory, new_conversation


def about(name: str, status: str) -> Any:
    return lambda data: data["user"]["name"] == name and data["status"] == status


async def test_presence_online_away_offline_and_viewing(lock_server: ServerFactory) -> None:
    # Long enough that a loaded machine still views before bob goes away (his `since` is then
    # the time he connected); the test waits for the away event, it does not sleep.
    async with lock_server(presence_away_after_secs=2.0) as app:
        bob, carol = await login(app.url, "bob"), await login(app.url, "carol")
        conversation = await new_conversation(bob, "+15552250001")
        carol_ws = await Agent.connect(app.url, cookies=carol.cookies)
        bob_ws = await Agent.connect(app.url, cookies=bob.cookies)
        online = await carol_ws.next_event("presence.changed", about("Bob Agent", "online"))
        assert online["data"]["viewing"] is None

        await bob_ws.command("conversation.view", {"conversation_id": conversation})
        viewing = await carol_ws.next_event(
            "presence.changed", lambda d: d["user"]["name"] == "Bob Agent" and d["viewing"]
        )
        assert viewing["data"] == {
            "user": online["data"]["user"],
            "status": "online",
            "viewing": conversation,
            "since": online["data"]["since"],  # still online since he connected
        }
        # No input on any of bob's connections for a while: away, still viewing.
        away = await carol_ws.next_event("presence.changed", about("Bob Agent", "away"))
        assert away["data"]["viewing"] == conversation
        assert away["data"]["since"] > online["data"]["since"]
        board = (await carol.get("/api/v1/presence")).json()["items"]
        assert away["data"] in board

        # A second tab with input brings him back; closing that one leaves the first.
        tab2 = await Agent.connect(app.url, cookies=bob.cookies)
        await tab2.command("conversation.view", {"conversation_id": None})
        back = await carol_ws.next_event("presence.changed", about("Bob Agent", "online"))
        assert back["data"]["viewing"] is None
        await tab2.close()
        await carol_ws.next_event(
            "presence.changed", lambda d: d["user"]["name"] == "Bob Agent" and d["viewing"]
        )
        await bob_ws.close()  # the last connection: offline at once
        gone = await carol_ws.next_event("presence.changed", about("Bob Agent", "offline"))
        assert gone["data"]["viewing"] is None
        board = (await carol.get("/api/v1/presence")).json()["items"]
        statuses = {i["user"]["name"]: i["status"] for i in board}
        assert statuses["Bob Agent"] == "offline"
        assert statuses["Carol Supervisor"] in ("online", "away")
        await carol_ws.close()


async def test_every_tab_of_a_user_outlives_the_presence_ttl(lock_server: ServerFactory) -> None:
    ttl = 0.5
    async with lock_server(presence_ttl_secs=ttl) as app:
        bob, carol = await login(app.url, "bob"), await login(app.url, "carol")
        conversation = await new_conversation(bob, "+15552250002")
        carol_ws = await Agent.connect(app.url, cookies=carol.cookies)
        tabs = [await Agent.connect(app.url, cookies=bob.cookies) for _ in range(3)]
        await carol_ws.next_event("presence.changed", about("Bob Agent", "online"))
        # Several TTLs with no input: only the server's heartbeats keep the three tabs alive.
        await asyncio.sleep(4 * ttl)
        for tab in tabs[:2]:
            await tab.close()
        # The third tab was refreshed too: bob is online, and his view still reaches carol.
        await tabs[2].command("conversation.view", {"conversation_id": conversation})
        seen = await carol_ws.next_event(
            "presence.changed", lambda d: d["user"]["name"] == "Bob Agent" and d["viewing"]
        )
        assert (seen["data"]["status"], seen["data"]["viewing"]) == ("online", conversation)
        board = (await carol.get("/api/v1/presence")).json()["items"]
        assert {i["user"]["name"]: i["status"] for i in board}["Bob Agent"] == "online"
        await tabs[2].close()
        await carol_ws.next_event("presence.changed", about("Bob Agent", "offline"))
        await carol_ws.close()
