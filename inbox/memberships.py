"""Who belongs to which inbox, and which of its inboxes a user may see: those they are a member
of, but an inbox not registered with carriers yet only for admins (DESIGN.md, "Rules the seeds
set": the first inbox is hidden until registered). A change returns the users it touched; the
caller appends an `access.changed` event for each, with their inboxes from then on
(`inbox_ids_of`), so the socket bus applies the new access before any later event of the
team."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, delete, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.errors import InvalidInputError, NotFoundError
from inbox.models import ADMIN_ROLES, Inbox, InboxMember, User


def visible_clause(role: str) -> ColumnElement[bool]:
    """Which of their inboxes someone of `role` may see (joined with Inbox)."""
    if role in ADMIN_ROLES:
        return true()
    return col(Inbox.registration) == "registered"


async def team_inbox(session: AsyncSession, team_id: int, inbox_id: int) -> Inbox:
    inbox = await session.get(Inbox, inbox_id)
    if inbox is None or inbox.team_id != team_id:
        raise NotFoundError(f"no inbox {inbox_id}")
    return inbox


async def member_ids(session: AsyncSession, inbox_id: int) -> set[int]:
    rows = await session.scalars(
        select(col(InboxMember.user_id)).where(col(InboxMember.inbox_id) == inbox_id)
    )
    return set(rows)


async def inbox_ids_of(session: AsyncSession, user_id: int, team_id: int) -> list[int]:
    """The inboxes the user may see now."""
    user = await session.get(User, user_id)
    if user is None:
        return []
    rows = await session.scalars(
        select(col(InboxMember.inbox_id))
        .join(Inbox, col(Inbox.id) == col(InboxMember.inbox_id))
        .where(
            col(InboxMember.user_id) == user_id,
            col(Inbox.team_id) == team_id,
            visible_clause(user.role),
        )
    )
    return sorted(rows)


async def set_members(
    session: AsyncSession,
    team_id: int,
    inbox_id: int,
    user_ids: Iterable[int],
    *,
    keep_bot: bool = True,
) -> tuple[list[int], list[int]]:
    """Make exactly `user_ids` the inbox's members; return them and the users whose access
    changed. With `keep_bot`, the bot that answers the inbox's unsolicited texts must stay a
    member (a change that also names its bot passes False, and makes it one)."""
    inbox = await team_inbox(session, team_id, inbox_id)
    wanted = set(user_ids)
    if keep_bot and inbox.unsolicited == "bot" and inbox.unsolicited_bot_id not in (None, *wanted):
        raise InvalidInputError(
            f"user {inbox.unsolicited_bot_id} is the bot answering this inbox's unsolicited "
            "texts: name another bot, or set unsolicited to agent, first",
            "bot_in_use",
        )
    found = set(
        await session.scalars(
            select(col(User.id)).where(col(User.id).in_(wanted), col(User.team_id) == team_id)
        )
    )
    if found != wanted:
        unknown = ", ".join(str(u) for u in sorted(wanted - found))
        raise InvalidInputError(f"no user(s) {unknown} in this team", "unknown_user")
    current = await member_ids(session, inbox_id)
    removed, added = current - wanted, wanted - current
    if removed:
        await session.execute(
            delete(InboxMember).where(
                col(InboxMember.inbox_id) == inbox_id, col(InboxMember.user_id).in_(removed)
            )
        )
    session.add_all(InboxMember(inbox_id=inbox_id, user_id=u) for u in sorted(added))
    await session.flush()
    return sorted(wanted), sorted(removed | added)
