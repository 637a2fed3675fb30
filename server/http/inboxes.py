"""REST for inboxes: the caller's list, and the admins' settings (DESIGN.md, "Admin"; seed
004's wizard): making one (`POST /api/v1/inboxes`), its settings (`PATCH`: name, API code,
colour, number, voice forwarding number, unsolicited handling, HELP answer, and `member_ids`
for a settings form that saves all at once), out-of-office, members, and archiving it.
`GET /api/v1/inboxes?all=1` lists every inbox of the team with its settings (admins). A
membership change reaches every server process through the event log, so a removed member
stops receiving the inbox's events from the next event on, wherever they are connected."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inbox import accounts, away, conversations, inboxes, memberships
from inbox.models import ADMIN_ROLES, UNSOLICITED_MODES
from inbox.segments import MAX_BODY_CHARS
from inbox.views import user_view, users_by_id
from server.errors import ApiError
from server.flows import inboxes as flows
from server.http._helpers import caller, json_body, path_id, require_admin, require_role
from server.inputs import int_or_none
from server.services import services

SETTINGS = (
    *("name", "api_code", "colour", "phone_number_id", "voice_forward_to", "help_text"),
    *("unsolicited", "unsolicited_to", "member_ids"),
    *("assignment", "assignment_cap", "sla_minutes"),
)


async def list_inboxes(request: Request) -> JSONResponse:
    """The caller's inboxes; with `all=1`, every inbox of the team and its settings (admins)."""
    if request.query_params.get("all") not in (None, "", "0"):
        admin = await require_admin(request)
        async with services(request).db.read() as session:
            team = await inboxes.team_inboxes(session, admin.team_id)
            items = await inboxes.settings_views(session, team)
        return JSONResponse({"items": items, "next": None})
    user, _ = await caller(request)
    async with services(request).db.read() as session:
        items = await inboxes.inbox_views(session, await accounts.visible_inboxes(session, user))
    return JSONResponse({"items": items, "next": None})


def _ids(value: Any, field: str) -> list[int]:
    if not isinstance(value, list) or any(int_or_none(u) is None for u in value):
        raise ApiError(422, "invalid", f"{field} must be a list of user ids")
    return [int(u) for u in value]


def _settings(body: dict[str, Any]) -> flows.Settings:
    """The settings a body gives, each of the right type (their values are checked as they are
    applied: inbox/inboxes.py)."""
    given = {k: body[k] for k in SETTINGS if k in body}
    if "phone_number_id" in given and given["phone_number_id"] is not None:
        if int_or_none(given["phone_number_id"]) is None:
            raise ApiError(422, "invalid", "phone_number_id must be a number id or null")
    if "unsolicited" in given and given["unsolicited"] not in UNSOLICITED_MODES:
        raise ApiError(422, "invalid", f"unsolicited is one of {', '.join(UNSOLICITED_MODES)}")
    for key in ("unsolicited_to", "member_ids"):
        if key in given:
            given[key] = _ids(given[key], key)
    help_text = given.get("help_text")
    if "help_text" in given and (not isinstance(help_text, str) or len(help_text) > MAX_BODY_CHARS):
        raise ApiError(422, "invalid", f"help_text is at most {MAX_BODY_CHARS} characters")
    return flows.Settings(given)


async def create_inbox(request: Request) -> JSONResponse:
    """`{name, api_code?, colour?, phone_number_id?, voice_forward_to?, unsolicited?,
    unsolicited_to?, member_ids?}` (members: the caller when not given)."""
    admin = await require_admin(request)
    body = await json_body(request)
    if "name" not in body:
        raise ApiError(422, "invalid", "name is required")
    settings = _settings({"member_ids": [admin.id], **body})
    view = await flows.create_inbox(services(request), admin, settings)
    return JSONResponse(view, status_code=201)


async def patch_inbox(request: Request) -> JSONResponse:
    admin = await require_admin(request)
    settings = _settings(await json_body(request))
    view = await flows.update_inbox(
        services(request), admin, path_id(request, "inbox_id"), settings
    )
    return JSONResponse(view)


async def archive_inbox(request: Request) -> JSONResponse:
    admin = await require_admin(request)
    view = await flows.archive_inbox(services(request), admin, path_id(request, "inbox_id"))
    return JSONResponse(view)


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
    user = await require_admin(request)
    inbox_id = path_id(request, "inbox_id")
    user_ids = _ids((await json_body(request)).get("user_ids"), "user_ids")
    members = await flows.set_members(services(request), user, inbox_id, user_ids)
    return JSONResponse({"inbox_id": inbox_id, "user_ids": members})


routes = [
    Route("/inboxes", list_inboxes, methods=["GET"]),
    Route("/inboxes", create_inbox, methods=["POST"]),
    Route("/inboxes/{inbox_id}", patch_inbox, methods=["PATCH"]),
    Route("/inboxes/{inbox_id}/archive", archive_inbox, methods=["POST"]),
    Route("/inboxes/{inbox_id}/out-of-office", get_out_of_office, methods=["GET"]),
    Route("/inboxes/{inbox_id}/out-of-office", put_out_of_office, methods=["PUT"]),
    Route("/inboxes/{inbox_id}/members", get_members, methods=["GET"]),
    Route("/inboxes/{inbox_id}/members", put_members, methods=["PUT"]),
]
