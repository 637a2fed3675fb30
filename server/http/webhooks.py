"""Twilio's webhooks (DESIGN.md, "Webhooks"): signed, stored once, answered fast; kept in the
data dir when the store cannot take them in time (server/flows/spooling.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import Response
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from inbox import attachments, inboxes
from inbox.errors import InvalidInputError
from inbox.outbound import STATUS_RANK
from server.errors import ApiError, answer_of
from server.flows import spooling
from server.inputs import check_form, whole_number
from server.services import services

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def signed_url(request: Request) -> str:
    """The URL Twilio signed: the public URL plus path and query, or the URL as received."""
    public = services(request).settings.public_url
    if not public:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{public}{request.url.path}{query}"


class _Signed(dict[str, str]):
    """A form's fields as RequestValidator reads a MultiDict's (`getall`, as Flask's has): of a
    plain dict it asks for `getall`, then `getlist`, and the two AttributeErrors it catches for
    each field, times the two URLs it signs, cost more than the signatures themselves (54 of a
    validation's 92 us for Twilio's 20 fields)."""

    def getall(self, name: str) -> list[str]:
        return [self[name]]


async def verified_form(request: Request) -> dict[str, str]:
    token = services(request).settings.twilio_auth_token
    if token is None:
        raise ApiError(403, "webhooks_disabled", "Twilio is not configured on this server")
    form = await request.form()
    params = _Signed((k, v) for k, v in form.items() if isinstance(v, str))
    signature = request.headers.get("x-twilio-signature", "")
    if not RequestValidator(str(token)).validate(signed_url(request), params, signature):
        logger.warning("refused a webhook with a bad signature on %s", request.url.path)
        raise ApiError(403, "bad_signature", "X-Twilio-Signature does not match")
    check_form(params)  # signed, but NUL is nothing the store can keep (PostgreSQL refuses it)
    return params


def _required(params: dict[str, str], *names: str) -> list[str]:
    missing = [n for n in names if not params.get(n)]
    if missing:
        raise InvalidInputError(f"missing field(s): {', '.join(missing)}", "missing_field")
    return [params[n] for n in names]


async def counted(kind: str, request: Request, take: Callable[[], Awaitable[str]]) -> Response:
    """Answer a webhook, counting it by result and time (server/metrics.py)."""
    svc = services(request)
    started, result = time.perf_counter(), "error"
    try:
        result = await take()
        return Response(EMPTY_TWIML, media_type="text/xml")
    except Exception as exc:
        answer = answer_of(exc)
        if answer is not None:
            result = "unavailable" if answer.status == 503 else "refused"
        elif isinstance(exc, SQLAlchemyError):
            svc.metrics.store_error()
        raise
    finally:
        svc.metrics.webhook(kind, result, time.perf_counter() - started)


async def inbound_message(request: Request) -> Response:
    return await counted("inbound", request, lambda: _inbound_message(request))


async def message_status(request: Request) -> Response:
    return await counted("status", request, lambda: _message_status(request))


async def _inbound_message(request: Request) -> str:
    params = await verified_form(request)
    sid, to, from_ = _required(params, "MessageSid", "To", "From")
    # Twilio sends at most 10 media per message; a count past that is not Twilio's.
    count = min(whole_number(params.get("NumMedia") or "0") or 0, attachments.MAX_MEDIA)
    present = [i for i in range(count) if params.get(f"MediaUrl{i}")]
    media = [params[f"MediaUrl{i}"] for i in present]
    types = [params.get(f"MediaContentType{i}") for i in present]
    item = spooling.inbound_item(
        to=to,
        from_=from_,
        body=params.get("Body", ""),
        sid=sid,
        media_urls=media,
        media_types=types,
        callback_base=str(request.base_url),
    )
    return await spooling.take(services(request), item)


async def _message_status(request: Request) -> str:
    params = await verified_form(request)
    (status,) = _required(params, "MessageStatus")
    if status not in STATUS_RANK:  # refused before it is ever kept
        raise InvalidInputError(f"unknown message status {status!r}")
    item = spooling.status_item(
        message_id=whole_number(request.query_params.get("message_id")),
        status=status,
        sid=params.get("MessageSid") or None,
        error_code=params.get("ErrorCode") or None,
        error_message=params.get("ErrorMessage") or None,
    )
    return await spooling.take(services(request), item)


TEXTS_ONLY = "This number takes text messages only. Please send us a text. Goodbye."


async def voice_call(request: Request) -> Response:
    """A call to one of our numbers: ring the inbox's voice forwarding number, showing the
    caller's number (seeds 001, 004); no forwarding number: say it takes texts only."""
    params = await verified_form(request)
    to, from_ = _required(params, "To", "From")
    async with services(request).db.read() as session:
        inbox = await inboxes.inbox_by_number(session, to)
    answer = VoiceResponse()
    if inbox is not None and inbox.forwarding_number and inbox.archived_at is None:
        answer.dial(inbox.forwarding_number, caller_id=from_)
    else:
        answer.say(TEXTS_ONLY)
    return Response(str(answer), media_type="text/xml")
