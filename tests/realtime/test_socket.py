from __future__ import annotations

import random

from tests.conftest import Running
from tests.helpers import BILLING, FRONT_DESK, Agent, login


async def test_bad_frames_get_error_frames_and_the_socket_stays_usable(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    await ws.ws.send("not json")
    assert (await ws.reply())["error"]["code"] == "invalid_json"
    await ws.ws.send("x" * (64 * 1024 + 1))
    assert (await ws.reply())["error"]["code"] == "too_large"
    await ws.ws.send(b"\x00binary")
    assert (await ws.reply())["error"]["code"] == "text_only"
    await ws.send({"no": "type"})
    assert (await ws.reply())["error"]["code"] == "invalid_command"
    unknown = await ws.command("launch.rockets", {})
    assert unknown["error"]["code"] == "unknown_command"
    assert (await ws.command("ping", {}))["type"] == "pong"
    await ws.close()


async def test_non_member_never_receives_a_foreign_inbox_event(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")  # Front Desk only
    carol = await login(app_server.url, "carol")  # Front Desk and Billing
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    carol_ws = await Agent.connect(app_server.url, cookies=carol.cookies)
    rng = random.Random(7)
    sent = []
    for i in range(30):
        to = rng.choice([FRONT_DESK, BILLING])
        await app_server.twilio.inbound(to, f"+1555200{i:04d}", f"text {i}")
        sent.append((to, f"text {i}"))
    carol_bodies = [
        (await carol_ws.next_event("message.created"))["data"]["message"]["body"] for _ in sent
    ]
    assert carol_bodies == [body for _, body in sent]
    front_desk = [body for to, body in sent if to == FRONT_DESK]
    bob_bodies = [
        (await bob_ws.next_event("message.created"))["data"]["message"]["body"] for _ in front_desk
    ]
    assert bob_bodies == front_desk
    # A final Front Desk text is the next thing bob sees: nothing of Billing's came in between.
    await app_server.twilio.inbound(FRONT_DESK, "+15552009999", "last")
    assert (await bob_ws.reply())["data"]["message"]["body"] == "last"
    await bob_ws.close()
    await carol_ws.close()


async def test_hello_replays_what_was_missed_without_gap_or_duplicate(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    await app_server.twilio.inbound(FRONT_DESK, "+15553000001", "before")
    seen = await ws.next_event("message.created")
    await ws.close()
    for i in range(5):  # while bob is away
        await app_server.twilio.inbound(FRONT_DESK, "+15553000001", f"missed {i}")
    back = await Agent.connect(app_server.url, cookies=bob.cookies, hello=seen["id"])
    await app_server.twilio.inbound(FRONT_DESK, "+15553000001", "live")
    events = [await back.next_event("message.created") for _ in range(6)]
    assert [e["data"]["message"]["body"] for e in events] == [f"missed {i}" for i in range(5)] + [
        "live"
    ]
    ids = [e["id"] for e in events]
    assert ids == sorted(set(ids)) and ids[0] > seen["id"]
    await back.close()
