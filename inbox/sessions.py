"""Browser sessions in the store (docs/security.md, "Sessions"): made at login, read on every
cookie request, ended by logout, a password change or disabling the user. A session lapses
when unused for the idle lifetime or older than the absolute one, whichever comes first.
Keys are the keyed hashes of cookie values (server/auth.py); this module never sees a cookie."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.eventlog import rowcount
from inbox.models import LoginSession, User

USER_AGENT_CHARS = 200  # enough to tell browsers apart in a list of one's sessions


@dataclass(frozen=True)
class Lifetimes:
    idle: timedelta  # unused this long: ended
    absolute: timedelta  # this old: ended, however busy
    touch_every: timedelta  # `seen_at` is written at most this often (a read is not a write)

    def live(self, row: LoginSession, now: datetime) -> bool:
        return row.seen_at + self.idle > now and row.created_at + self.absolute > now


async def create_session(
    session: AsyncSession, key: str, user_id: int, address: str, user_agent: str, now: datetime
) -> LoginSession:
    row = LoginSession(
        id=key,
        user_id=user_id,
        created_at=now,
        seen_at=now,
        address=address,
        user_agent=user_agent[:USER_AGENT_CHARS],
    )
    session.add(row)
    await session.flush()
    return row


async def session_user(
    session: AsyncSession, key: str, lifetimes: Lifetimes, now: datetime
) -> tuple[LoginSession, User] | None:
    """The live session of `key` and its user, or None (unknown, ended or lapsed)."""
    found = (
        await session.execute(
            select(LoginSession, User)
            .join(User, col(User.id) == col(LoginSession.user_id))
            .where(col(LoginSession.id) == key)
        )
    ).first()
    if found is None or not lifetimes.live(found[0], now) or found[1].disabled_at is not None:
        return None
    return found[0], found[1]


def needs_touch(row: LoginSession, lifetimes: Lifetimes, now: datetime) -> bool:
    return row.seen_at + lifetimes.touch_every <= now


async def touch_sessions(session: AsyncSession, keys: Collection[str], now: datetime) -> None:
    if keys:
        await session.execute(
            update(LoginSession).where(col(LoginSession.id).in_(keys)).values(seen_at=now)
        )


async def live_keys(
    session: AsyncSession, keys: Collection[str], lifetimes: Lifetimes, now: datetime
) -> list[LoginSession]:
    """Which of `keys` are live sessions still."""
    if not keys:
        return []
    rows = await session.scalars(select(LoginSession).where(col(LoginSession.id).in_(keys)))
    return [row for row in rows if lifetimes.live(row, now)]


async def sessions_of(
    session: AsyncSession, user_id: int, lifetimes: Lifetimes, now: datetime
) -> list[LoginSession]:
    """The user's live sessions, newest first (for "see your sessions and end them")."""
    rows = await session.scalars(
        select(LoginSession)
        .where(col(LoginSession.user_id) == user_id)
        .order_by(col(LoginSession.created_at).desc())
    )
    return [row for row in rows if lifetimes.live(row, now)]


async def end_session(session: AsyncSession, key: str) -> LoginSession | None:
    """End one session; the ended row (None when there was none)."""
    row = await session.get(LoginSession, key)
    if row is not None:
        await session.delete(row)
        await session.flush()
    return row


async def end_user_sessions(
    session: AsyncSession, user_id: int, keep: str | None = None
) -> list[str]:
    """End every session of the user (but `keep`, the caller's own, when given); their keys."""
    query = select(col(LoginSession.id)).where(col(LoginSession.user_id) == user_id)
    if keep is not None:
        query = query.where(col(LoginSession.id) != keep)
    keys = list(await session.scalars(query))
    if keys:
        await session.execute(delete(LoginSession).where(col(LoginSession.id).in_(keys)))
    return keys


async def prune_sessions(session: AsyncSession, lifetimes: Lifetimes, now: datetime) -> int:
    """Delete lapsed sessions (they open nothing already; this keeps the table small)."""
    result = await session.execute(
        delete(LoginSession).where(
            or_(
                col(LoginSession.seen_at) <= now - lifetimes.idle,
                col(LoginSession.created_at) <= now - lifetimes.absolute,
            )
        )
    )
    return rowcount(result)
