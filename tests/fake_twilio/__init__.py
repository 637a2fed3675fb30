"""A local stand-in for Twilio's REST APIs that speaks their wire format, so the real `twilio`
library can be tested without the network. One server answers every Twilio host's paths
(api.: Messages, numbers, Addresses; trusthub.: profiles; messaging.: brands, services,
campaigns), which the provider reaches through SWITCHBOARD_TWILIO_API_URL.

What a test can do with it:
- read `requests`: every request it got (method, path, query and form parameters);
- `fail(method, path, status, code)`: answer the next matching request(s) with a Twilio error;
- script the next message creates (`script(...)`, steps in messages.py; `fail_next` and
  `hold` are the older shorthands for `reject` and `take_then_hang`);
- `stock` numbers for sale, read `owned`/`released`, and `review` a bundle, brand, campaign
  or message into a new status;
- `add_media(data, content_type)`: a received picture, at the URL an inbound webhook names
  (`https://api.twilio.com/...`, which SWITCHBOARD_TWILIO_API_URL sends here). As Twilio with
  media authentication on, it asks for the account's basic auth, then redirects to where
  the file is (`/mms-media/...`, no auth there); `media_fetches` counts those fetches. A
  create's `MediaUrl`s are kept on the message (`media_urls`), as Twilio fetches them."""

from __future__ import annotations

import base64
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fake_twilio import messages, messaging, numbers, trusthub
from tests.fake_twilio._wire import error, iso8601, new_sid, now
from tests.fake_twilio.messages import (
    Step,
    hang,
    reject,
    stall,
    take_then_fail,
    take_then_hang,
    take_then_stall,
)

__all__ = [
    "FakeTwilio",
    "Recorded",
    "Step",
    "hang",
    "reject",
    "stall",
    "take_then_fail",
    "take_then_hang",
    "take_then_stall",
]

API = "/2010-04-01/Accounts/{account_sid}"
Handler = Callable[["FakeTwilio", Request, FormData], Awaitable[Response]]


@dataclass(frozen=True)
class Recorded:
    """One request as the fake got it."""

    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]

    def param(self, name: str) -> str | None:
        values = self.form.get(name) or self.query.get(name)
        return values[0] if values else None


@dataclass
class _Failure:
    method: str
    path: str
    status: int
    code: int
    message: str
    times: int


