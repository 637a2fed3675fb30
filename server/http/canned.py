"""REST for canned responses: the team's library (admins make and change it) and each user's
own, `GET /api/v1/canned-responses?q=`, one filled in for a conversation
(`GET /api/v1/canned-responses/{id}/render?conversation_id=N`, what a bot or the composer sends),
and `POST` / `PATCH` / `DELETE` to keep them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from inbox import canned, conversations
from inbox.models import ADMIN_ROLES, CannedResponse, User
from server.errors import ApiError
from server.http._helpers import caller, json_body, path_id, query_id, require_role
from server.services import services


def _require_editor(user: User, response: CannedResponse) -> None:
    """The team's library is the admins'; a personal one is its owner's (nobody else sees it)."""
    if response.owner_id is None:
        require_role(user, ADMIN_ROLES)


async def list_canned(request: Request) -> JSONResponse:
    user, _ = await caller(request)
    async with services(request).db.read() as session:
        found = await canned.list_canned(session, user, request.query_params.get("q"))
    return JSONResponse({"items": [canned.canned_view(c) for c in found], "next": None})


async def create_canned(request: Request) -> JSONResponse:
    """`{name, body, scope: "team" | "personal"}` (default: team for admins, else personal)."""
    user, _ = await caller(request)
    body = await json_body(request)
    scope = body.get("scope", "team" if user.role in ADMIN_ROLES else "personal")
    if scope not in ("team", "personal"):
        raise ApiError(422, "invalid", "scope is team or personal")
    if scope == "team":
        require_role(user, ADMIN_ROLES)
    async with services(request).db.write() as session:
        made = await canned.create_canned(
            session, user, body.get("name"), body.get("body"), personal=scope == "personal"
        )
    return JSONResponse(canned.canned_view(made), status_code=201)


async def get_canned(request: Request) -> JSONResponse:
    user, _ = await caller(request)
    async with services(request).db.read() as session:
        found = await canned.get_canned(session, user, path_id(request, "canned_id"))
    return JSONResponse(canned.canned_view(found))


async def update_canned(request: Request) -> JSONResponse:
    user, _ = await caller(request)
    body = await json_body(request)
    async with services(request).db.write() as session:
        found = await canned.get_canned(session, user, path_id(request, "canned_id"))
        _require_editor(user, found)
        await canned.update_canned(session, found, body.get("name"), body.get("body"))
    return JSONResponse(canned.canned_view(found))


async def delete_canned(request: Request) -> Response:
    user, _ = await caller(request)
    async with services(request).db.write() as session:
        found = await canned.get_canned(session, user, path_id(request, "canned_id"))
        _require_editor(user, found)
        await session.delete(found)
    return Response(status_code=204)


async def render_canned(request: Request) -> JSONResponse:
    """The response filled in for `conversation_id` as the caller would send it: `{id, name,
    body}`, plus `defaults`, the variables that had no value and got their stand-in."""
    user, visible = await caller(request)
    conversation_id = query_id(request, "conversation_id")
    if conversation_id is None:
        raise ApiError(422, "invalid", "conversation_id (a number) is required")
    async with services(request).db.read() as session:
        found = await canned.get_canned(session, user, path_id(request, "canned_id"))
        conversation = await conversations.get_conversation(session, conversation_id, visible)
        values = await canned.values_for(session, conversation, user)
    filled, defaults = canned.fill(found.body, values)
    return JSONResponse({"id": found.id, "name": found.name, "body": filled, "defaults": defaults})


routes = [
    Route("/canned-responses", list_canned, methods=["GET"]),
    Route("/canned-responses", create_canned, methods=["POST"]),
    Route("/canned-responses/{canned_id}", get_canned, methods=["GET"]),
    Route("/canned-responses/{canned_id}", update_canned, methods=["PATCH"]),
    Route("/canned-responses/{canned_id}", delete_canned, methods=["DELETE"]),
    Route("/canned-responses/{canned_id}/render", render_canned, methods=["GET"]),
]
