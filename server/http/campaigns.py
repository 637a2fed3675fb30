"""REST for campaigns (admins; seed 002) and the team's outgoing allowance (seed 003):
`GET/POST /api/v1/campaigns`, `GET/PATCH /api/v1/campaigns/{id}`,
`POST /api/v1/campaigns/{id}/archive`, `GET /api/v1/phone-numbers/{id}/campaigns` (the
"schedule send" list), `GET/PUT /api/v1/allowance` (read by any member, set by admins)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inbox import campaigns, numbers
from server.auth import require_user
from server.errors import ApiError
from server.flows import allowance
from server.flows import campaigns as flows
from server.http._helpers import json_body, path_id, require_admin
from server.services import services


async def list_campaigns(request: Request) -> JSONResponse:
    admin = await require_admin(request)
    svc = services(request)
    async with svc.db.read() as session:
        rows = await campaigns.team_campaigns(session, admin.team_id)
        items = await campaigns.campaign_views(session, rows, svc.settings.clock())
    return JSONResponse({"items": items, "next": None})


async def create(request: Request) -> JSONResponse:
    """`{name, inbox_id, number_ids, body, contact_ids?, numbers?, send_at: "now" | ISO | null
    (a draft), archive_at, handling?: "agent" | "bot", reply_inbox_id?}`."""
    admin = await require_admin(request)
    body = await json_body(request)
    view = await flows.create(services(request), admin, body)
    return JSONResponse(view, status_code=201)


async def get_one(request: Request) -> JSONResponse:
    admin = await require_admin(request)
    svc = services(request)
    async with svc.db.read() as session:
        campaign = await campaigns.get_campaign(
            session, admin.team_id, path_id(request, "campaign_id")
        )
        (view,) = await campaigns.campaign_views(session, [campaign], svc.settings.clock())
    return JSONResponse(view)


async def patch(request: Request) -> JSONResponse:
    admin = await require_admin(request)
    body = await json_body(request)
    unknown = body.keys() - set(campaigns.EDITABLE)
    if unknown:
        raise ApiError(422, "invalid", f"unknown fields: {', '.join(sorted(unknown))}")
    view = await flows.update(services(request), admin, path_id(request, "campaign_id"), body)
    return JSONResponse(view)


async def archive(request: Request) -> JSONResponse:
    admin = await require_admin(request)
    view = await flows.archive(services(request), admin, path_id(request, "campaign_id"))
    return JSONResponse(view)


async def number_schedule(request: Request) -> JSONResponse:
    """The "schedule send" list: the number's campaigns still to be sent, soonest first."""
    admin = await require_admin(request)
    svc = services(request)
    async with svc.db.read() as session:
        number = await numbers.team_number(session, admin.team_id, path_id(request, "number_id"))
        assert number.id is not None
        rows = await campaigns.scheduled_for_number(session, number.id)
        items = await campaigns.campaign_views(session, rows, svc.settings.clock())
    return JSONResponse({"items": items, "next": None})


async def get_allowance(request: Request) -> JSONResponse:
    user = await require_user(request)
    return JSONResponse(await allowance.counter(services(request), user.team_id))


async def put_allowance(request: Request) -> JSONResponse:
    """`{limit: segments a month | null (unlimited), when_out: "refuse" | "overage"}`."""
    admin = await require_admin(request)
    body = await json_body(request)
    if "limit" not in body or "when_out" not in body:
        raise ApiError(422, "invalid", "give limit (a number or null) and when_out")
    view = await allowance.set_allowance(services(request), admin, body["limit"], body["when_out"])
    return JSONResponse(view)


routes = [
    Route("/campaigns", list_campaigns, methods=["GET"]),
    Route("/campaigns", create, methods=["POST"]),
    Route("/campaigns/{campaign_id}", get_one, methods=["GET"]),
    Route("/campaigns/{campaign_id}", patch, methods=["PATCH"]),
    Route("/campaigns/{campaign_id}/archive", archive, methods=["POST"]),
    Route("/phone-numbers/{number_id}/campaigns", number_schedule, methods=["GET"]),
    Route("/allowance", get_allowance, methods=["GET"]),
    Route("/allowance", put_allowance, methods=["PUT"]),
]