@dataclass
class FakeTwilio:
    account_sid: str = "AC" + "0" * 32
    auth_token: str = "fake-auth-token-" + "1" * 16
    messages: list[dict[str, Any]] = field(default_factory=list)
    # Scripted answers for the next create calls: an HTTP status (500 → Twilio's 5xx JSON).
    fail_next: list[int] = field(default_factory=list)
    # Numbers Twilio refuses with an error code (21610: the number replied STOP).
    refused: dict[str, int] = field(default_factory=dict)
    create_calls: int = 0
    hangups: int = 0  # waiting creates whose caller hung up
    abandoned: int = 0  # creates whose caller hung up before the text was taken
    # Set to block creates until released (a timeout from the client's side).
    hold: threading.Event | None = None
    changed: threading.Condition = field(default_factory=threading.Condition)
    message_script: list[Step] = field(default_factory=list)
    # False: texts stay queued (no date_sent), as behind a carrier's rate limit.
    texts_go_out: bool = False
    requests: list[Recorded] = field(default_factory=list)
    available: dict[str, dict[str, Any]] = field(default_factory=dict)  # for sale, by number
    owned: dict[str, dict[str, Any]] = field(default_factory=dict)  # IncomingPhoneNumbers
    released: list[dict[str, Any]] = field(default_factory=list)
    addresses: dict[str, dict[str, Any]] = field(default_factory=dict)
    trust_objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # EndUsers, docs
    bundles: dict[str, dict[str, Any]] = field(default_factory=dict)  # profiles and products
    assignments: dict[str, list[str]] = field(default_factory=dict)
    # Set: customer profiles must have this (the account's primary) profile assigned.
    primary_profile_sid: str | None = None
    brands: dict[str, dict[str, Any]] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    service_numbers: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    campaigns: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # by media sid
    media_fetches: int = 0
    _failures: list[_Failure] = field(default_factory=list)

    # Scripting

    def script(self, *steps: Step) -> None:
        """The answers to the next message creates, in order (then normal answers)."""
        with self.changed:
            self.message_script.extend(steps)

    def next_step(self) -> Step:
        """The step for this create (the caller holds `changed`)."""
        if self.fail_next:
            return reject(self.fail_next.pop(0))
        if self.message_script:
            return self.message_script.pop(0)
        if self.hold is not None:
            return take_then_hang(self.hold)
        return Step()

    def fail(
        self,
        method: str,
        path: str,
        status: int = 500,
        code: int = 20500,
        message: str = "Internal Server Error",
        times: int = 1,
    ) -> None:
        """Answer the next `times` requests whose path contains `path` with this error."""
        with self.changed:
            self._failures.append(_Failure(method.upper(), path, status, code, message, times))

    def stock(
        self,
        area_code: str,
        count: int = 3,
        locality: str = "San Francisco",
        region: str = "CA",
        sms: bool = True,
    ) -> list[str]:
        """Put `count` numbers in this area code up for sale; return them."""
        added = []
        with self.changed:
            for line in range(100, 200):
                number = f"+1{area_code}5550{line}"
                if number not in self.available and all(
                    o["phone_number"] != number for o in self.owned.values()
                ):
                    self.available[number] = numbers.for_sale(number, locality, region, sms)
                    added.append(number)
                if len(added) == count:
                    break
        return added

    def add_message(
        self, to: str, from_: str, body: str, created: datetime | None = None, **kw: Any
    ) -> dict[str, Any]:
        """A message Twilio already has (history a test sets up)."""
        message = messages.message_record(self, to, from_, body, created=created, **kw)
        with self.changed:
            self.messages.append(message)
            self.changed.notify_all()
        return message

    def add_media(self, data: bytes, content_type: str, message_sid: str | None = None) -> str:
        """A received picture or file; returns its URL as Twilio's webhook names it."""
        sid = new_sid("ME")
        with self.changed:
            self.media[sid] = (data, content_type)
        message = message_sid or new_sid("MM")
        return f"https://api.twilio.com{API.format(account_sid=self.account_sid)}/Messages/{message}/Media/{sid}"

    def review(self, sid: str, status: str, errors: list[dict[str, Any]] | None = None) -> None:
        """Move a bundle (BU), brand (BN), campaign (QE) or message (SM) to `status`."""
        with self.changed:
            record = self.bundles.get(sid) or self.brands.get(sid)
            key = "status"
            for campaigns in self.campaigns.values():
                if sid in campaigns:
                    record, key = campaigns[sid], "campaign_status"
            if record is None:
                message = next((m for m in self.messages if m["sid"] == sid), None)
                if message is None:
                    raise KeyError(sid)
                message["status"] = status
                message["sent_at"] = message["sent_at"] or now()
                return
            record[key] = status
            record["date_updated"] = iso8601(now())
            if errors is not None:
                record["errors"] = errors

    # Reading

    def requests_to(self, method: str, path: str) -> list[Recorded]:
        with self.changed:
            return [r for r in self.requests if r.method == method and path in r.path]

    def wait_until(self, done: Callable[[FakeTwilio], bool], timeout: float = 10.0) -> None:
        """Block until `done(fake)` (call through asyncio.to_thread)."""
        with self.changed:
            if not self.changed.wait_for(lambda: done(self), timeout):
                raise TimeoutError("the fake Twilio never got there")

    def wait_for_messages(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until the fake holds `count` messages (call through asyncio.to_thread)."""
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.messages) >= count, timeout):
                raise TimeoutError(f"the fake Twilio got {len(self.messages)} of {count} messages")
            return list(self.messages)

    # The server

    def app(self) -> Starlette:
        m, n, t, g = messages, numbers, trusthub, messaging
        routes: list[tuple[str, str, Handler]] = [
            ("POST", f"{API}/Messages.json", m.create),
            ("GET", f"{API}/Messages.json", m.read),
            ("GET", f"{API}/Messages/{{sid}}.json", m.fetch),
            ("GET", f"{API}/Messages/{{sid}}/Media/{{media_sid}}", m.media_redirect),
            ("GET", f"{API}/AvailablePhoneNumbers/{{country}}/Local.json", n.search),
            ("POST", f"{API}/IncomingPhoneNumbers.json", n.buy),
            ("GET", f"{API}/IncomingPhoneNumbers.json", n.read),
            ("GET", f"{API}/IncomingPhoneNumbers/{{sid}}.json", n.fetch),
            ("POST", f"{API}/IncomingPhoneNumbers/{{sid}}.json", n.update),
            ("DELETE", f"{API}/IncomingPhoneNumbers/{{sid}}.json", n.release),
            ("POST", f"{API}/Addresses.json", n.create_address),
            ("POST", "/v1/EndUsers", t.create_end_user),
            ("POST", "/v1/SupportingDocuments", t.create_document),
            ("POST", "/v1/a2p/BrandRegistrations", g.create_brand),
            ("GET", "/v1/a2p/BrandRegistrations", g.read_brands),
            ("GET", "/v1/a2p/BrandRegistrations/{sid}", g.fetch_brand),
            ("POST", "/v1/Services", g.create_service),
            ("POST", "/v1/Services/{sid}/PhoneNumbers", g.add_number),
            ("GET", "/v1/Services/{sid}/PhoneNumbers", g.read_numbers),
            ("POST", "/v1/Services/{sid}/Compliance/Usa2p", g.create_campaign),
            ("GET", "/v1/Services/{sid}/Compliance/Usa2p", g.read_campaigns),
            ("GET", "/v1/Services/{sid}/Compliance/Usa2p/{qe}", g.fetch_campaign),
        ]
        for bundles in ("/v1/CustomerProfiles", "/v1/TrustProducts"):
            routes += [
                ("POST", bundles, t.create_bundle),
                ("GET", f"{bundles}/{{sid}}", t.fetch_bundle),
                ("POST", f"{bundles}/{{sid}}", t.update_bundle),
                ("POST", f"{bundles}/{{sid}}/EntityAssignments", t.assign),
                ("POST", f"{bundles}/{{sid}}/Evaluations", t.evaluate),
            ]
        served = [Route(path, self._endpoint(h), methods=[verb]) for verb, path, h in routes]
        # Where a media URL redirects: open to anyone with the link, as Twilio's file store.
        served.append(Route("/mms-media/{media_sid}", self._media_file))
        return Starlette(routes=served)

    async def _media_file(self, request: Request) -> Response:
        with self.changed:
            found = self.media.get(request.path_params["media_sid"])
            if found is not None:
                self.media_fetches += 1
                self.changed.notify_all()
        if found is None:
            return error(404, 20404, "The requested resource was not found")
        return Response(found[0], media_type=found[1])

    def _endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            form = await request.form() if request.method == "POST" else FormData()
            query = request.query_params
            recorded = Recorded(
                request.method,
                request.url.path,
                {k: query.getlist(k) for k in query.keys()},
                {k: [str(v) for v in form.getlist(k)] for k in form.keys()},
            )
            with self.changed:
                self.requests.append(recorded)
                self.changed.notify_all()
            if not self._authorised(request):
                return error(401, 20003, "Authenticate")
            failure = self._failure_for(recorded)
            if failure is not None:
                return error(failure.status, failure.code, failure.message)
            return await handler(self, request, form)

        return endpoint

    def _authorised(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    def _failure_for(self, request: Recorded) -> _Failure | None:
        with self.changed:
            for failure in self._failures:
                if failure.method == request.method and failure.path in request.path:
                    failure.times -= 1
                    if failure.times <= 0:
                        self._failures.remove(failure)
                    return failure
        return None
