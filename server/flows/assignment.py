"""Who automatic assignment may choose (inbox/assignment.py decides, inside the inbound text's
write transaction): the team's people online now, read from presence before that transaction so
no Redis round trip runs under the store's write lock. A Redis that does not answer leaves the
text unassigned (it is stored all the same)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlmodel import col

from inbox.errors import InboxError
from inbox.models import Inbox, PhoneNumber
from inbox.phones import to_e164
from presence.errors import PresenceError
from server.services import Services

logger = logging.getLogger(__name__)

TEAM_CACHE_SIZE = 10_000  # numbers; a number's team never changes

# (store URL, E.164 number) -> its team: one read per number per process, not one per text.
_teams: dict[tuple[str, str], int] = {}


async def _team_of(svc: Services, to: str) -> int | None:
    number = to_e164(to)
    key = (svc.settings.database_url, number)
    if key not in _teams:
        async with svc.db.read() as session:
            team = await session.scalar(
                select(col(PhoneNumber.team_id)).where(col(PhoneNumber.number) == number)
            ) or await session.scalar(
                select(col(Inbox.team_id)).where(col(Inbox.phone_number) == number)
            )
        if team is None:
            return None
        if len(_teams) >= TEAM_CACHE_SIZE:
            _teams.clear()
        _teams[key] = int(team)
    return _teams[key]


async def online_for(svc: Services, to: str) -> frozenset[int]:
    """The users of the team that owns the number `to` who are online now (not away)."""
    try:
        team = await _team_of(svc, to)
        if team is None:
            return frozenset()
        states = await svc.presence.team(team)
    except PresenceError:
        logger.warning("presence did not answer; the text is left unassigned")
        return frozenset()
    except InboxError:  # not a number: the receive refuses it with its own message
        return frozenset()
    return frozenset(s.user.id for s in states if s.status == "online")
