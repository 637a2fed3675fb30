"""REST about people: the caller (`GET /api/v1/me`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inbox import eventlog
from inbox.views import user_view
from server.auth import require_user
from server.services import services


async def me(request: Request) -> JSONResponse:
    user = await require_user(request)
    async with services(request).db.read() as session:
        last = await eventlog.last_event_id(session, user.team_id)
    return JSONResponse(
        {
            **(user_view(user) or {}),
            "username": user.username,
            "role": user.role,
            "team_id": user.team_id,
            "last_event_id": last,  # where a new socket client starts (hello replays after it)
        }
    )


routes = [Route("/me", me)]
