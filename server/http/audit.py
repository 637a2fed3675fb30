"""`GET /api/v1/audit?cursor=&limit=` (admins): the team's audit log, newest first
(inbox/audit.py), paged with the cursor in `next`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inbox import audit
from inbox.models import ADMIN_ROLES
from server.auth import require_user
from server.http._helpers import page_limit, query_id, require_role
from server.services import services


async def list_audit(request: Request) -> JSONResponse:
    user = await require_user(request)
    require_role(user, ADMIN_ROLES)
    limit = page_limit(request.query_params.get("limit") or str(audit.PAGE_SIZE))
    async with services(request).db.read() as session:
        items, cursor = await audit.entries(
            session, user.team_id, query_id(request, "cursor"), limit
        )
    return JSONResponse({"items": items, "next": str(cursor) if cursor is not None else None})


routes = [Route("/audit", list_audit, methods=["GET"])]
