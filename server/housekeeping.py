"""REST for moving a conversation to another inbox (out of the Mailroom, mostly) and for
deleting one (admins, with the counterparty's number typed as confirmation)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from inbox import conversations, deletion, mailroom, triage
from inbox.eventlog import append_event
from server.api import caller, json_body, path_id
from server.errors import ApiError
from server.state import services
from server.workflows import require_admin


async def move_conversation(request: Request) -> JSONResponse:
    """`{inbox_id}`: the caller must be a member of both inboxes. Members of the old inbox are
    told it left (`conversation.deleted`), members of the new one see it arrive."""
    user, visible = await caller(request)
    target_id = (await json_body(request)).get("inbox_id")
    if not isinstance(target_id, int) or isinstance(target_id, bool):
        raise ApiError(422, "invalid", "inbox_id (a number) is required")
    svc = services(request)
    async with svc.db.write() as session:
        conversation = await conversations.get_conversation(
            session, path_id(request, "conversation_id"), visible
        )
        target = await conversations.get_inbox(session, target_id, visible)
        left = deletion.tombstone(conversation)
        moved = await mailroom.move_conversation(session, conversation, target)
        gone = await append_event(
            session, moved.team_id, "conversation.deleted", left, inbox_id=left["inbox_id"]
        )
        arrived = await triage.conversation_updated(session, moved)
        (view,) = await conversations.describe(session, [moved], user.id)
    await svc.announce(gone, arrived)
    return JSONResponse(view)


async def delete_conversation(request: Request) -> Response:
    """Body `{"confirm": "<the counterparty's number>"}`; removes every message, for good."""
    user, visible = await caller(request)
    require_admin(user)
    body = await json_body(request)
    svc = services(request)
    async with svc.db.write() as session:
        conversation = await conversations.get_conversation(
            session, path_id(request, "conversation_id"), visible
        )
        deletion.check_confirmation(conversation, body.get("confirm"))
        event = await deletion.delete_conversation(session, conversation)
    await svc.announce(event)
    return Response(status_code=204)


routes = [
    Route("/conversations/{conversation_id}/move", move_conversation, methods=["POST"]),
    Route("/conversations/{conversation_id}", delete_conversation, methods=["DELETE"]),
]
