"""Teams, users (made, listed, renamed, given a role, disabled), passwords (argon2) and API
tokens (random, stored as sha256; named, optionally expiring, revoked)."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.errors import ConflictError, InvalidInputError, NotFoundError
from inbox.memberships import visible_clause
from inbox.models import (
    ADMIN_ROLES,
    PERSON_ROLES,
    ROLES,
    Inbox,
    InboxMember,
    Team,
    Token,
    User,
    utcnow,
)

_hasher = PasswordHasher()
# Verified against when a username is unknown, so both paths cost one argon2 verification.
_DUMMY_HASH = _hasher.hash("switchboard-dummy-password")
TOKEN_PREFIX = "sb_"
MAX_USERNAME_CHARS = 150
MAX_NAME_CHARS = 100  # a person's or a token's name, as lists show it
MAX_TEAM_NAME_CHARS = 100
LOOK_UP_CHUNK = 500  # values in one IN list at most (SQLite allows 32,766 a statement)
# Letters, digits and . _ @ - (an e-mail address works): no spaces or look-alike tricks in the
# name someone logs in with.
USERNAME = re.compile(rf"[A-Za-z0-9._@-]{{1,{MAX_USERNAME_CHARS}}}")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_name(value: Any, field: str = "name", limit: int = MAX_NAME_CHARS) -> str:
    """A display name: text, not blank, at most `limit` characters (stripped)."""
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value.strip()) > limit
        or "\x00" in value
    ):
        raise InvalidInputError(f"{field} must be 1 to {limit} characters")
    return value.strip()


def check_username(value: Any) -> str:
    if not isinstance(value, str) or not USERNAME.fullmatch(value):
        raise InvalidInputError(
            f"username must be 1 to {MAX_USERNAME_CHARS} letters, digits or . _ @ -",
            "invalid_username",
        )
    return value


async def create_team(session: AsyncSession, name: str) -> Team:
    team = Team(name=check_name(name, "team", MAX_TEAM_NAME_CHARS))
    session.add(team)
    await session.flush()
    return team


async def team_by_name(session: AsyncSession, name: str) -> Team | None:
    found: Team | None = await session.scalar(select(Team).where(col(Team.name) == name))
    return found


async def all_teams(session: AsyncSession) -> list[Team]:
    return list(await session.scalars(select(Team).order_by(col(Team.id))))


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
    username = check_username(username)
    if await session.scalar(select(User).where(col(User.username) == username)):
        raise ConflictError(f"user {username!r} already exists", "username_taken")
    user = User(
        team_id=team_id,
        username=username,
        name=check_name(name),
        role=role,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    await session.flush()
    return user


async def team_users(session: AsyncSession, team_id: int) -> list[User]:
    """Everyone of the team, bots and disabled users included, by name."""
    rows = await session.scalars(
        select(User).where(col(User.team_id) == team_id).order_by(col(User.name), col(User.id))
    )
    return list(rows)


async def team_user(session: AsyncSession, team_id: int, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None or user.team_id != team_id:
        raise NotFoundError(f"no user {user_id}")
    return user


async def admin_ids(session: AsyncSession, team_id: int) -> set[int]:
    """The team's admins who are not disabled."""
    rows = await session.scalars(
        select(col(User.id)).where(
            col(User.team_id) == team_id,
            col(User.role).in_(ADMIN_ROLES),
            col(User.disabled_at).is_(None),
        )
    )
    return {u for u in rows if u is not None}


