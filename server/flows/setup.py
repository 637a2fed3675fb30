"""The first run (DESIGN.md, "Configuration"; like Chatwoot's onboarding): on a store with no
team, `switchboard serve` makes a one-time setup link and prints it; the page behind it makes
the team and its first admin, once. `switchboard admin create` does the same from the command
line (and adds an admin to an existing team, for an operator locked out of it)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from inbox import accounts, audit, links
from inbox.db import Database
from inbox.errors import InvalidInputError
from inbox.models import Team, User
from server.services import Services

# The printed link works this long: the operator opens it right after the first start; a
# restart on a still empty store prints a new one.
SETUP_LINK_HOURS = 24


async def make_setup_link(db: Database) -> str | None:
    """A new setup link's secret when the store has no team yet (earlier links end), else
    None."""
    async with db.write() as session:
        if await accounts.any_team(session):
            return None
        return await links.create_link(session, "setup", None, timedelta(hours=SETUP_LINK_HOURS))


async def setup_open(svc: Services, secret: str) -> bool:
    """Whether the link may still make the team."""
    async with svc.db.read() as session:
        if await accounts.any_team(session):
            return False
        return await links.find_link(session, "setup", secret) is not None


async def complete_setup(
    svc: Services, secret: str, team_name: str, username: str, name: str, password: str
) -> User | None:
    """Make the team and its first admin with the link (None: used, expired, or a team exists
    already: the link then ends)."""
    accounts.check_name(team_name, "team", accounts.MAX_TEAM_NAME_CHARS)
    accounts.check_username(username)
    accounts.check_name(name)
    if not await setup_open(svc, secret):
        return None
    password_hash = await svc.passwords.hash(password)
    async with svc.db.write() as session:
        if (
            await accounts.any_team(session)
            or await links.use_link(session, "setup", secret) is None
        ):
            return None
        _, user = await _first_admin(session, team_name, username, name, password_hash)
    return user


async def _first_admin(
    session: AsyncSession, team_name: str, username: str, name: str, password_hash: str
) -> tuple[Team, User]:
    team = await accounts.create_team(session, team_name)
    assert team.id is not None
    user = await accounts.create_user(session, team.id, username, name, "admin")
    user.password_hash = password_hash
    await audit.record(
        session, team.id, user, "team.created", ("team", team.id), None,
        {"name": team.name, "admin": user.username},
    )  # fmt: skip
    return team, user


async def create_admin(
    db: Database, team_name: str | None, username: str, name: str, password: str
) -> tuple[Team, User]:
    """`switchboard admin create`: an admin of the named team (the only one when no name is
    given), making the team when the store has none."""
    password_hash = accounts.hash_password(password)  # a command, not a server: no loop to keep
    async with db.write() as session:
        teams = await accounts.all_teams(session)
        named = [t for t in teams if team_name is None or t.name == team_name]
        if not teams or (team_name is not None and not named):
            return await _first_admin(
                session, team_name or "Default", username, name, password_hash
            )
        if len(named) > 1:
            raise InvalidInputError("the store has several teams: name one with --team")
        team = named[0]
        assert team.id is not None
        user = await accounts.create_user(session, team.id, username, name, "admin")
        user.password_hash = password_hash
        await audit.record(
            session, team.id, None, "user.created", ("user", user.id), None,
            {"username": user.username, "name": user.name, "role": "admin", "password": "set"},
        )  # fmt: skip
        return team, user
