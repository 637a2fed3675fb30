from __future__ import annotations

from tests.conftest import Running
from tests.helpers import FRONT_DESK, Agent, login

BAD_FRAMES: list[tuple[str | bytes, str]] = [
    ("[" * 30_000 + "]" * 30_000, "invalid_json"),  # nests deeper than the JSON parser recurses
    ("", "invalid_json"),
    ("null", "invalid_command"),
    ("[1, 2]", "invalid_command"),
    ('{"type": 7}', "invalid_command"),
    ('{"type": "hello", "last_event_id": "yesterday"}', "invalid"),
    ('{"type": "hello", "last_event_id": -1}', "invalid"),
    ('{"type": "hello", "last_event_id": true}', "invalid"),
    ('{"type": "message.send", "data": "not an object"}', "invalid"),
    ('{"type": "message.send", "data": {"conversation_id": 99999, "body": "x"}}', "not_found"),
    ('{"type": "message.send", "data": {"conversation_id": "1", "body": "x"}}', "invalid"),
    (b"\xff\xfe binary", "text_only"),
]


async def test_bad_frames_never_break_the_socket(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    for raw, code in BAD_FRAMES:
        await ws.ws.send(raw)
        frame = await ws.reply()
        assert frame["type"] == "error", (raw[:40], frame)
        assert frame["error"]["code"] == code, (raw[:40], frame)
    # Still a working socket: commands are answered and events arrive.
    pong = await ws.command("ping", {})
    assert pong["type"] == "pong"
    await app_server.twilio.inbound(FRONT_DESK, "+15559300001", "still here")
    event = await ws.next_event("message.created")
    assert event["data"]["message"]["body"] == "still here"
    await ws.close()


async def test_a_flood_of_frames_is_rate_limited_not_fatal(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    for i in range(100):
        await ws.send({"type": "ping", "ref": f"p{i}"})
    answers: dict[str, str] = {}
    for _ in range(100):
        frame = await ws.reply()
        assert frame["ref"] not in answers  # exactly one answer each, with its ref
        if frame["type"] == "error":
            assert frame["error"]["code"] == "rate_limited"
            assert 0 < frame["error"]["retry_after_ms"] <= 1000
        answers[frame["ref"]] = frame["type"]
    assert sorted(answers) == sorted(f"p{i}" for i in range(100))
    assert "error" in answers.values() and list(answers.values()).count("pong") >= 40
    await ws.close()


async def test_refusals_carry_the_ref_of_the_command_they_refuse(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    too_large = '{"type": "message.send", "ref": "big", "data": {"body": "' + "x" * 70_000 + '"}}'
    for raw, ref, code in [
        (too_large, "big", "too_large"),
        ('{"ref": "typeless"}', "typeless", "invalid_command"),
        ('{"type": "no.such.command", "ref": "7"}', "7", "unknown_command"),
        ('{"type": "lock.acquire", "ref": "r", "data": {}}', "r", "invalid"),
    ]:
        await ws.ws.send(raw)
        frame = await ws.reply()
        assert (frame["type"], frame["ref"], frame["error"]["code"]) == ("error", ref, code)
    await ws.close()
