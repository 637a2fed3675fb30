from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from realtime.client import BusClient, BusClientError, CommandError
from realtime.events import server_frame
from server.app import create_app
from tests.conftest import Running
from tests.helpers import FRONT_DESK, ServerThread
from tests.realtime.bots import make_bot


async def next_message(events: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    async for event in events:
        server_frame.validate_python(event)
        if event["type"] == "message.created":
            return event
    raise AssertionError("the event stream ended")


async def test_bot_receives_inbound_texts_and_replies_with_an_acked_command(
    app_server: Running,
) -> None:
    token = await make_bot(app_server.settings, "helper", [1])
    async with BusClient(app_server.url, token=token) as bot:
        events = bot.events()
        await app_server.twilio.inbound(FRONT_DESK, "+15554440001", "Are you open?")
        event = await next_message(events)
        assert event["data"]["message"]["body"] == "Are you open?"
        conversation_id = event["data"]["conversation"]["id"]
        ack = await bot.command(
            "message.send", {"conversation_id": conversation_id, "body": "Yes, 9 to 5."}
        )
        assert ack["message"]["sender"]["kind"] == "bot"
        assert ack["message"]["body"] == "Yes, 9 to 5."
        with pytest.raises(CommandError) as refused:
            await bot.command("message.send", {"conversation_id": conversation_id, "body": ""})
        assert refused.value.code != ""
        assert bot.last_event_id is not None and bot.last_event_id >= event["id"]


async def test_bot_with_a_bad_token_is_refused_for_good(app_server: Running) -> None:
    with pytest.raises(BusClientError):
        async with BusClient(app_server.url, token="sb_not-a-token"):
            pass


async def test_bot_reconnects_after_a_server_restart_and_misses_nothing(
    app_server: Running,
) -> None:
    token = await make_bot(app_server.settings, "steady", [1])
    second = ServerThread(create_app(app_server.settings))
    with second:
        async with BusClient(second.url, token=token) as bot:
            events = bot.events()
            await app_server.twilio.inbound(FRONT_DESK, "+15554440002", "before")
            assert (await next_message(events))["data"]["message"]["body"] == "before"
            port = second.port
            second.__exit__(None, None, None)  # the bot's server goes away mid-stream
            for i in range(3):  # the other server takes texts meanwhile
                await app_server.twilio.inbound(FRONT_DESK, "+15554440002", f"while away {i}")
            with ServerThread(create_app(app_server.settings), port):
                bodies = [(await next_message(events))["data"]["message"]["body"] for _ in range(3)]
                await app_server.twilio.inbound(FRONT_DESK, "+15554440002", "after")
                bodies.append((await next_message(events))["data"]["message"]["body"])
            assert bodies == ["while away 0", "while away 1", "while away 2", "after"]
            assert bot.connects == 2


async def test_bot_told_to_resync_gets_a_resync_item_then_live_events(
    app_server: Running,
) -> None:
    token = await make_bot(app_server.settings, "forgetful", [1])
    async with BusClient(app_server.url, token=token, last_event_id=10**9) as bot:
        events = bot.events()
        assert await anext(events) == {"type": "resync"}
        await app_server.twilio.inbound(FRONT_DESK, "+15554440003", "fresh start")
        assert (await next_message(events))["data"]["message"]["body"] == "fresh start"
        assert bot.last_event_id is not None and bot.last_event_id < 10**9
