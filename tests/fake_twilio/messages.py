"""The fake's Messages resource, and the ways a create can go wrong, scripted per call.

A `Step` is one scripted answer to one `POST Messages.json`, taken in order from
`FakeTwilio.message_script`. The shorthands name what the outbox must survive:

    reject(503)            an error before taking the text: nothing is stored
    take_then_fail(503)    the text is stored, then the answer is an error
    stall(secs)            a wait before taking; a caller that hung up meanwhile gets nothing stored
    take_then_stall(secs)  stored at once, the answer comes `secs` later (after a timeout)
    hang(event)            a wait before taking until the test sets `event` (likewise)
    take_then_hang(event)  stored at once, the answer waits until the test sets `event`

`FakeTwilio.hangups` counts callers that hung up on a waiting create (a test waits for it
before releasing a hang, so "gave up first" is certain); `abandoned`, the texts not taken.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from tests.fake_twilio._wire import error, new_sid, now, page_2010, rfc2822

if TYPE_CHECKING:
    from tests.fake_twilio import FakeTwilio

# Fields the fake keeps on a message that Twilio never shows in an answer.
PRIVATE_FIELDS = ("status_callback", "created_at", "sent_at", "media_urls")
SERVER_ERROR = 20500


@dataclass(frozen=True)
class Step:
    take: bool = True  # store the text (False: the answer comes before anything is stored)
    status: int | None = None  # answer with this HTTP error instead of 201
    code: int = SERVER_ERROR
    wait_secs: float = 0.0  # before taking
    wait_for: threading.Event | None = None  # before taking
    answer_after_secs: float = 0.0  # after taking
    answer_after: threading.Event | None = None  # after taking


def reject(status: int = 500, code: int = SERVER_ERROR) -> Step:
    return Step(take=False, status=status, code=code)


def take_then_fail(status: int = 503, code: int = SERVER_ERROR) -> Step:
    return Step(status=status, code=code)


def stall(secs: float) -> Step:
    return Step(wait_secs=secs)


def take_then_stall(secs: float) -> Step:
    return Step(answer_after_secs=secs)


def hang(event: threading.Event) -> Step:
    return Step(wait_for=event)


def take_then_hang(event: threading.Event) -> Step:
    return Step(answer_after=event)


async def _wait(secs: float, event: threading.Event | None) -> None:
    if secs:
        await asyncio.sleep(secs)
    while event is not None and not event.is_set():
        await asyncio.sleep(0.01)


def public(message: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in message.items() if k not in PRIVATE_FIELDS}
    return shown | {
        "date_created": rfc2822(message["created_at"]),
        "date_updated": rfc2822(message["sent_at"] or message["created_at"]),
        "date_sent": rfc2822(message["sent_at"]),
    }


def message_record(
    fake: FakeTwilio,
    to: str,
    from_: str,
    body: str,
    *,
    created: datetime | None = None,
    direction: str = "outbound-api",
    media: int = 0,
    status_callback: str | None = None,
    media_urls: list[str] | None = None,
) -> dict[str, Any]:
    sid = new_sid("SM" if not media else "MM")
    created = created or now()
    sent = created if fake.texts_go_out else None
    uri = f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{sid}"
    return {
        "account_sid": fake.account_sid,
        "api_version": "2010-04-01",
        "body": body,
        "direction": direction,
        "error_code": None,
        "error_message": None,
        "from": from_,
        "messaging_service_sid": None,
        "num_media": str(media),
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "sent" if sent else "queued",
        "subresource_uris": {"media": f"{uri}/Media.json"},
        "to": to,
        "uri": f"{uri}.json",
        "status_callback": status_callback,
        "media_urls": media_urls or [],
        "created_at": created,
        "sent_at": sent,
    }


async def _watch_hangup(fake: FakeTwilio, request: Request) -> None:
    """Count the caller hanging up (uvicorn's receive answers http.disconnect then)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
    with fake.changed:
        fake.hangups += 1
        fake.changed.notify_all()


async def create(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    with fake.changed:
        fake.create_calls += 1
        step = fake.next_step()
    waits = step.wait_secs or step.wait_for or step.answer_after_secs or step.answer_after
    watcher = asyncio.ensure_future(_watch_hangup(fake, request)) if waits else None
    try:
        return await _create(fake, form, step, watcher)
    finally:
        if watcher is not None:
            watcher.cancel()


async def _create(
    fake: FakeTwilio, form: FormData, step: Step, watcher: asyncio.Future[None] | None
) -> Response:
    await _wait(step.wait_secs, step.wait_for)
    await asyncio.sleep(0)  # a hang-up that just arrived lands first
    if step.take and watcher is not None and watcher.done():
        with fake.changed:  # the caller gave up before Twilio took the text
            fake.abandoned += 1
            fake.changed.notify_all()
        return Response(status_code=499)
    if not step.take and step.status is not None:
        return error(step.status, step.code, "Internal Server Error")
    to, from_ = str(form.get("To", "")), str(form.get("From", ""))
    if not to or not from_:
        return error(400, 21604, "A 'To' phone number is required.")
    if to in fake.refused:
        return error(400, fake.refused[to], "Attempt to send to unsubscribed recipient")
    message = message_record(
        fake,
        to,
        from_,
        str(form.get("Body", "")),
        media=len(form.getlist("MediaUrl")),
        media_urls=[str(url) for url in form.getlist("MediaUrl")],
        status_callback=str(form.get("StatusCallback", "")) or None,
    )
    with fake.changed:
        fake.messages.append(message)
        fake.changed.notify_all()
    await _wait(step.answer_after_secs, step.answer_after)
    if step.status is not None:
        return error(step.status, step.code, "Service Unavailable")
    # The create answer is always the text as just taken: queued, not yet sent.
    return JSONResponse(public(message) | {"status": "queued", "date_sent": None}, status_code=201)


async def media_redirect(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    """A media URL (authenticated): Twilio redirects to where the file is kept."""
    sid = request.path_params["media_sid"]
    with fake.changed:
        known = sid in fake.media
    if not known:
        return error(404, 20404, f"The requested resource {request.url.path} was not found")
    return RedirectResponse(f"/mms-media/{sid}", status_code=307)


def _bound(value: str) -> date | datetime:
    if len(value) == len("2024-01-02"):
        return date.fromisoformat(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _sent_within(message: dict[str, Any], query: Any) -> bool:
    """Twilio's DateSent filters: `DateSent`, `DateSent>` (on or after), `DateSent<` (on or
    before); a date compares with the day the text was sent, a time with the moment. A text
    not yet sent has no date_sent and matches none of them."""
    filters = [(k, query[k]) for k in ("DateSent", "DateSent>", "DateSent<") if k in query]
    if not filters:
        return True
    sent: datetime | None = message["sent_at"]
    if sent is None:
        return False
    for key, raw in filters:
        bound = _bound(raw)
        ours: date | datetime = sent if isinstance(bound, datetime) else sent.date()
        if key == "DateSent" and ours != bound:
            return False
        if key == "DateSent>" and ours < bound:
            return False
        if key == "DateSent<" and ours > bound:
            return False
    return True


async def read(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    query = request.query_params
    to, from_ = query.get("To"), query.get("From")
    with fake.changed:  # newest first; of two created at once, the later one first
        order = sorted(enumerate(fake.messages), key=lambda p: (p[1]["created_at"], p[0]))
    newest_first = [m for _, m in reversed(order)]
    found = [
        public(m)
        for m in newest_first
        if (to is None or m["to"] == to)
        and (from_ is None or m["from"] == from_)
        and _sent_within(m, query)
    ]
    return page_2010(request, "messages", found)


async def fetch(fake: FakeTwilio, request: Request, form: FormData) -> Response:
    sid = request.path_params["sid"]
    for message in fake.messages:
        if message["sid"] == sid:
            return JSONResponse(public(message))
    return error(404, 20404, f"The requested resource {request.url.path} was not found")
