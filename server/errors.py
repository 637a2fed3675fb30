"""Errors at the boundaries: what each refusal answers, for REST (`{"error": {"code",
"message"}}` with the fitting status) and for the socket (an `error` frame with the command's
`ref`, server/socket/endpoint.py). Both ask `answer_of`, the one place a domain error
(InboxError, PresenceError) or our own ApiError becomes a status, a code and a message."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from inbox.errors import (
    ConflictError,
    ForbiddenError,
    InboxError,
    InvalidInputError,
    NotFoundError,
    RegistrationRejectedError,
    SmsError,
    TooSoonError,
)
from presence.errors import ConversationLockedError, LockNotHeldError, PresenceError
from server.inputs import BadTextError
from server.metrics import Metrics
from server.storage.base import StorageError

logger = logging.getLogger(__name__)

_STATUS_OF: list[tuple[type[InboxError], int]] = [
    (TooSoonError, 429),
    (NotFoundError, 404),
    (ForbiddenError, 403),
    (InvalidInputError, 422),
    (ConflictError, 409),
    (SmsError, 502),
]


class ApiError(Exception):
    """A refusal decided by the server itself (bad JSON, wrong role, a missing field)."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


@dataclass(frozen=True)
class Answer:
    status: int
    code: str
    message: str
    extra: dict[str, Any] = field(default_factory=dict)


def answer_of(exc: Exception) -> Answer | None:
    """How to answer `exc` to a client, or None when it is not a refusal (a bug: 500)."""
    if isinstance(exc, ApiError):
        return Answer(exc.status, exc.code, exc.message, exc.extra)
    if isinstance(exc, BadTextError):
        return Answer(422, "invalid_text", f"{exc.where} holds a lone surrogate or NUL")
    if isinstance(exc, RegistrationRejectedError):
        return Answer(422, exc.code, exc.message, {"reasons": list(exc.reasons)})
    if isinstance(exc, TooSoonError):
        retry_ms = max(1000, int(exc.retry_after_secs * 1000))
        return Answer(429, exc.code, exc.message, {"retry_after_ms": retry_ms})
    if isinstance(exc, InboxError):
        return Answer(status_of(exc), exc.code, exc.message)
    if isinstance(exc, ConversationLockedError):
        holder = exc.holder.view() if exc.holder else None
        who = exc.holder.name if exc.holder else "someone else"
        return Answer(409, exc.code, f"{who} is replying to this conversation", {"holder": holder})
    if isinstance(exc, LockNotHeldError):
        return Answer(409, exc.code, str(exc))
    if isinstance(exc, PresenceError):
        return Answer(503, "unavailable", str(exc))
    if isinstance(exc, StorageError):
        return Answer(503, "storage_unavailable", "pictures and files cannot be kept just now")
    return None


def status_of(exc: InboxError) -> int:
    for cls, status in _STATUS_OF:
        if isinstance(exc, cls):
            return status
    return 400


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    headers = {}
    if isinstance(extra.get("retry_after_ms"), int):  # 429: say when, in whole seconds
        headers["Retry-After"] = str(max(1, -(-extra["retry_after_ms"] // 1000)))
    body = {"error": {"code": code, "message": message, **extra}}
    return JSONResponse(body, status_code=status, headers=headers)


async def on_refusal(request: Request, exc: Exception) -> Response:
    answer = answer_of(exc)
    if answer is None:
        return await on_unexpected(request, exc)
    if answer.status == 503 and isinstance(exc, PresenceError):
        _metrics(request).redis_error()
    return error_response(answer.status, answer.code, answer.message, **answer.extra)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    if isinstance(exc, SQLAlchemyError):
        _metrics(request).store_error()
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal", "something went wrong on our side")


def _metrics(request: Request) -> Metrics:
    found = getattr(getattr(request.state, "services", None), "metrics", None)
    return found if isinstance(found, Metrics) else Metrics(enabled=False)


EXCEPTION_HANDLERS = {
    ApiError: on_refusal,
    BadTextError: on_refusal,
    InboxError: on_refusal,
    PresenceError: on_refusal,
    StorageError: on_refusal,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
