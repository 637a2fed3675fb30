"""REST for inboxes: the caller's list, and their settings (admins): HELP text and unsolicited
handling, out-of-office, members. A membership change reaches every server process through
the event log, so a removed member stops receiving the inbox's events from the next event on,
wherever they are connected."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inbox import accounts, away, conversations, memberships
from inbox.models import ADMIN_ROLES, UNSOLICITED_MODES
from inbox.segments import MAX_BODY_CHARS
from inbox.views import inbox_view, user_view, users_by_id
from server.auth import require_user
from server.errors import ApiError
from server.flows.events import append_access_changed
from server.http._helpers import caller, json_body, path_id, require_role
from server.inputs import int_or_none
from server.services import services


async def list_inboxes(request: Request) -> JSONResponse:
    user, _ = await caller(request)
    async with services(request).db.read() as session:
        inboxes = await accounts.visible_inboxes(session, user)
    return JSONResponse({"items": [inbox_view(i) for i in inboxes], "next": None})


async def patch_inbox(request: Request) -> JSONResponse:
    """Admins: `{unsolicited?: "agent"|"bot", help_text?}` (the HELP answer)."""
    user, visible = await caller(request)
    require_role(user, ADMIN_ROLES)
    body = await json_body(request)
    mode, help_text = body.get("unsolicited"), body.get("help_text")
    if mode is not None and mode not in UNSOLICITED_MODES:
        raise ApiError(422, "invalid", f"unsolicited is one of {', '.join(UNSOLICITED_MODES)}")
    if help_text is not None and (
        not isinstance(help_text, str) or len(help_text) > MAX_BODY_CHARS
    ):
        raise ApiError(422, "invalid", f"help_text is at most {MAX_BODY_CHARS} characters")
    async with services(request).db.write() as session:
        inbox = await conversations.get_inbox(session, path_id(request, "inbox_id"), visible)
        inbox.unsolicited = mode if mode is not None else inbox.unsolicited
        inbox.help_text = help_text if help_text is not None else inbox.help_text
        session.add(inbox)
    return JSONResponse({**inbox_view(inbox), "help_text": inbox.help_text})


async def get_out_of_office(request: Request) -> JSONResponse:
    user, visible = await caller(request)
    svc = services(request)
    async with svc.db.read() as session:
        inbox = await conversations.get_inbox(session, path_id(request, "inbox_id"), visible)
    return JSONResponse(away.settings_view(inbox, svc.settings.clock()))


async def put_out_of_office(request: Request) -> JSONResponse:
    user, visible = await caller(request)
    require_role(user, ADMIN_ROLES)
    body = await json_body(request)
    svc = services(request)
    now = svc.settings.clock()
    async with svc.db.write() as session:
        inbox = await conversations.get_inbox(session, path_id(request, "inbox_id"), visible)
        away.configure(inbox, body, now)
        session.add(inbox)
    return JSONResponse(away.settings_view(inbox, now))


async def get_members(request: Request) -> JSONResponse:
    """Who belongs to the inbox, for its members (whom a note may mention) and the team's
    admins: `user_ids`, and `items` with each one's name and username."""
    user, visible = await caller(request)
    inbox_id = path_id(request, "inbox_id")
    if inbox_id not in visible:
        require_role(user, ADMIN_ROLES)
    async with services(request).db.read() as session:
        await memberships.team_inbox(session, user.team_id, inbox_id)
        members = await memberships.member_ids(session, inbox_id)
        people = await users_by_id(session, members)
    items = [
        {**(user_view(u) or {}), "username": u.username}
        for u in sorted(people.values(), key=lambda u: u.name.lower())
    ]
    return JSONResponse({"inbox_id": inbox_id, "user_ids": sorted(members), "items": items})


async def put_members(request: Request) -> JSONResponse:
    user = await require_user(request)
    require_role(user, ADMIN_ROLES)
    inbox_id = path_id(request, "inbox_id")
    user_ids = (await json_body(request)).get("user_ids")
    if not isinstance(user_ids, list) or any(int_or_none(u) is None for u in user_ids):
        raise ApiError(422, "invalid", "user_ids must be a list of user ids")
    svc = services(request)
    async with svc.db.write() as session:
        members, touched = await memberships.set_members(session, user.team_id, inbox_id, user_ids)
        events = await append_access_changed(session, user.team_id, touched)
    await svc.announce(*events)
    return JSONResponse({"inbox_id": inbox_id, "user_ids": members})


routes = [
    Route("/inboxes", list_inboxes),
    Route("/inboxes/{inbox_id}", patch_inbox, methods=["PATCH"]),
    Route("/inboxes/{inbox_id}/out-of-office", get_out_of_office, methods=["GET"]),
    Route("/inboxes/{inbox_id}/out-of-office", put_out_of_office, methods=["PUT"]),
    Route("/inboxes/{inbox_id}/members", get_members, methods=["GET"]),
    Route("/inboxes/{inbox_id}/members", put_members, methods=["PUT"]),
]
