"""Every command gets exactly one answer with its `ref` (issue 12, item 4): bots racing for locks
faster than their socket's allowance are refused `rate_limited` with the command's ref and a
`retry_after_ms`, and `BusClient.command` sends the command again then, so no bot ever waits
forever for an answer. Each race still has exactly one winner."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from realtime.client import BusClient, CommandError
from tests.conftest import running
from tests.fake_twilio import FakeTwilio
from tests.helpers import Agent, login
from tests.presence.conftest import new_conversation
from tests.realtime.bots import make_bot

RACES = 200
# Well below what two bots firing 2 x 400 commands at once need, so most are refused first.
TIGHT = {"bot_socket_rate_per_sec": 150.0, "bot_socket_burst": 20.0}


async def _race(bot: BusClient, conversations: list[int]) -> dict[int, Any]:
    """Fire every lock.acquire at once: conversation -> ack data, or the CommandError."""
    answers = await asyncio.gather(
        *(bot.command("lock.acquire", {"conversation_id": c}) for c in conversations),
        return_exceptions=True,
    )
    return dict(zip(conversations, answers, strict=True))


async def test_two_bots_racing_for_200_locks_at_full_speed_get_every_answer(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    with running(
        tmp_path / "data", clean_redis, fake_twilio, database_url=database_url, **TIGHT
    ) as server:
        alice = await login(server.url, "alice")
        conversations = [await new_conversation(alice, f"+1555730{i:04d}") for i in range(RACES)]
        tokens = [await make_bot(server.settings, name, [1]) for name in ("racer", "chaser")]
        carol = await Agent.connect(server.url, cookies=(await login(server.url, "carol")).cookies)
        async with (
            BusClient(server.url, token=tokens[0]) as racer,
            BusClient(server.url, token=tokens[1]) as chaser,
        ):
            first, second = await asyncio.gather(
                _race(racer, conversations), _race(chaser, conversations)
            )
            won: dict[BusClient, list[int]] = {racer: [], chaser: []}
            for c in conversations:
                (winner, answer), (_, refusal) = sorted(
                    ((racer, first[c]), (chaser, second[c])),
                    key=lambda pair: isinstance(pair[1], BaseException),
                )
                assert isinstance(answer, dict), (answer, refusal)  # exactly one ack...
                assert isinstance(refusal, CommandError) and refusal.code == "locked", refusal
                assert refusal.error["holder"] == answer["holder"]  # ...and the other is told who
                won[winner].append(c)
            releases = await asyncio.gather(
                *(
                    bot.command("lock.release", {"conversation_id": c})
                    for bot, mine in won.items()
                    for c in mine
                )
            )
            assert all(r["released"] for r in releases)
            assert racer.rate_limited + chaser.rate_limited > 0  # the allowance was exceeded
        # The watcher is told of every hold and every release, a release after its hold.
        versions: dict[int, list[tuple[str, int]]] = {c: [] for c in conversations}
        while sum(len(v) for v in versions.values()) < 2 * RACES:
            event = await carol.frame()
            if event.get("type") in ("lock.acquired", "lock.released"):
                data = event["data"]
                versions[data["conversation_id"]].append((event["type"], data["version"]))
        for seen in versions.values():
            (acquired, held), (released, freed) = sorted(seen, key=lambda kv: kv[1])
            assert (acquired, released) == ("lock.acquired", "lock.released") and freed > held
        await carol.close()
