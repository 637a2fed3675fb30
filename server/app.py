"""The ASGI app factory and its lifespan."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import redis
import redis.asyncio as aioredis
from prometheus_client import multiprocess
from redis.driver_info import DriverInfo
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inbox.providers.base import SmsProvider
from inbox.providers.sandbox import SandboxProvider
from inbox.providers.twilio import TwilioProvider
from realtime.hub import Hub
from server.bus import LogSource
from server.config import Settings
from server.demo import seed_demo
from server.errors import EXCEPTION_HANDLERS
from server.flows import background
from server.http import (
    account,
    audit,
    board,
    bulk,
    campaigns,
    canned,
    contacts,
    conversations,
    inboxes,
    links,
    matters,
    media,
    metrics,
    notes,
    pages,
    phone_numbers,
    registration,
    reports,
    tags,
    tokens,
    triage,
    users,
    webhooks,
)
from server.http.limits import BodyLimit
from server.logs import RequestLog
from server.metrics import Metrics
from server.services import Services, open_database, services
from server.shutdown import on_stop_signal
from server.socket.endpoint import ws_endpoint
from server.socket.route import SocketRoute

logger = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
SHUTDOWN_GRACE_SECS = 5.0
# Redis connections per process. Lock commands no longer queue for the store, so hundreds can
# be in flight at once; past this many they wait for a free connection (a round trip is well
# under a millisecond) instead of failing with "Too many connections" (redis-py's default pool).
REDIS_POOL_SIZE = 64
REDIS_POOL_WAIT_SECS = 5.0
# Named once: left to redis-py, every new pooled connection looked its own version up in the
# installed packages' metadata, on the loop (a 36 ms stall in the lock bench's window).
REDIS_DRIVER = DriverInfo(name="redis-py", lib_version=redis.__version__)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def make_provider(settings: Settings) -> SmsProvider:
    if settings.sms_provider == "twilio":
        assert settings.twilio_account_sid and settings.twilio_auth_token
        return TwilioProvider(
            settings.twilio_account_sid,
            str(settings.twilio_auth_token),
            api_url=settings.twilio_api_url,
            timeout_secs=settings.twilio_timeout_secs,
            primary_customer_profile_sid=settings.twilio_primary_profile_sid,
        )
    return SandboxProvider(registration_review_secs=settings.sandbox_review_secs)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),  # frame-ancestors, for browsers without CSP 2
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def healthz(request: Request) -> Response:
    svc = services(request)
    problems = []
    try:
        await svc.db.ping()
    except Exception as exc:  # any store failure means unhealthy
        svc.metrics.store_error()
        problems.append(f"store: {exc.__class__.__name__}")
    try:
        await svc.redis.ping()
    except Exception as exc:
        svc.metrics.redis_error()
        problems.append(f"redis: {exc.__class__.__name__}")
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ok", "sms_provider": svc.settings.sms_provider})


API_ROUTES = (
    account.routes
    + users.routes
    + tokens.routes
    + inboxes.routes
    + phone_numbers.routes
    + registration.routes
    + audit.routes
    + conversations.routes
    + triage.routes
    + contacts.routes
    + bulk.routes
    + campaigns.routes
    + board.routes
    + reports.routes
    + notes.routes
    + tags.routes
    + matters.routes
    + canned.routes
    + media.routes
)


def create_app(settings: Settings, *, freeze_gc: bool = False) -> Starlette:
    """`freeze_gc`: once started, move everything alive into the collector's permanent
    generation (what a server process keeps for its life: modules, mappers, templates), so full
    collections stop scanning it, and collect less often (docs/performance.md, "Socket fan-out").
    For a process that runs this one app."""
    if not settings.redis_url:
        raise RuntimeError("create_app needs settings.redis_url; `switchboard serve` starts one.")
    counting = Metrics(enabled=settings.metrics_token is not None)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        db = await open_database(settings)
        if settings.demo:
            await seed_demo(db)
        redis = aioredis.Redis.from_pool(
            aioredis.BlockingConnectionPool.from_url(
                settings.redis_url or "",
                max_connections=REDIS_POOL_SIZE,
                timeout=REDIS_POOL_WAIT_SECS,
                driver_info=REDIS_DRIVER,
            )
        )
        hub = Hub(
            redis,
            LogSource(db),
            settings.deployment_name,
            counting if counting.enabled else None,
        )
        hub.start()
        provider = make_provider(settings)
        templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))
        svc = Services(settings, db, redis, hub, provider, templates, counting)
        loops = background.start(svc)
        if freeze_gc:
            gc.collect()
            gc.freeze()
            # Fewer, larger young collections and far fewer full ones: a full collection
            # scans every socket's objects (about 90 ms with 1,000 sockets).
            gc.set_threshold(10_000, 10, 100)
        try:
            with on_stop_signal(hub.going_away):
                yield {"services": svc}
        finally:
            await background.stop(loops)
            await hub.stop()
            if svc.tasks:
                await asyncio.wait(list(svc.tasks), timeout=SHUTDOWN_GRACE_SECS)
            for task in list(svc.tasks):
                task.cancel()
            await provider.close()
            await svc.media.close()
            svc.passwords.close()
            await redis.aclose()
            await db.dispose()
            if settings.metrics_dir is not None:  # this worker's live gauges end with it
                multiprocess.mark_process_dead(os.getpid(), str(settings.metrics_dir))  # type: ignore[no-untyped-call]

    routes = [
        # First: the router tries each route in turn, and a burst of webhooks is the hot path
        # (matching past the 25 page routes cost 12 us of each webhook, first 1 us).
        Route("/webhooks/twilio/messages", webhooks.inbound_message, methods=["POST"]),
        Route("/webhooks/twilio/status", webhooks.message_status, methods=["POST"]),
        Route("/webhooks/twilio/voice", webhooks.voice_call, methods=["POST"]),
        *pages.routes,
        *links.routes,
        Route("/healthz", healthz),
        Route("/metrics", metrics.metrics),
        Mount("/api/v1", routes=API_ROUTES),
        *media.public_routes,
        Mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static"),
    ]
    middleware = [
        Middleware(SocketRoute, endpoint=ws_endpoint),
        Middleware(RequestLog, metrics=counting),
        Middleware(SecurityHeaders),
        Middleware(BodyLimit),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )


def app_from_env() -> Starlette:
    """For `uvicorn --factory server.app:app_from_env` and `switchboard serve --workers N`."""
    return create_app(Settings.from_env(), freeze_gc=True)
