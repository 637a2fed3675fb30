"""A socket the client sees open gets every event committed from then on, whatever the timing:
here many sockets open at once while texts keep arriving (a team's tabs reconnecting after a
deploy, in the middle of a campaign's replies). The server registered a socket for events only
after answering its upgrade, so a text stored in between never reached it, with nothing to tell
the client so (it had no id to resume from)."""

from __future__ import annotations

import asyncio
import time

from tests.conftest import Running
from tests.helpers import EVENT_WAIT_SECS, FRONT_DESK, Agent, login

SOCKETS = 60
TEXTS = 30


async def test_every_text_stored_after_a_socket_opened_reaches_it_while_many_open(
    app_server: Running,
) -> None:
    bob = await login(app_server.url, "bob")
    stored_after: list[tuple[float, str]] = []  # when each text's webhook was sent, its body

    async def keep_texting() -> None:
        for i in range(TEXTS):
            body = f"burst {i}"
            stored_after.append((time.monotonic(), body))
            assert (await app_server.twilio.inbound(FRONT_DESK, "+15557300000", body)).is_success

    async def open_socket() -> tuple[float, Agent]:
        agent = await Agent.connect(app_server.url, cookies=bob.cookies)
        return time.monotonic(), agent

    texting = asyncio.create_task(keep_texting())
    opened = await asyncio.gather(*(open_socket() for _ in range(SOCKETS)))
    await texting
    last = f"burst {TEXTS - 1}"
    for opened_at, agent in opened:
        bodies: set[str] = set()
        async with asyncio.timeout(EVENT_WAIT_SECS):
            while last not in bodies:
                event = await agent.next_event("message.created")
                bodies.add(event["data"]["message"]["body"])
        owed = {body for sent_at, body in stored_after if sent_at > opened_at}
        assert owed <= bodies, sorted(owed - bodies)
    for _, agent in opened:
        await agent.close()
