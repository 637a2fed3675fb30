"""How the server logs (docs/deploy.md, "Logs"): one line per request at INFO (method, path
without its query, status, duration, client address; never a body or a query string, which
carry search text and phone numbers), as text or as one JSON object per line
(`SWITCHBOARD_LOG_FORMAT=json`), in the `switchboard serve` process and every worker alike."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.metrics import Metrics

request_log = logging.getLogger("switchboard.requests")

TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
# The fields a request line carries besides its message (JSON logs give them as keys).
REQUEST_FIELDS = ("method", "path", "status", "duration_ms", "client")
# What a path may show of itself in a text line: a hostile path could forge log lines.
_UNPRINTABLE = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}


def log_config(level: str, log_format: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the root logger and uvicorn's, handed to uvicorn so its
    worker processes log the same way. `level` (`serve --log-level`) is uvicorn's and the
    request lines' (uvicorn's access log is off: RequestLog writes the line); the app's own
    loggers say what they do at INFO, as before."""
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"} if log_format == "json" else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "DEBUG" if level == "debug" else "INFO", "handlers": ["default"]},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            request_log.name: {"level": level.upper()},
        },
    }


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in REQUEST_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class RequestLog:
    """One INFO line per HTTP request, and per WebSocket when it ends (status 101 once
    accepted, else the refusal's 403); an exception is logged as the 500 it becomes."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        logged = request_log.isEnabledFor(logging.INFO)
        if scope["type"] not in ("http", "websocket") or not (logged or self.metrics.enabled):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 403 if scope["type"] == "websocket" else 500

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "websocket.accept":
                status = 101
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            if scope["type"] == "http":
                self.metrics.request(scope["method"], status)
            if logged:
                log_request(scope, status, time.perf_counter() - started)


def log_request(scope: Scope, status: int, secs: float) -> None:
    method = scope.get("method", "WS")
    path = str(scope.get("path", "")).translate(_UNPRINTABLE)
    client = scope.get("client")
    address = client[0] if client else "-"
    duration_ms = round(secs * 1000, 1)
    request_log.info(
        "%s %s %d %.1fms %s",
        method,
        path,
        status,
        duration_ms,
        address,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "client": address,
        },
    )
