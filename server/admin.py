"""Admin-only REST: inbox membership (DESIGN.md, "Who uses it": admin manages members).
A change reaches every server process through the event log, so a removed member stops
receiving the inbox's events from the next event on, wherever they are connected."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inbox import memberships
from inbox.models import User
from server.api import json_body, path_id
from server.auth import require_user
from server.errors import ApiError
from server.state import services


async def require_admin(request: Request) -> User:
    user = await require_user(request)
    if user.role != "admin":
        raise ApiError(403, "forbidden", "only an admin may do this")
    return user


async def get_members(request: Request) -> JSONResponse:
    admin = await require_admin(request)
    inbox_id = path_id(request, "inbox_id")
    async with services(request).db.read() as session:
        await memberships.team_inbox(session, admin.team_id, inbox_id)
        members = await memberships.member_ids(session, inbox_id)
    return JSONResponse({"inbox_id": inbox_id, "user_ids": sorted(members)})


async def put_members(request: Request) -> JSONResponse:
    admin = await require_admin(request)
    inbox_id = path_id(request, "inbox_id")
    body = await json_body(request)
    user_ids = body.get("user_ids")
    if not isinstance(user_ids, list) or not all(
        isinstance(u, int) and not isinstance(u, bool) for u in user_ids
    ):
        raise ApiError(422, "invalid", "user_ids must be a list of user ids")
    svc = services(request)
    async with svc.db.write() as session:
        members, events = await memberships.set_members(session, admin.team_id, inbox_id, user_ids)
    await svc.announce(*events)
    return JSONResponse({"inbox_id": inbox_id, "user_ids": members})


routes = [
    Route("/inboxes/{inbox_id}/members", get_members, methods=["GET"]),
    Route("/inboxes/{inbox_id}/members", put_members, methods=["PUT"]),
]
