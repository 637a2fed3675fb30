"""The supervisor board over REST (DESIGN.md, "REST"): `GET /api/v1/presence`,
`GET /api/v1/locks`, `DELETE /api/v1/locks/{conversation_id}` (force-release), and
`GET /api/v1/board` (the queue: open conversations assigned or waiting, and each agent's last
reply; the page keeps them current from the events)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inbox import conversations, queues
from inbox.models import SUPERVISING_ROLES, utcnow
from inbox.views import iso
from server.errors import ApiError
from server.flows import locks
from server.flows.events import lock_data, visible_presence
from server.http._helpers import caller, path_id, require_role
from server.services import services


async def list_presence(request: Request) -> JSONResponse:
    """Everyone of the caller's team with a presence record (offline ones for a day)."""
    user, visible = await caller(request)
    svc = services(request)
    states = await svc.presence.team(user.team_id)
    async with svc.db.read() as session:
        items = await visible_presence(session, states, visible)
    return JSONResponse({"items": items, "next": None})


async def list_locks(request: Request) -> JSONResponse:
    """Live locks in the inboxes the caller may see."""
    user, visible = await caller(request)
    held = await services(request).locks.all_locks()
    items = [
        lock_data(lock, board=True)
        for lock in sorted(held, key=lambda lock: lock.conversation_id)
        if lock.team_id == user.team_id and lock.inbox_id in visible
    ]
    return JSONResponse({"items": items, "next": None})


async def board_queue(request: Request) -> JSONResponse:
    user, visible = await caller(request)
    require_role(user, SUPERVISING_ROLES)
    async with services(request).db.read() as session:
        waiting = await queues.open_queue(session, visible)
        views = await conversations.describe(session, waiting, None)
        replies = await queues.last_replies(session, visible, utcnow())
    last = [{"user_id": u, "at": iso(at)} for u, at in sorted(replies.items())]
    return JSONResponse({"conversations": views, "last_replies": last})


async def force_release(request: Request) -> JSONResponse:
    user, visible = await caller(request)
    require_role(user, SUPERVISING_ROLES)
    svc = services(request)
    async with svc.db.read() as session:
        conversation = await conversations.get_conversation(
            session, path_id(request, "conversation_id"), visible
        )
    assert conversation.id is not None
    released = await locks.release(svc, conversation.team_id, conversation.id, None, "forced")
    if released is None:
        raise ApiError(404, "not_locked", "nobody holds this conversation")
    return JSONResponse(
        {
            "conversation_id": conversation.id,
            "holder": released.holder.view(),
            "reason": released.reason,
        }
    )


routes = [
    Route("/presence", list_presence),
    Route("/locks", list_locks),
    Route("/board", board_queue),
    Route("/locks/{conversation_id}", force_release, methods=["DELETE"]),
]
