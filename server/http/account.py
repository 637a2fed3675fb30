"""REST about the caller (any user): who they are (`GET /api/v1/me`), their password
(`POST /api/v1/me/password`, which ends their other sessions) and their browser sessions
(`GET /api/v1/me/sessions`, `DELETE /api/v1/me/sessions/{id}`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from inbox import accounts, eventlog
from inbox.views import iso, user_view
from server.auth import require_user, session_key
from server.errors import ApiError
from server.flows import sessions
from server.http._helpers import json_body
from server.passwords import check_password
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


async def change_password(request: Request) -> Response:
    """`{current, new}`: the caller's password becomes `new`; every other session of theirs
    ends, and its sockets close."""
    user = await require_user(request)
    body = await json_body(request)
    current = body.get("current")
    if not isinstance(current, str):
        raise ApiError(422, "invalid", "current (your password now) is required")
    new = check_password(body.get("new"), "new")
    svc = services(request)
    subject = (svc.throttle.user, user.username)  # guessing it here counts as at the login
    await svc.throttle.check(subject)
    if not await svc.passwords.verify(user.password_hash, current):
        await svc.throttle.failed(subject)
        raise ApiError(403, "wrong_password", "current is not your password")
    new_hash = await svc.passwords.hash(new)
    assert user.id is not None
    async with svc.db.write() as session:
        await accounts.set_password_hash(session, user.id, new_hash)
    await sessions.end_all(svc, user.id, keep=session_key(request))
    return Response(status_code=204)


async def list_sessions(request: Request) -> JSONResponse:
    """The caller's live browser sessions, newest first; `current` marks this one."""
    user = await require_user(request)
    assert user.id is not None
    here = session_key(request)
    rows = await sessions.list_sessions(services(request), user.id)
    items = [
        {
            "id": row.id,  # the store's key: it opens nothing without the cookie it hashes
            "created_at": iso(row.created_at),
            "seen_at": iso(row.seen_at),
            "address": row.address,
            "user_agent": row.user_agent,
            "current": row.id == here,
        }
        for row in rows
    ]
    return JSONResponse({"items": items, "next": None})


async def end_session(request: Request) -> Response:
    """End one of the caller's sessions (its sockets close at once)."""
    user = await require_user(request)
    assert user.id is not None
    key = str(request.path_params["session_id"])
    if not await sessions.end_of_user(services(request), user.id, key):
        raise ApiError(404, "not_found", "you have no such session")
    return Response(status_code=204)


routes = [
    Route("/me", me),
    Route("/me/password", change_password, methods=["POST"]),
    Route("/me/sessions", list_sessions, methods=["GET"]),
    Route("/me/sessions/{session_id}", end_session, methods=["DELETE"]),
]
