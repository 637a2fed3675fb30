"""Canned responses: saved replies with variables. The team's library (`owner_id` None) is kept
by admins and used by everyone; each user may keep their own too. A response is filled in for a
conversation before it is sent (`fill`): `{{contact.first_name}}`, `{{contact.name}}`,
`{{agent.name}}`, `{{agent.first_name}}` and `{{inbox.name}}`. A contact with no name fills in
"there" ("Hi {{contact.first_name}}" reads "Hi there"); an unknown variable is refused when
the response is saved, and when it is filled."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.errors import ConflictError, InvalidInputError, NotFoundError
from inbox.models import CannedResponse, Contact, Conversation, Inbox, User, utcnow
from inbox.segments import MAX_BODY_CHARS

MAX_NAME_CHARS = 60  # what `/` shows in its list
VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
VARIABLES = ("contact.first_name", "contact.name", "agent.name", "agent.first_name", "inbox.name")
# What a contact with no name is called: the greeting still reads ("Hi there").
NO_NAME = "there"


def canned_view(canned: CannedResponse) -> dict[str, Any]:
    return {
        "id": canned.id,
        "name": canned.name,
        "body": canned.body,
        "scope": "team" if canned.owner_id is None else "personal",
        "updated_at": canned.updated_at.isoformat().replace("+00:00", "Z"),
    }


def unknown_variables(body: str) -> list[str]:
    return [v for v in VARIABLE.findall(body) if v not in VARIABLES]


def _check_variables(body: str) -> None:
    unknown = unknown_variables(body)
    if unknown:
        names = ", ".join("{{" + v + "}}" for v in dict.fromkeys(unknown))
        known = ", ".join("{{" + v + "}}" for v in VARIABLES)
        raise InvalidInputError(f"unknown variable {names}; use {known}", "unknown_variable")


def _name(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInputError("name is required")
    name = " ".join(raw.split())
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInputError(f"a name is at most {MAX_NAME_CHARS} characters", "too_long")
    return name


def _body(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInputError("body is required", "empty")
    if len(raw) > MAX_BODY_CHARS:
        raise InvalidInputError(
            f"body is {len(raw)} characters; at most {MAX_BODY_CHARS} fit in a text", "too_long"
        )
    _check_variables(raw)
    return raw


@dataclass(frozen=True)
class Values:
    """What the variables stand for in one conversation, for one sender."""

    values: dict[str, str]
    missing: frozenset[str]  # variables with no value, which got their stand-in


def fill(body: str, values: Values) -> tuple[str, list[str]]:
    """The body with every variable filled in, and those of them that had no value."""
    _check_variables(body)
    used = set(VARIABLE.findall(body))
    return VARIABLE.sub(lambda m: values.values[m.group(1)], body), sorted(used & values.missing)


async def values_for(session: AsyncSession, conversation: Conversation, agent: User) -> Values:
    contact = (
        await session.get(Contact, conversation.contact_id) if conversation.contact_id else None
    )
    inbox = await session.get(Inbox, conversation.inbox_id)
    assert inbox is not None
    name = " ".join(contact.name.split()) if contact else ""
    agent_name = " ".join(agent.name.split()) or agent.username
    values = {
        "contact.name": name or NO_NAME,
        "contact.first_name": name.split(" ")[0] if name else NO_NAME,
        "agent.name": agent_name,
        "agent.first_name": agent_name.split(" ")[0],
        "inbox.name": inbox.name,
    }
    missing = frozenset() if name else frozenset({"contact.name", "contact.first_name"})
    return Values(values, missing)


def _visible_to(user: User) -> Any:
    return (col(CannedResponse.team_id) == user.team_id) & or_(
        col(CannedResponse.owner_id).is_(None), col(CannedResponse.owner_id) == user.id
    )


async def list_canned(session: AsyncSession, user: User, q: str | None) -> list[CannedResponse]:
    """The team's library and the user's own, by name."""
    query = select(CannedResponse).where(_visible_to(user))
    if q and q.strip():
        like = f"%{q.strip()}%"
        query = query.where(
            or_(col(CannedResponse.name).ilike(like), col(CannedResponse.body).ilike(like))
        )
    rows = await session.scalars(
        query.order_by(func.lower(col(CannedResponse.name)), col(CannedResponse.id))
    )
    return list(rows)


async def get_canned(session: AsyncSession, user: User, canned_id: int) -> CannedResponse:
    """One the user may use (another user's own responses do not exist for them)."""
    found = await session.scalar(
        select(CannedResponse).where(col(CannedResponse.id) == canned_id, _visible_to(user))
    )
    if found is None:
        raise NotFoundError(f"no canned response {canned_id}")
    return found


async def _check_unique(session: AsyncSession, canned: CannedResponse) -> None:
    owner = col(CannedResponse.owner_id)
    clash = await session.scalar(
        select(col(CannedResponse.id)).where(
            col(CannedResponse.team_id) == canned.team_id,
            owner.is_(None) if canned.owner_id is None else owner == canned.owner_id,
            func.lower(col(CannedResponse.name)) == canned.name.lower(),
            col(CannedResponse.id) != (canned.id or 0),
        )
    )
    if clash is not None:
        raise ConflictError(f"there is already a canned response {canned.name!r}", "exists")


async def create_canned(
    session: AsyncSession, user: User, name: Any, body: Any, *, personal: bool
) -> CannedResponse:
    canned = CannedResponse(
        team_id=user.team_id,
        owner_id=user.id if personal else None,
        name=_name(name),
        body=_body(body),
    )
    await _check_unique(session, canned)
    session.add(canned)
    await session.flush()
    return canned


async def update_canned(
    session: AsyncSession, canned: CannedResponse, name: Any, body: Any
) -> None:
    if name is not None:
        canned.name = _name(name)
    if body is not None:
        canned.body = _body(body)
    await _check_unique(session, canned)
    canned.updated_at = utcnow()
    session.add(canned)
    await session.flush()
