"""One-time links: the first run's setup page (`setup`, no user yet) and a user's set-password
page (`password`, an admin's invitation or reset). The link carries a random secret; the store
keeps only its SHA-256, so a copy of the store opens nothing. A link works once (it is deleted
as it is used) and until it expires."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.eventlog import rowcount
from inbox.models import OneTimeLink, utcnow

LINK_KINDS = ("setup", "password")
MAX_SECRET_CHARS = 100  # ours are 43; anything longer is not one of ours


def _key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_link(
    session: AsyncSession, kind: str, user_id: int | None, lifetime: timedelta
) -> str:
    """A new link's secret (the only copy). Earlier links of the same kind and user end: the
    newest invitation is the one that works."""
    if kind not in LINK_KINDS:
        raise RuntimeError(f"Cannot make a link of kind {kind!r}.")
    await session.execute(
        delete(OneTimeLink).where(
            col(OneTimeLink.kind) == kind,
            col(OneTimeLink.user_id).is_(None)
            if user_id is None
            else col(OneTimeLink.user_id) == user_id,
        )
    )
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        OneTimeLink(
            id=_key(secret), kind=kind, user_id=user_id, created_at=now, expires_at=now + lifetime
        )
    )
    await session.flush()
    return secret


async def find_link(
    session: AsyncSession, kind: str, secret: str, now: datetime | None = None
) -> OneTimeLink | None:
    """The live link of that kind with that secret, if any."""
    if not secret or len(secret) > MAX_SECRET_CHARS:
        return None
    link = await session.get(OneTimeLink, _key(secret))
    if link is None or link.kind != kind or link.expires_at <= (now or utcnow()):
        return None
    return link


async def use_link(session: AsyncSession, kind: str, secret: str) -> OneTimeLink | None:
    """Take the link (delete it) if it is live: of two requests using it at once, one gets it."""
    link = await find_link(session, kind, secret)
    if link is None:
        return None
    result = await session.execute(delete(OneTimeLink).where(col(OneTimeLink.id) == link.id))
    return link if rowcount(result) == 1 else None


async def end_links_of(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(OneTimeLink).where(col(OneTimeLink.user_id) == user_id))


async def any_link(session: AsyncSession, kind: str) -> bool:
    found = await session.scalar(select(col(OneTimeLink.id)).where(col(OneTimeLink.kind) == kind))
    return found is not None
