from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from server.app import create_app
from tests.conftest import Running, make_settings
from tests.fake_twilio import FakeTwilio
from tests.helpers import (
    EVENT_WAIT_SECS,
    FRONT_DESK,
    SERVE_START_SECS,
    Agent,
    ServerThread,
    Twilio,
    free_port,
    login,
)
from tests.realtime.bots import make_bot

# A hang guard: the bot's backoff may have grown while the server was down.
RECONNECT_WAIT_SECS = 60.0
RULES = {
    "replies": [{"keyword": "hours", "reply": "We're open 9 to 5, Monday to Friday."}],
    "handoff": {"keyword": "agent", "reply": "Passing you to a person now."},
}


async def wait_line(
    proc: asyncio.subprocess.Process, needle: str, within: float = EVENT_WAIT_SECS
) -> str:
    """The bot's next log line containing `needle` (its log is how it says it chose not to act)."""
    assert proc.stderr is not None
    async with asyncio.timeout(within):
        while True:
            line = (await proc.stderr.readline()).decode()
            if not line:
                raise AssertionError(f"the bot exited before logging {needle!r}")
            if needle in line:
                return line


async def test_example_bot_answers_and_hands_off_as_its_own_process(
    app_server: Running, tmp_path: Path
) -> None:
    token = await make_bot(app_server.settings, "helper", [1])
    alice, bob = await login(app_server.url, "alice"), await login(app_server.url, "bob")
    patched = await alice.patch("/api/v1/inboxes/1", json={"unsolicited": "bot"})
    assert patched.json()["unsolicited"] == "bot"
    assert (await bob.patch("/api/v1/inboxes/1", json={"unsolicited": "agent"})).status_code == 403
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(RULES))
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    proc = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "server.cli", "bot", "--url", app_server.url],
        *["--token", token, "--rules", str(rules)],
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await wait_line(proc, "connected to", SERVE_START_SECS)  # a Python starting
        customer = "+15558880001"
        await app_server.twilio.inbound(FRONT_DESK, customer, "What are your hours?")
        answer = await bob_ws.next_event(
            "message.created", lambda d: d["message"]["direction"] == "outbound"
        )
        message = answer["data"]["message"]
        assert message["body"] == RULES["replies"][0]["reply"]  # type: ignore[index]
        assert message["sender"]["kind"] == "bot"
        assert message["automatic"] is False

        await app_server.twilio.inbound(FRONT_DESK, customer, "Can I talk to an agent?")
        passing = await bob_ws.next_event(
            "message.created", lambda d: d["message"]["direction"] == "outbound"
        )
        assert passing["data"]["message"]["body"] == "Passing you to a person now."
        handed = await bob_ws.next_event(
            "conversation.updated", lambda d: d["conversation"]["handed_off"]
        )
        assert handed["data"]["conversation"]["assignee"] is None

        # Handed off: the bot leaves the conversation to the agents from now on.
        await app_server.twilio.inbound(FRONT_DESK, customer, "hours again?")
        later = await bob_ws.next_event("message.created")
        await wait_line(proc, f"message {later['data']['message']['id']}: not mine")

        # Archived and revived by a new text, it is a new request: the bot takes it again.
        handed_id = handed["data"]["conversation"]["id"]
        await bob.post(f"/api/v1/conversations/{handed_id}/archive")
        await app_server.twilio.inbound(FRONT_DESK, customer, "what are your hours now?")
        again = await bob_ws.next_event(
            "message.created", lambda d: d["message"]["direction"] == "outbound"
        )
        assert again["data"]["message"]["body"] == RULES["replies"][0]["reply"]  # type: ignore[index]

        # A conversation a human has taken is not the bot's either.
        other = "+15558880002"
        started = await bob.post("/api/v1/conversations", json={"inbox_id": 1, "to": other})
        me = (await bob.get("/api/v1/me")).json()["id"]
        await bob.post(f"/api/v1/conversations/{started.json()['id']}/assign", json={"user_id": me})
        await app_server.twilio.inbound(FRONT_DESK, other, "what are your hours")
        taken = await bob_ws.next_event(
            "message.created", lambda d: d["message"]["body"] == "what are your hours"
        )
        await wait_line(proc, f"message {taken['data']['message']['id']}: not mine")
        history = await bob.get(f"/api/v1/conversations/{started.json()['id']}/messages")
        assert [m["direction"] for m in history.json()["items"]] == ["inbound"]
    finally:
        proc.terminate()
        await proc.wait()
    await bob_ws.close()


