"""REST for the team's people (admins; DESIGN.md, "Admin"): `GET /api/v1/users`,
`POST /api/v1/users` `{username, name, role, password?}` (no password: the answer carries a
one-time set-password link to hand over; role `bot`: a bot user, which gets tokens),
`PATCH /api/v1/users/{id}` `{name?, role?, disabled?}`, and
`POST /api/v1/users/{id}/password-link` (a new link: an invitation again, or a reset)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inbox import accounts
from inbox.models import ROLES, User
from inbox.views import iso, person_view
from server.errors import ApiError
from server.flows import users
from server.http._helpers import json_body, link_url, path_id, require_admin
from server.passwords import check_password
from server.services import services


def admin_user_view(user: User) -> dict[str, Any]:
    """What an admin sees of a user (never a password hash)."""
    return {
        **person_view(user),
        "username": user.username,
        "password_set": user.password_hash is not None,
        "disabled_at": iso(user.disabled_at),
        "created_at": iso(user.created_at),
    }


async def list_users(request: Request) -> JSONResponse:
    admin = await require_admin(request)
    async with services(request).db.read() as session:
        people = await accounts.team_users(session, admin.team_id)
    return JSONResponse({"items": [admin_user_view(u) for u in people], "next": None})


def _text(body: dict[str, Any], key: str, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ApiError(422, "invalid", f"{key} must be text")
    return value


async def create_user(request: Request) -> JSONResponse:
    admin = await require_admin(request)
    body = await json_body(request)
    username = accounts.check_username(body.get("username"))
    name = accounts.check_name(body.get("name") or username)
    role = body.get("role", "agent")
    if role not in ROLES:
        raise ApiError(422, "invalid", f"role must be one of {', '.join(ROLES)}")
    password = body.get("password")
    if password is not None and password != "":
        if role == "bot":
            raise ApiError(422, "invalid", "bots have no password; make them a token")
        password = check_password(password)
    user, secret = await users.create_user(
        services(request), admin, username, name, role, password or None
    )
    answer = admin_user_view(user)
    if secret is not None:
        answer["set_password_url"] = link_url(request, "password", secret)
    return JSONResponse(answer, status_code=201)


async def patch_user(request: Request) -> JSONResponse:
    admin = await require_admin(request)
    body = await json_body(request)
    disabled = body.get("disabled")
    if disabled is not None and not isinstance(disabled, bool):
        raise ApiError(422, "invalid", "disabled must be true or false")
    changes = users.Changes(_text(body, "name"), _text(body, "role"), disabled)
    user = await users.update_user(services(request), admin, path_id(request, "user_id"), changes)
    return JSONResponse(admin_user_view(user))


async def password_link(request: Request) -> JSONResponse:
    admin = await require_admin(request)
    secret = await users.create_password_link(services(request), admin, path_id(request, "user_id"))
    return JSONResponse({"set_password_url": link_url(request, "password", secret)}, 201)


routes = [
    Route("/users", list_users, methods=["GET"]),
    Route("/users", create_user, methods=["POST"]),
    Route("/users/{user_id}", patch_user, methods=["PATCH"]),
    Route("/users/{user_id}/password-link", password_link, methods=["POST"]),
]
