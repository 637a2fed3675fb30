"""Teams, users, passwords (argon2) and API tokens (random, stored as sha256)."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.errors import InvalidInputError, NotFoundError
from inbox.models import ROLES, Inbox, InboxMember, Team, Token, User, utcnow

_hasher = PasswordHasher()
# Verified against when a username is unknown, so both paths cost one argon2 verification.
_DUMMY_HASH = _hasher.hash("switchboard-dummy-password")
TOKEN_PREFIX = "sb_"
MAX_USERNAME_CHARS = 150


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_team(session: AsyncSession, name: str) -> Team:
    team = Team(name=name)
    session.add(team)
    await session.flush()
    return team


async def team_by_name(session: AsyncSession, name: str) -> Team | None:
    found: Team | None = await session.scalar(select(Team).where(col(Team.name) == name))
    return found


async def any_team(session: AsyncSession) -> bool:
    """Whether the store has a team yet (a new install has none)."""
    return await session.scalar(select(col(Team.id)).limit(1)) is not None


async def create_user(
    session: AsyncSession,
    team_id: int,
    username: str,
    name: str,
    role: str = "agent",
    password: str | None = None,
) -> User:
    if role not in ROLES:
        raise InvalidInputError(f"role must be one of {', '.join(ROLES)}")
    if await session.scalar(select(User).where(col(User.username) == username)):
        raise InvalidInputError(f"user {username!r} already exists", "exists")
    user = User(
        team_id=team_id,
        username=username,
        name=name,
        role=role,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    await session.flush()
    return user


async def create_token(session: AsyncSession, user_id: int, label: str = "") -> str:
    """Make a token for the user; the returned text is the only copy."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(Token(user_id=user_id, token_hash=hash_token(token), label=label))
    await session.flush()
    return token


async def user_by_username(session: AsyncSession, username: str) -> User:
    user = await session.scalar(select(User).where(col(User.username) == username))
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    return user


async def user_by_login(session: AsyncSession, username: str) -> User | None:
    """The user a login names, if any (the caller verifies the password, off the loop)."""
    if not username or len(username) > MAX_USERNAME_CHARS or "\x00" in username:
        return None
    found: User | None = await session.scalar(select(User).where(col(User.username) == username))
    return found


async def authenticate_token(session: AsyncSession, token: str) -> User | None:
    row = await session.scalar(select(Token).where(col(Token.token_hash) == hash_token(token)))
    if row is None:
        return None
    return await session.get(User, row.user_id)


async def touch_token(session: AsyncSession, token: str) -> None:
    row = await session.scalar(select(Token).where(col(Token.token_hash) == hash_token(token)))
    if row is not None:
        row.last_used_at = utcnow()


async def lock_team(session: AsyncSession, team_id: int) -> None:
    """Take the team row's lock until commit (PostgreSQL; on SQLite a write transaction's BEGIN
    IMMEDIATE already holds the whole database): a team's fenced sends and presence
    announcements are serialised around it."""
    await session.execute(select(col(Team.id)).where(col(Team.id) == team_id).with_for_update())


async def teammates(session: AsyncSession, team_id: int) -> list[User]:
    """People of the team a conversation can be assigned to (bots excluded), by name."""
    rows = await session.scalars(
        select(User)
        .where(col(User.team_id) == team_id, col(User.role) != "bot")
        .order_by(col(User.name))
    )
    return list(rows)


async def visible_inboxes(session: AsyncSession, user: User) -> list[Inbox]:
    """The inboxes the user may see, by name."""
    rows = await session.scalars(
        select(Inbox)
        .join(InboxMember, col(InboxMember.inbox_id) == col(Inbox.id))
        .where(col(InboxMember.user_id) == user.id, col(Inbox.team_id) == user.team_id)
        .order_by(col(Inbox.name))
    )
    return list(rows)


async def visible_inbox_ids(session: AsyncSession, user: User) -> set[int]:
    """Inboxes the user may see: those they are a member of."""
    rows = await session.scalars(
        select(col(InboxMember.inbox_id))
        .join(Inbox, col(Inbox.id) == col(InboxMember.inbox_id))
        .where(col(InboxMember.user_id) == user.id, col(Inbox.team_id) == user.team_id)
    )
    return set(rows)
