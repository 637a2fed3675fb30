"""Bulk send recipients (DESIGN.md, "Rules the seeds set": one individual text per recipient,
never a group text): the contacts and numbers a sender named, resolved to distinct E.164
numbers, each with the reason it cannot be texted, if any. Queueing them is the one outbound
path (`inbox/outbound.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbox import contacts
from inbox.errors import InboxError, InvalidInputError
from inbox.phones import to_e164

MAX_RECIPIENTS = 10_000  # a campaign beyond this belongs to a marketing tool


@dataclass
class Recipient:
    to: str | None
    contact_id: int | None = None
    error: tuple[str, str] | None = None  # (code, message) when it cannot be sent to


async def resolve_recipients(
    session: AsyncSession, team_id: int, contact_ids: Any, numbers: Any
) -> list[Recipient]:
    """The recipients, in the order given: a contact's first number, or a number; contacts of
    another team, bad numbers and repeats are kept with their error."""
    contact_ids, numbers = contact_ids or [], numbers or []
    if not isinstance(contact_ids, list) or not isinstance(numbers, list):
        raise InvalidInputError("contact_ids and numbers are lists")
    if not contact_ids and not numbers:
        raise InvalidInputError("give contact_ids or numbers")
    if len(contact_ids) + len(numbers) > MAX_RECIPIENTS:
        raise InvalidInputError(f"at most {MAX_RECIPIENTS} recipients at once", "too_many")
    found: list[Recipient] = []
    wanted = [c for c in contact_ids if isinstance(c, int) and not isinstance(c, bool)]
    by_contact = await contacts.numbers_of(session, wanted) if wanted else {}
    known = await contacts.teams_of(session, wanted)
    for contact_id in contact_ids:
        numbers_of = by_contact.get(contact_id) if known.get(contact_id) == team_id else None
        if not numbers_of:
            found.append(Recipient(None, contact_id, ("not_found", "no such contact")))
        else:
            found.append(Recipient(numbers_of[0], contact_id))  # a contact's first number
    for raw in numbers:
        try:
            found.append(Recipient(to_e164(raw) if isinstance(raw, str) else to_e164("")))
        except InboxError as exc:
            found.append(Recipient(None, error=(exc.code, f"{raw!r}: {exc.message}")))
    seen: set[str] = set()
    for r in found:
        if r.to is not None and r.to in seen:
            r.error = ("duplicate", f"{r.to} is already in this send")
        elif r.to is not None:
            seen.add(r.to)
    return found
