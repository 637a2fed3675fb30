"""Event log retention: the socket can replay what a client missed for
`event_retention_days`; older events are deleted, and a client asking for them is told to
resync (README.md, "The bus"). Every server process runs this; the delete is idempotent."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from inbox import eventlog
from inbox.db import Database
from inbox.models import utcnow
from server.sweepers import cancel_requested

logger = logging.getLogger(__name__)

# Prune about ten times per retention period: the log then holds at most 10% more than it
# must. Bounded so a test's tiny retention does not spin, and a week's is still hourly.
MIN_PRUNE_EVERY_SECS = 0.5
MAX_PRUNE_EVERY_SECS = 3600.0
MAX_BACKOFF_SECS = 60.0


def prune_every_secs(retention_days: float) -> float:
    period = retention_days * 86400 / 10
    return min(MAX_PRUNE_EVERY_SECS, max(MIN_PRUNE_EVERY_SECS, period))


async def prune_once(db: Database, retention_days: float) -> int:
    async with db.write() as session:
        return await eventlog.prune_events(session, utcnow() - timedelta(days=retention_days))


async def prune_forever(db: Database, retention_days: float) -> None:
    every = prune_every_secs(retention_days)
    backoff = every
    while not cancel_requested():
        try:
            removed = await prune_once(db, retention_days)
            if removed:
                logger.info("pruned %d events older than %g days", removed, retention_days)
            backoff = every
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("event log pruning failed; retrying in %.0f s", backoff)
            backoff = min(backoff * 2, max(MAX_BACKOFF_SECS, every))
        await asyncio.sleep(backoff)
