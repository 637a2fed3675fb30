"""REST for matters (client/matter, seeds 000 and 003): the team's list, one matter with the
conversations filed under it that the caller may see, and filing a conversation. Any member of
the team makes, renames and archives matters (each a `matter.changed` event to the team), as
they keep its contacts; any member of a conversation's inbox files it (`conversation.updated`
to the inbox)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inbox import conversations, matters
from server.errors import ApiError
from server.flows.events import append_conversation_updated, append_matter_changed
from server.http._helpers import caller, json_body, path_id
from server.inputs import int_or_none
from server.services import services


async def list_matters(request: Request) -> JSONResponse:
    """`?status=active|archived` (default: both), by name."""
    user, _ = await caller(request)
    async with services(request).db.read() as session:
        found = await matters.list_matters(
            session, user.team_id, request.query_params.get("status")
        )
        items = await matters.describe(session, found)
    return JSONResponse({"items": items, "next": None})


async def create_matter(request: Request) -> JSONResponse:
    """`{name, client_id, status?, inbox_id?}`."""
    user, visible = await caller(request)
    body = await json_body(request)
    svc = services(request)
    async with svc.db.write() as session:
        matter = await matters.create_matter(session, user.team_id, body, visible)
        event = await append_matter_changed(session, matter)
        (view,) = await matters.describe(session, [matter])
    await svc.announce(event)
    return JSONResponse(view, status_code=201)


async def get_matter(request: Request) -> JSONResponse:
    """The matter and, newest activity first, its conversations the caller may see."""
    user, visible = await caller(request)
    async with services(request).db.read() as session:
        matter = await matters.get_matter(session, user.team_id, path_id(request, "matter_id"))
        (view,) = await matters.describe(session, [matter])
        filed = await matters.filed_conversations(session, matter, visible)
        view["conversations"] = await conversations.describe(session, filed, user.id)
    return JSONResponse(view)


async def update_matter(request: Request) -> JSONResponse:
    """`{name?, client_id?, status?, inbox_id?}`."""
    user, visible = await caller(request)
    body = await json_body(request)
    svc = services(request)
    async with svc.db.write() as session:
        matter = await matters.get_matter(session, user.team_id, path_id(request, "matter_id"))
        await matters.update_matter(session, matter, body, visible)
        event = await append_matter_changed(session, matter)
        (view,) = await matters.describe(session, [matter])
    await svc.announce(event)
    return JSONResponse(view)


async def file_conversation(request: Request) -> JSONResponse:
    """`{"matter_id": id | null}`: file the conversation under that matter, or under none."""
    user, visible = await caller(request)
    body = await json_body(request)
    if "matter_id" not in body:
        raise ApiError(422, "invalid", "matter_id (a matter's id, or null) is required")
    matter_id = int_or_none(body["matter_id"])
    if body["matter_id"] is not None and matter_id is None:
        raise ApiError(422, "invalid", "matter_id must be a matter's id or null")
    svc = services(request)
    async with svc.db.write() as session:
        conversation = await conversations.get_conversation(
            session, path_id(request, "conversation_id"), visible
        )
        matter = None
        if matter_id is not None:
            matter = await matters.get_matter(session, user.team_id, matter_id)
        changed = await matters.file_conversation(session, conversation, matter)
        event = await append_conversation_updated(session, conversation) if changed else None
        (view,) = await conversations.describe(session, [conversation], user.id)
    await svc.announce(event)
    return JSONResponse(view)


routes = [
    Route("/matters", list_matters, methods=["GET"]),
    Route("/matters", create_matter, methods=["POST"]),
    Route("/matters/{matter_id}", get_matter, methods=["GET"]),
    Route("/matters/{matter_id}", update_matter, methods=["PATCH"]),
    Route("/conversations/{conversation_id}/matter", file_conversation, methods=["PUT"]),
]