async def test_example_bot_reconnects_after_a_server_restart(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    fake, fake_url = fake_twilio
    port = free_port()
    settings = make_settings(
        tmp_path / "data", clean_redis, port, fake, fake_url, database_url=database_url
    )
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(RULES))
    proc = None
    try:
        with ServerThread(create_app(settings), port) as server:
            token = await make_bot(settings, "helper", [1])
            alice = await login(server.url, "alice")
            await alice.patch("/api/v1/inboxes/1", json={"unsolicited": "bot"})
            proc = await asyncio.create_subprocess_exec(
                *[sys.executable, "-m", "server.cli", "bot", "--url", server.url],
                *["--token", token, "--rules", str(rules)],
                stderr=asyncio.subprocess.PIPE,
            )
            await wait_line(proc, "connected to", SERVE_START_SECS)  # a Python starting
        await wait_line(proc, "reconnecting")  # the server went away under it
        with ServerThread(create_app(settings), port) as server:
            twilio = Twilio(fake.auth_token, server.url)
            await twilio.inbound(FRONT_DESK, "+15558880003", "hours?")
            # The bot may still be backing off; it replays the text when it is back.
            (sent,) = await asyncio.to_thread(fake.wait_for_messages, 1, RECONNECT_WAIT_SECS)
            assert sent["body"] == RULES["replies"][0]["reply"]  # type: ignore[index]
    finally:
        if proc is not None:
            proc.terminate()
            await proc.wait()


async def test_only_the_bot_an_inbox_names_answers_and_it_follows_the_admins_change(
    app_server: Running, tmp_path: Path
) -> None:
    first, second = (
        await make_bot(app_server.settings, "first", [1]),
        await make_bot(app_server.settings, "second", [1]),
    )
    alice, bob = await login(app_server.url, "alice"), await login(app_server.url, "bob")
    bots = {u["name"]: u["id"] for u in (await alice.get("/api/v1/users")).json()["items"]}
    named = await alice.patch(
        "/api/v1/inboxes/1", json={"unsolicited": "bot", "unsolicited_to": [bots["Second"]]}
    )
    assert named.status_code == 200, named.text
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(RULES))
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    procs = [
        await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "server.cli", "bot", "--url", app_server.url],
            *["--token", token, "--rules", str(rules)],
            stderr=asyncio.subprocess.PIPE,
        )
        for token in (first, second)
    ]
    try:
        assert "serving inboxes []" in await wait_line(
            procs[0], "serving inboxes", SERVE_START_SECS
        )
        assert "serving inboxes [1]" in await wait_line(
            procs[1], "serving inboxes", SERVE_START_SECS
        )
        for proc in procs:
            await wait_line(proc, "connected to")
        await app_server.twilio.inbound(FRONT_DESK, "+15558880010", "hours?")
        answer = await bob_ws.next_event(
            "message.created", lambda d: d["message"]["direction"] == "outbound"
        )
        assert answer["data"]["message"]["sender"]["name"] == "Second"
        await wait_line(procs[0], "not mine")

        await alice.patch("/api/v1/inboxes/1", json={"unsolicited_to": [bots["First"]]})
        assert "serving inboxes [1]" in await wait_line(
            procs[0], "serving inboxes", SERVE_START_SECS
        )
        assert "serving inboxes []" in await wait_line(
            procs[1], "serving inboxes", SERVE_START_SECS
        )
        await app_server.twilio.inbound(FRONT_DESK, "+15558880011", "hours?")
        answer = await bob_ws.next_event(
            "message.created", lambda d: d["message"]["direction"] == "outbound"
        )
        assert answer["data"]["message"]["sender"]["name"] == "First"
    finally:
        for proc in procs:
            proc.terminate()
            await proc.wait()
    await bob_ws.close()
