"""REST for the team's carrier registration (admins; DESIGN.md, "Phone numbers"): its state
(`unregistered`, `pending`, `registered`, `failed` with the carrier's reason) and submitting
the business and campaign."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.flows import registration as flows
from server.http._helpers import json_body, require_admin
from server.services import services


async def get_registration(request: Request) -> JSONResponse:
    user = await require_admin(request)
    return JSONResponse(await flows.status(services(request), user.team_id))


async def post_registration(request: Request) -> JSONResponse:
    """`{business: {legal_name, business_type, industry, registration_number, website, email,
    address: {...}, representative: {...}}, use_case, description, sample_messages, opt_in,
    privacy_policy_url?, terms_and_conditions_url?}`."""
    user = await require_admin(request)
    body = await json_body(request)
    view = await flows.start(services(request), user, body, str(request.base_url))
    return JSONResponse(view, status_code=202)


routes = [
    Route("/registration", get_registration, methods=["GET"]),
    Route("/registration", post_registration, methods=["POST"]),
]
