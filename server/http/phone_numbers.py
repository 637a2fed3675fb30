"""REST for the team's phone numbers (admins): `GET /api/v1/phone-numbers`, the numbers an
inbox can be given (`PATCH /api/v1/inboxes/{id}` `{phone_number_id}`). Buying, labelling and
releasing them, and the full table of seed 002, are the phone-number lifecycle's (DESIGN.md,
"Phone numbers"); this list is its start."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inbox.models import ADMIN_ROLES, PhoneNumber
from inbox.views import iso
from server.auth import require_user
from server.http._helpers import require_role
from server.services import services


async def list_numbers(request: Request) -> JSONResponse:
    """Every number the team has (released ones too, marked), by number."""
    user = await require_user(request)
    require_role(user, ADMIN_ROLES)
    async with services(request).db.read() as session:
        rows = await session.scalars(
            select(PhoneNumber)
            .where(col(PhoneNumber.team_id) == user.team_id)
            .order_by(col(PhoneNumber.number))
        )
        items = [
            {
                "id": n.id,
                "phone_number": n.number,
                "name": n.label,
                "inbox_id": n.inbox_id,
                "released": n.released_at is not None,
                "last_used_at": iso(n.last_used_at),
            }
            for n in rows
        ]
    return JSONResponse({"items": items, "next": None})


routes = [Route("/phone-numbers", list_numbers, methods=["GET"])]
