"""Reports over REST, for supervisors and admins: `GET /api/v1/reports?from=YYYY-MM-DD&
to=YYYY-MM-DD&bucket=day|week&group=inbox|agent&inbox_id=&format=csv` (inbox/reports.py says
what each figure is). Only the inboxes the caller may see are counted."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from inbox import reports
from inbox.models import SUPERVISING_ROLES
from server.errors import ApiError
from server.http._helpers import caller, require_role
from server.inputs import int_or_none
from server.services import services


async def get_report(request: Request) -> Response:
    user, visible = await caller(request)
    require_role(user, SUPERVISING_ROLES)
    query = request.query_params
    bucket, group = query.get("bucket", "day"), query.get("group", "inbox")
    if bucket not in ("day", "week"):
        raise ApiError(422, "invalid", "bucket is day or week")
    if group not in ("inbox", "agent"):
        raise ApiError(422, "invalid", "group is inbox or agent")
    inbox_ids = visible
    if query.get("inbox_id"):
        wanted = int_or_none(query["inbox_id"])
        if wanted is None or wanted not in visible:
            raise ApiError(404, "not_found", "no such inbox")
        inbox_ids = {wanted}
    svc = services(request)
    span = reports.Range.of(query.get("from"), query.get("to"), svc.settings.clock().date())
    async with svc.db.read() as session:
        result = await reports.report(session, inbox_ids, span, bucket, group)  # type: ignore[arg-type]
    first, last = span.start.date(), (span.end - timedelta(days=1)).date()
    if query.get("format") == "csv":
        out = io.StringIO()
        csv.writer(out).writerows(reports.csv_rows(result, group))  # type: ignore[arg-type]
        name = f"switchboard-{group}-{first}-{last}.csv"
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    body = {"from": first.isoformat(), "to": last.isoformat(), "bucket": bucket, "group": group}
    return JSONResponse({**body, **result})


routes = [Route("/reports", get_report, methods=["GET"])]
