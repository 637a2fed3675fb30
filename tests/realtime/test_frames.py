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
        await ws.send({"type": "ping", "ref": i})
    codes = []
    for _ in range(100):
        frame = await ws.reply()
        codes.append(frame["type"] if frame["type"] == "pong" else frame["error"]["code"])
    assert "rate_limited" in codes and codes.count("pong") >= 40
    assert set(codes) == {"pong", "rate_limited"}
    await ws.close()
