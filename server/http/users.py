"""REST about people: the caller (`GET /api/v1/me`) and their password
(`POST /api/v1/me/password`, which ends their other sessions)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from inbox import eventlog
from inbox.models import User
from inbox.views import user_view
from server.auth import require_user, session_key
from server.errors import ApiError
from server.flows import sessions
from server.http._helpers import json_body
from server.services import services

MIN_PASSWORD_CHARS = 8  # NIST SP 800-63B's floor for a chosen password
MAX_PASSWORD_CHARS = 1024  # argon2 takes any length; this only bounds the work


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


async def change_password(request: Request) -> Response:
    """`{current, new}`: the caller's password becomes `new`; every other session of theirs
    ends, and its sockets close."""
    user = await require_user(request)
    body = await json_body(request)
    current, new = body.get("current"), body.get("new")
    if not isinstance(current, str):
        raise ApiError(422, "invalid", "current (your password now) is required")
    if not isinstance(new, str) or not MIN_PASSWORD_CHARS <= len(new) <= MAX_PASSWORD_CHARS:
        raise ApiError(
            422, "invalid", f"new must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
        )
    svc = services(request)
    subject = (svc.throttle.user, user.username)  # guessing it here counts as at the login
    await svc.throttle.check(subject)
    if not await svc.passwords.verify(user.password_hash, current):
        await svc.throttle.failed(subject)
        raise ApiError(403, "wrong_password", "current is not your password")
    new_hash = await svc.passwords.hash(new)
    async with svc.db.write() as session:
        stored = await session.get(User, user.id)
        assert stored is not None and stored.id is not None
        stored.password_hash = new_hash
    await sessions.end_all(svc, stored.id, keep=session_key(request))
    return Response(status_code=204)


routes = [Route("/me", me), Route("/me/password", change_password, methods=["POST"])]
