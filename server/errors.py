"""HTTP error answers: `{"error": {"code", "message"}}` with the fitting status."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from inbox.errors import (
    ConflictError,
    ForbiddenError,
    InboxError,
    InvalidInputError,
    NotFoundError,
    SmsError,
)

logger = logging.getLogger(__name__)

_STATUS_OF: list[tuple[type[InboxError], int]] = [
    (NotFoundError, 404),
    (ForbiddenError, 403),
    (InvalidInputError, 422),
    (ConflictError, 409),
    (SmsError, 502),
]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status)


def status_of(exc: InboxError) -> int:
    for cls, status in _STATUS_OF:
        if isinstance(exc, cls):
            return status
    return 400


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, **exc.extra)


async def on_inbox_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InboxError)
    return error_response(status_of(exc), exc.code, exc.message)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(
        exc.status_code,
        code,
        str(exc.detail),
    )


async def on_unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal", "something went wrong on our side")


EXCEPTION_HANDLERS = {
    ApiError: on_api_error,
    InboxError: on_inbox_error,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
