"""REST for tags: the team's list (`GET /api/v1/tags`; admins make, rename, recolour and delete
them, each a `tag.updated` / `tag.deleted` event to the team) and a conversation's tags (any
member of its inbox adds or removes one: `conversation.updated` to the inbox)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from inbox import conversations, tags
from inbox.models import ADMIN_ROLES
from inbox.views import tag_view
from server.errors import ApiError
from server.flows.events import append_conversation_updated, append_tag_deleted, append_tag_updated
from server.http._helpers import caller, json_body, path_id, require_role
from server.inputs import int_or_none
from server.services import services


async def list_tags(request: Request) -> JSONResponse:
    user, _ = await caller(request)
    async with services(request).db.read() as session:
        items = [tag_view(t) for t in await tags.list_tags(session, user.team_id)]
    return JSONResponse({"items": items, "next": None})


async def create_tag(request: Request) -> JSONResponse:
    user, _ = await caller(request)
    require_role(user, ADMIN_ROLES)
    body = await json_body(request)
    svc = services(request)
    async with svc.db.write() as session:
        tag = await tags.create_tag(session, user.team_id, body.get("name"), body.get("colour"))
        event = await append_tag_updated(session, tag)
    await svc.announce(event)
    return JSONResponse(tag_view(tag), status_code=201)


async def update_tag(request: Request) -> JSONResponse:
    user, _ = await caller(request)
    require_role(user, ADMIN_ROLES)
    body = await json_body(request)
    svc = services(request)
    async with svc.db.write() as session:
        tag = await tags.get_tag(session, user.team_id, path_id(request, "tag_id"))
        await tags.update_tag(session, tag, body.get("name"), body.get("colour"))
        event = await append_tag_updated(session, tag)
    await svc.announce(event)
    return JSONResponse(tag_view(tag))


async def delete_tag(request: Request) -> Response:
    user, _ = await caller(request)
    require_role(user, ADMIN_ROLES)
    svc = services(request)
    async with svc.db.write() as session:
        tag = await tags.get_tag(session, user.team_id, path_id(request, "tag_id"))
        event = await append_tag_deleted(session, tag)
        await tags.delete_tag(session, tag)
    await svc.announce(event)
    return Response(status_code=204)


async def _tag_conversation(request: Request, tag_id: int | None, *, add: bool) -> JSONResponse:
    user, visible = await caller(request)
    if tag_id is None:
        raise ApiError(422, "invalid", "tag_id (a number) is required")
    svc = services(request)
    async with svc.db.write() as session:
        conversation = await conversations.get_conversation(
            session, path_id(request, "conversation_id"), visible
        )
        tag = await tags.get_tag(session, user.team_id, tag_id)
        change = tags.add_tag if add else tags.remove_tag
        changed = await change(session, conversation, tag)
        event = await append_conversation_updated(session, conversation) if changed else None
        (view,) = await conversations.describe(session, [conversation], user.id)
    await svc.announce(event)
    return JSONResponse(view)


async def add_conversation_tag(request: Request) -> JSONResponse:
    """`{tag_id}`: put the tag on the conversation (already there: nothing changes)."""
    tag_id = int_or_none((await json_body(request)).get("tag_id"))
    return await _tag_conversation(request, tag_id, add=True)


async def remove_conversation_tag(request: Request) -> JSONResponse:
    return await _tag_conversation(request, path_id(request, "tag_id"), add=False)


routes = [
    Route("/tags", list_tags, methods=["GET"]),
    Route("/tags", create_tag, methods=["POST"]),
    Route("/tags/{tag_id}", update_tag, methods=["PATCH"]),
    Route("/tags/{tag_id}", delete_tag, methods=["DELETE"]),
    Route("/conversations/{conversation_id}/tags", add_conversation_tag, methods=["POST"]),
    Route(
        "/conversations/{conversation_id}/tags/{tag_id}",
        remove_conversation_tag,
        methods=["DELETE"],
    ),
]
