"""An admin's changes to people (DESIGN.md, "Admin"): adding someone (with a password, or a
one-time set-password link), renaming, giving a role, disabling and enabling. Each change, its
events (`user.updated` to the team; `access.changed` when a role changes what they may see)
and its audit entry commit together. Disabling also ends, in the same transaction, the user's
sessions, tokens and links, then closes all their sockets on every process and releases their
locks; their messages keep their name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from inbox import accounts, audit, links
from inbox import sessions as stored_sessions
from inbox.errors import ConflictError, InvalidInputError
from inbox.models import EventRecord, User
from server.flows import sessions
from server.flows.events import append_access_changed, append_user_updated
from server.flows.locks import release_all
from server.services import Services

# How long an invitation's set-password link works: a week covers a new colleague's first
# Monday; a reset link is the same kind of link.
PASSWORD_LINK_DAYS = 7


@dataclass(frozen=True)
class Changes:
    """What an admin asked to change (None: leave it)."""

    name: str | None = None
    role: str | None = None
    disabled: bool | None = None


async def create_user(
    svc: Services, actor: User, username: str, name: str, role: str, password: str | None
) -> tuple[User, str | None]:
    """The new user, and the secret of their set-password link when no password was given
    (bots have neither: they use tokens)."""
    password_hash = await svc.passwords.hash(password) if password and role != "bot" else None
    async with svc.db.write() as session:
        user = await accounts.create_user(session, actor.team_id, username, name, role)
        assert user.id is not None
        user.password_hash = password_hash
        secret = None
        if role != "bot" and password_hash is None:
            secret = await links.create_link(
                session, "password", user.id, timedelta(days=PASSWORD_LINK_DAYS)
            )
        how = "bot" if role == "bot" else ("set" if password_hash else "link")
        after = {"username": user.username, "name": user.name, "role": role, "password": how}
        await audit.record(
            session, user.team_id, actor, "user.created", ("user", user.id), None, after
        )
        event = await append_user_updated(session, user)
    await svc.announce(event)
    return user, secret


async def update_user(svc: Services, actor: User, user_id: int, changes: Changes) -> User:
    events: list[EventRecord] = []
    async with svc.db.write() as session:
        user = await accounts.team_user(session, actor.team_id, user_id)
        assert user.id is not None
        before, after = await accounts.update_user(
            session, user, name=changes.name, role=changes.role, disabled=changes.disabled
        )
        if not after:
            return user
        events.append(await append_user_updated(session, user))
        if "role" in after:  # an unregistered inbox is for admins only
            events += await append_access_changed(session, user.team_id, [user.id])
        if after.get("disabled"):
            await accounts.revoke_user_tokens(session, user.id)
            await stored_sessions.end_user_sessions(session, user.id)
            await links.end_links_of(session, user.id)
        action = "user.updated"
        if "disabled" in after:
            action = "user.disabled" if after["disabled"] else "user.enabled"
        await audit.record(session, user.team_id, actor, action, ("user", user.id), before, after)
    await svc.announce(*events)
    if after.get("disabled"):
        # Released first: closing their last socket would release them too, as `disconnected`.
        await release_all(svc, user.team_id, user.id, "forced")
        await svc.sockets.close(user.id)  # every socket: browser sessions and tokens
    return user


async def create_password_link(svc: Services, actor: User, user_id: int) -> str:
    """A new set-password link for someone (an invitation again, or a forgotten password)."""
    async with svc.db.write() as session:
        user = await accounts.team_user(session, actor.team_id, user_id)
        if user.role == "bot":
            raise InvalidInputError("bots have no password; make them a token", "bot")
        if user.disabled_at is not None:
            raise ConflictError(f"{user.name} is disabled: enable them first", "disabled")
        assert user.id is not None
        secret = await links.create_link(
            session, "password", user.id, timedelta(days=PASSWORD_LINK_DAYS)
        )
        await audit.record(session, user.team_id, actor, "user.password_link", ("user", user.id))
    return secret


async def link_user(svc: Services, secret: str) -> User | None:
    """Whom a live set-password link is for."""
    async with svc.db.read() as session:
        link = await links.find_link(session, "password", secret)
        if link is None or link.user_id is None:
            return None
        user = await session.get(User, link.user_id)
    return user if user is not None and user.disabled_at is None else None


async def set_password_by_link(svc: Services, secret: str, password: str) -> User | None:
    """Use the link: the user's password becomes `password`, and every session they had ends
    (None: the link was used, or expired, meanwhile)."""
    if await link_user(svc, secret) is None:
        return None
    password_hash = await svc.passwords.hash(password)
    async with svc.db.write() as session:
        link = await links.use_link(session, "password", secret)
        if link is None or link.user_id is None:
            return None
        await accounts.set_password_hash(session, link.user_id, password_hash)
        user = await session.get(User, link.user_id)
    await sessions.end_all(svc, link.user_id)
    return user
