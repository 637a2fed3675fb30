"""The deployment's epoch (presence/epoch.py) against a real Redis: a loss is seen by every
process, exactly one of them made the new epoch, and a rebuild that failed is asked for again."""

from __future__ import annotations

import redis.asyncio as aioredis

from presence.epoch import EpochChange, EpochWatch
from presence.keys import Keys


async def test_each_process_sees_a_loss_once_and_one_of_them_made_the_new_epoch(
    clean_redis: str,
) -> None:
    redis = aioredis.Redis.from_url(clean_redis)
    keys = Keys("epoch-test")
    first, second = EpochWatch(redis, keys), EpochWatch(redis, keys)
    assert await first.check() == EpochChange(first=True, made_here=True)  # a new deployment
    assert await second.check() == EpochChange(first=True, made_here=False)
    for watch in (first, second):
        change = await watch.check()
        assert change is not None
        watch.rebuilt(change)
        assert await watch.check() is None
        assert not watch.renewed_within(60)

    await redis.flushall()
    changes = [await second.check(), await first.check()]
    assert [c.first for c in changes if c] == [False, False]
    assert sorted(bool(c and c.made_here) for c in changes) == [False, True]
    assert first.renewed_within(60) and second.renewed_within(60)
    # A rebuild that failed (no `rebuilt`) is asked for again, as it was.
    assert await second.check() == changes[0]
    assert changes[0] is not None
    second.rebuilt(changes[0])
    assert await second.check() is None
    await redis.aclose()
