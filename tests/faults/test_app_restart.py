"""The app stopped under load (issue 12, item 7): 200 sockets connected and texts arriving, the
`switchboard serve` process gets SIGTERM (every socket is told 1001 "going away") or SIGKILL,
and starts again on its port. Every client reconnects, says hello with its last event id, and
ends with every text the webhooks took exactly once, in order; none is lost from the store."""

from __future__ import annotations

import asyncio
import signal

import pytest

from tests.faults.parts import App, Listener, Texter, doubled, listeners, session_cookie
from tests.helpers import EVENT_WAIT_SECS

SOCKETS = 200
TEXTS_BEFORE = 10


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
async def test_every_client_resumes_with_no_gap_after_the_app_is_stopped(
    app: App, stop: signal.Signals
) -> None:
    cookie = await session_cookie(app.url, "bob")
    seeded = len(await app.stored_inbound())  # the demo's conversations
    async with listeners(app.url, cookie, SOCKETS) as swarm:
        texter = Texter(app.twilio, f"before {stop.name}")
        texting = asyncio.create_task(texter.run())
        async with asyncio.timeout(EVENT_WAIT_SECS):  # a few texts reach everyone first
            await texter.until_taken(TEXTS_BEFORE)
            await asyncio.gather(*(s.until_seen(texter.taken[-1]) for s in swarm))
        assert app.proc is not None
        app.proc.send_signal(stop)  # while the texter keeps posting
        assert await asyncio.to_thread(app.proc.wait, 30) in (0, -signal.SIGKILL)
        texter.stop()
        await texting
        app.start()
        after = Texter(app.twilio, "after")
        for i in range(3):
            assert await after.post(f"after restart {i}")
        stored = (await app.stored_inbound())[seeded:]
        assert set(texter.taken + after.taken) <= set(stored)  # no text taken was lost
        assert doubled(stored) == []
        async with asyncio.timeout(3 * EVENT_WAIT_SECS):  # reconnect backoff included
            await asyncio.gather(*(s.until_seen(after.taken[-1]) for s in swarm))
        for listener in swarm:
            assert listener.client.connects >= 2  # it resumed on the new process
            _assert_exact(listener, stored)
            if stop == signal.SIGTERM:
                assert listener.client.close_codes[0] == 1001, listener.client.close_codes


def _assert_exact(listener: Listener, stored: list[str]) -> None:
    assert doubled(listener.bodies) == [], "texts shown twice"
    missed = [body for body in stored if body not in listener.bodies]
    assert missed == [], "texts never shown"
    assert listener.bodies == stored
    assert listener.ids == sorted(listener.ids)
