"""REST for bulk send: `POST /api/v1/inboxes/{id}/bulk` `{body, contact_ids?, numbers?}`
(server/flows/bulk.py); one result per recipient, in order."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.flows.bulk import bulk_send
from server.http._helpers import caller, json_body, path_id
from server.services import services


async def post_bulk(request: Request) -> JSONResponse:
    user, visible = await caller(request)
    payload = await json_body(request)
    results = await bulk_send(
        services(request),
        user,
        path_id(request, "inbox_id"),
        visible,
        payload.get("body"),
        payload.get("contact_ids"),
        payload.get("numbers"),
        str(request.base_url),
    )
    queued = sum(1 for r in results if r["status"] == "queued")
    return JSONResponse({"items": results, "queued": queued, "skipped": len(results) - queued})


routes = [Route("/inboxes/{inbox_id}/bulk", post_bulk, methods=["POST"])]
