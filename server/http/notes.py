"""REST for private notes and mentions: `POST /api/v1/conversations/{id}/notes` `{body}` (any
member of the inbox; never sent as a text; `note.created` to the inbox, `mention.created` to
each teammate it names), `GET /api/v1/mentions` (the notes naming the caller, newest first, with
the count not yet seen) and `POST /api/v1/mentions/read` (the caller has seen them all)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inbox import conversations, notes
from inbox.views import mentioned_by_message, message_view, users_by_id
from server.flows.events import append_note_created
from server.http._helpers import caller, json_body, page_limit, path_id, query_id
from server.services import services


async def add_note(request: Request) -> JSONResponse:
    user, visible = await caller(request)
    body = await json_body(request)
    svc = services(request)
    async with svc.db.write() as session:
        conversation = await conversations.get_conversation(
            session, path_id(request, "conversation_id"), visible
        )
        note, mentioned = await notes.add_note(session, conversation, user, body.get("body"))
        events = await append_note_created(session, note, conversation, user, mentioned)
    await svc.announce(*events)
    return JSONResponse(message_view(note, user, mentioned), status_code=201)


async def list_mentions(request: Request) -> JSONResponse:
    user, visible = await caller(request)
    assert user.id is not None
    before = query_id(request, "cursor")
    async with services(request).db.read() as session:
        page, next_before = await notes.list_mentions(
            session, user.id, visible, before, page_limit(request.query_params.get("limit"))
        )
        authors = await users_by_id(session, (m.sender_id for m, _, _ in page))
        mentioned = await mentioned_by_message(session, [m for m, _, _ in page])
        views = await conversations.describe(session, [c for _, c, _ in page], user.id)
        unread = await notes.unread_mentions(session, user.id, visible)
    items = [
        {
            "message": message_view(m, authors.get(m.sender_id or 0), mentioned.get(m.id or 0, [])),
            "conversation": view,
            "read": read,
        }
        for (m, _, read), view in zip(page, views, strict=True)
    ]
    next_cursor = str(next_before) if next_before else None
    return JSONResponse({"items": items, "next": next_cursor, "unread": unread})


async def read_mentions(request: Request) -> JSONResponse:
    user, _ = await caller(request)
    assert user.id is not None
    async with services(request).db.write() as session:
        await notes.mark_mentions_read(session, user.id)
    return JSONResponse({"unread": 0})


routes = [
    Route("/conversations/{conversation_id}/notes", add_note, methods=["POST"]),
    Route("/mentions", list_mentions, methods=["GET"]),
    Route("/mentions/read", read_mentions, methods=["POST"]),
]
