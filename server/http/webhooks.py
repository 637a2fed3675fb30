"""Twilio's webhooks (DESIGN.md, "Webhooks"): signed, stored once, answered fast."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from twilio.request_validator import RequestValidator

from inbox import messages
from inbox.delivery import Outcome
from inbox.errors import InvalidInputError
from server.errors import ApiError
from server.flows import inbound, sending
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


async def verified_form(request: Request) -> dict[str, str]:
    token = services(request).settings.twilio_auth_token
    if token is None:
        raise ApiError(403, "webhooks_disabled", "Twilio is not configured on this server")
    form = await request.form()
    params = {k: v for k, v in form.items() if isinstance(v, str)}
    signature = request.headers.get("x-twilio-signature", "")
    if not RequestValidator(str(token)).validate(signed_url(request), params, signature):
        logger.warning("refused a webhook with a bad signature on %s", request.url.path)
        raise ApiError(403, "bad_signature", "X-Twilio-Signature does not match")
    return params


def _required(params: dict[str, str], *names: str) -> list[str]:
    missing = [n for n in names if not params.get(n)]
    if missing:
        raise InvalidInputError(f"missing field(s): {', '.join(missing)}", "missing_field")
    return [params[n] for n in names]


async def inbound_message(request: Request) -> Response:
    params = await verified_form(request)
    sid, to, from_ = _required(params, "MessageSid", "To", "From")
    count = int(params.get("NumMedia") or 0)
    media = [params[f"MediaUrl{i}"] for i in range(count) if params.get(f"MediaUrl{i}")]
    await inbound.receive(
        services(request),
        to=to,
        from_=from_,
        body=params.get("Body", ""),
        provider_sid=sid,
        callback_base=str(request.base_url),
        media_urls=media,
    )
    return Response(EMPTY_TWIML, media_type="text/xml")


async def message_status(request: Request) -> Response:
    params = await verified_form(request)
    (status,) = _required(params, "MessageStatus")
    sid = params.get("MessageSid")
    svc = services(request)
    raw_id = request.query_params.get("message_id", "")
    message_id = int(raw_id) if raw_id.isdigit() else None
    if message_id is None and sid:
        async with svc.db.read() as session:
            message_id = await messages.message_id_by_sid(session, sid)
    if message_id is None:
        return Response(EMPTY_TWIML, media_type="text/xml")  # not one of ours; nothing to do
    outcome = Outcome(
        message_id,
        status,
        provider_sid=sid,
        error_code=params.get("ErrorCode") or None,
        error_message=params.get("ErrorMessage") or None,
    )
    await sending.record(svc, [outcome])
    return Response(EMPTY_TWIML, media_type="text/xml")
