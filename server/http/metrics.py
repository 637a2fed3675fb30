"""`GET /metrics` for Prometheus (server/metrics.py; docs/deploy.md, "Metrics"): off (404)
unless `SWITCHBOARD_METRICS_TOKEN` is set, and then only for a scrape that sends it as a bearer
token, so the public port shows nothing to anyone else. The outbox's figures are read from the
store at each scrape: they are the deployment's, not one process's."""

from __future__ import annotations

import hmac

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response

from inbox import outbox
from server.auth import bearer_token
from server.errors import ApiError
from server.metrics import PREFIX
from server.services import services


async def metrics(request: Request) -> Response:
    svc = services(request)
    expected = svc.settings.metrics_token
    if expected is None:
        raise ApiError(404, "not_found", "metrics are off (SWITCHBOARD_METRICS_TOKEN)")
    given = bearer_token(request) or ""
    if not hmac.compare_digest(given.encode(), str(expected).encode()):
        raise ApiError(401, "unauthenticated", "send the metrics token as a bearer token")
    async with svc.db.read() as session:
        depth, oldest = await outbox.owed(session)
    store = CollectorRegistry()
    Gauge(PREFIX + "outbox_depth", "Texts owed to the SMS provider", registry=store).set(depth)
    age = (svc.settings.clock() - oldest).total_seconds() if oldest else 0.0
    Gauge(
        PREFIX + "outbox_oldest_owed_seconds",
        "Age of the oldest text owed to the SMS provider (0: none owed)",
        registry=store,
    ).set(max(age, 0.0))
    if svc.settings.metrics_dir is None:
        processes = REGISTRY
    else:  # --workers: every worker's samples, added up
        processes = CollectorRegistry()
        MultiProcessCollector(processes, path=str(svc.settings.metrics_dir))  # type: ignore[no-untyped-call]
    body = generate_latest(processes) + generate_latest(store)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
