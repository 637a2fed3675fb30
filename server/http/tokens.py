"""REST for API tokens (admins; DESIGN.md, "Admin"): `GET /api/v1/tokens` (never a token's
text again), `POST /api/v1/tokens` `{user_id, name, expires_at?}` → `{id, token, ...}` (the
only time the token is shown), `DELETE /api/v1/tokens/{id}` (its sockets close at once)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from inbox import accounts
from inbox.models import Token, User, utcnow
from inbox.views import iso, person_view
from server.errors import ApiError
from server.flows import tokens
from server.http._helpers import json_body, path_id, require_admin
from server.inputs import int_or_none
from server.services import services


def token_view(token: Token, user: User) -> dict[str, Any]:
    expired = token.expires_at is not None and token.expires_at <= utcnow()
    return {
        "id": token.id,
        "name": token.label,
        "user": person_view(user),
        "created_at": iso(token.created_at),
        "last_used_at": iso(token.last_used_at),
        "expires_at": iso(token.expires_at),
        "expired": expired,
    }


async def list_tokens(request: Request) -> JSONResponse:
    admin = await require_admin(request)
    async with services(request).db.read() as session:
        rows = await accounts.team_tokens(session, admin.team_id)
    return JSONResponse({"items": [token_view(t, u) for t, u in rows], "next": None})


def _expiry(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        if moment is not None:
            moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):  # not a date, or out of range once in UTC
        moment = None
    if moment is None:
        raise ApiError(422, "invalid", "expires_at must be an ISO 8601 date and time, or null")
    if moment <= utcnow():
        raise ApiError(422, "invalid", "expires_at must be in the future")
    return moment


async def create_token(request: Request) -> JSONResponse:
    admin = await require_admin(request)
    body = await json_body(request)
    user_id = int_or_none(body.get("user_id"))
    if user_id is None:
        raise ApiError(422, "invalid", "user_id (whose token it is) is required")
    name = accounts.check_name(body.get("name"))
    row, user, secret = await tokens.create_token(
        services(request), admin, user_id, name, _expiry(body.get("expires_at"))
    )
    return JSONResponse({**token_view(row, user), "token": secret}, status_code=201)


async def revoke_token(request: Request) -> Response:
    admin = await require_admin(request)
    await tokens.revoke_token(services(request), admin, path_id(request, "token_id"))
    return Response(status_code=204)


routes = [
    Route("/tokens", list_tokens, methods=["GET"]),
    Route("/tokens", create_token, methods=["POST"]),
    Route("/tokens/{token_id}", revoke_token, methods=["DELETE"]),
]
