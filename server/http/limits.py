"""How much of a request body the server reads: 1 MiB, for the API, the pages and Twilio's
webhooks alike (a Twilio webhook is a few KB: a text of at most 1,600 characters and at most
10 media URLs). A body announced larger (Content-Length) is refused with 413 before a byte of
it is read; a body that grows past the limit while streaming (chunked) is refused as soon as
it does, so a client can never make the server hold more than the limit in memory. An upload
to attach to a text (`POST /api/v1/media`) has its own, larger limit, on that route only:
Twilio's 5 MB per text and room for the form around the file."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inbox.attachments import MAX_MMS_BYTES
from server.errors import ApiError

MAX_BODY_BYTES = 1024 * 1024  # DESIGN.md: "Bodies over 1 MiB get 413"
UPLOAD_PATH = "/api/v1/media"
UPLOAD_BODY_BYTES = MAX_MMS_BYTES + 64 * 1024  # a multipart form's boundaries and headers


def too_large(limit: int = MAX_BODY_BYTES) -> ApiError:
    return ApiError(413, "too_large", f"the request body is over {limit} bytes")


def limit_of(scope: Scope) -> int:
    if scope.get("method") == "POST" and scope.get("path") == UPLOAD_PATH:
        return UPLOAD_BODY_BYTES
    return MAX_BODY_BYTES


class BodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_of(scope)
        announced = _content_length(scope)
        if announced is not None and announced > limit:
            await _refuse(send, too_large(limit))
            return
        seen = 0

        async def bounded_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise too_large(limit)  # answered by server/errors.py like any refusal
            return message

        await self.app(scope, bounded_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _refuse(send: Send, error: ApiError) -> None:
    body = json.dumps({"error": {"code": error.code, "message": error.message}}).encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