async def update_user(
    session: AsyncSession,
    user: User,
    *,
    name: str | None = None,
    role: str | None = None,
    disabled: bool | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Rename, give a role, disable or enable; what changed, before and after. The team keeps
    at least one admin who is not disabled."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if name is not None and check_name(name) != user.name:
        before["name"], after["name"] = user.name, check_name(name)
    if role is not None and role != user.role:
        if user.role == "bot" or role not in PERSON_ROLES:
            raise InvalidInputError(
                f"role must be one of {', '.join(PERSON_ROLES)} (bots stay bots)"
            )
        before["role"], after["role"] = user.role, role
    if disabled is not None and disabled != (user.disabled_at is not None):
        before["disabled"], after["disabled"] = not disabled, disabled
    if user.role in ADMIN_ROLES and user.disabled_at is None and ("role" in after or disabled):
        if await admin_ids(session, user.team_id) == {user.id}:
            raise ConflictError(
                f"{user.name} is the team's last admin: make another admin first", "last_admin"
            )
    user.name = after.get("name", user.name)
    user.role = after.get("role", user.role)
    if "disabled" in after:
        user.disabled_at = utcnow() if disabled else None
    session.add(user)
    await session.flush()
    return before, after


async def set_password_hash(session: AsyncSession, user_id: int, password_hash: str) -> None:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user {user_id}")
    user.password_hash = password_hash
    session.add(user)


async def new_token(
    session: AsyncSession, user_id: int, label: str = "", expires_at: datetime | None = None
) -> tuple[Token, str]:
    """Make a token for the user: its row, and its text (the only copy)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = Token(user_id=user_id, token_hash=hash_token(token), label=label, expires_at=expires_at)
    session.add(row)
    await session.flush()
    return row, token


async def create_token(session: AsyncSession, user_id: int, label: str = "") -> str:
    """Make a token for the user; the returned text is the only copy."""
    return (await new_token(session, user_id, label))[1]


async def team_tokens(session: AsyncSession, team_id: int) -> list[tuple[Token, User]]:
    """The team's tokens with their users, newest first (expired ones too, until revoked)."""
    rows = await session.execute(
        select(Token, User)
        .join(User, col(User.id) == col(Token.user_id))
        .where(col(User.team_id) == team_id)
        .order_by(col(Token.id).desc())
    )
    return [(token, user) for token, user in rows]


async def revoke_token(session: AsyncSession, team_id: int, token_id: int) -> tuple[Token, User]:
    """Delete one of the team's tokens: it opens nothing from now on."""
    found = (
        await session.execute(
            select(Token, User)
            .join(User, col(User.id) == col(Token.user_id))
            .where(col(Token.id) == token_id, col(User.team_id) == team_id)
        )
    ).first()
    if found is None:
        raise NotFoundError(f"no token {token_id}")
    await session.delete(found[0])
    await session.flush()
    return found[0], found[1]


async def revoke_user_tokens(session: AsyncSession, user_id: int) -> Sequence[str]:
    """Delete every token of the user; their hashes (their sockets are named by them)."""
    hashes = list(
        await session.scalars(select(col(Token.token_hash)).where(col(Token.user_id) == user_id))
    )
    if hashes:
        await session.execute(delete(Token).where(col(Token.user_id) == user_id))
    return hashes


async def user_by_username(session: AsyncSession, username: str) -> User:
    user = await session.scalar(select(User).where(col(User.username) == username))
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    return user


async def user_by_login(session: AsyncSession, username: str) -> User | None:
    """The user a login names, if any (the caller verifies the password, off the loop, and
    refuses a disabled one)."""
    if not username or len(username) > MAX_USERNAME_CHARS or "\x00" in username:
        return None
    found: User | None = await session.scalar(select(User).where(col(User.username) == username))
    return found


async def authenticate_token(session: AsyncSession, token: str) -> User | None:
    """The user of a live token (not expired, its user not disabled), or None."""
    return await user_of_token_hash(session, hash_token(token))


def _works(now: datetime) -> tuple[Any, ...]:
    """Where a token still opens something: not expired, its user not disabled (joined)."""
    return (
        or_(col(Token.expires_at).is_(None), col(Token.expires_at) > now),
        col(User.disabled_at).is_(None),
    )


async def user_of_token_hash(session: AsyncSession, token_hash: str) -> User | None:
    found: User | None = await session.scalar(
        select(User)
        .join(Token, col(Token.user_id) == col(User.id))
        .where(col(Token.token_hash) == token_hash, *_works(utcnow()))
    )
    return found


async def live_token_hashes(session: AsyncSession, token_hashes: Collection[str]) -> set[str]:
    """Those of `token_hashes` whose token still works (`user_of_token_hash` finds its user), in
    one read per LOOK_UP_CHUNK: the session sweep asks it of every token socket at once."""
    wanted, now, live = sorted(token_hashes), utcnow(), set()
    for start in range(0, len(wanted), LOOK_UP_CHUNK):
        rows = await session.scalars(
            select(col(Token.token_hash))
            .join(User, col(User.id) == col(Token.user_id))
            .where(col(Token.token_hash).in_(wanted[start : start + LOOK_UP_CHUNK]), *_works(now))
        )
        live |= set(rows)
    return live


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
    """People of the team a conversation can be assigned to (bots and disabled users excluded),
    by name."""
    rows = await session.scalars(
        select(User)
        .where(
            col(User.team_id) == team_id,
            col(User.role) != "bot",
            col(User.disabled_at).is_(None),
        )
        .order_by(col(User.name))
    )
    return list(rows)


async def visible_inboxes(session: AsyncSession, user: User) -> list[Inbox]:
    """The inboxes the user may see (inbox/memberships.py, `visible_clause`), by name."""
    rows = await session.scalars(
        select(Inbox)
        .join(InboxMember, col(InboxMember.inbox_id) == col(Inbox.id))
        .where(
            col(InboxMember.user_id) == user.id,
            col(Inbox.team_id) == user.team_id,
            visible_clause(user.role),
        )
        .order_by(col(Inbox.name))
    )
    return list(rows)


async def visible_inbox_ids(session: AsyncSession, user: User) -> set[int]:
    """Inboxes the user may see: those they are a member of (an unregistered one: admins
    only)."""
    rows = await session.scalars(
        select(col(InboxMember.inbox_id))
        .join(Inbox, col(Inbox.id) == col(InboxMember.inbox_id))
        .where(
            col(InboxMember.user_id) == user.id,
            col(Inbox.team_id) == user.team_id,
            visible_clause(user.role),
        )
    )
    return set(rows)
