"""A local stand-in for Twilio's REST API that speaks its wire format (Messages.json), so the
real `twilio` library can be tested without the network. Failures can be scripted."""

from __future__ import annotations

import base64
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

API = "/2010-04-01/Accounts/{account_sid}/Messages.json"


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
    # Set to block creates until released (a timeout from the client's side).
    hold: threading.Event | None = None
    changed: threading.Condition = field(default_factory=threading.Condition)

    def wait_for_messages(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until the fake holds `count` messages (call through asyncio.to_thread)."""
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.messages) >= count, timeout):
                raise TimeoutError(f"the fake Twilio got {len(self.messages)} of {count} messages")
            return list(self.messages)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(API, self.create, methods=["POST"]),
                Route(API, self.list, methods=["GET"]),
            ]
        )

    def _authorised(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    @staticmethod
    def _error(status: int, code: int, message: str) -> JSONResponse:
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return JSONResponse(body, status_code=status)

    async def create(self, request: Request) -> Response:
        if not self._authorised(request):
            return self._error(401, 20003, "Authenticate")
        form = await request.form()
        with self.changed:
            self.create_calls += 1
            failure = self.fail_next.pop(0) if self.fail_next else None
        if failure is not None:
            return self._error(failure, 20500, "Internal Server Error")
        to, from_ = str(form.get("To", "")), str(form.get("From", ""))
        if not to or not from_:
            return self._error(400, 21604, "A 'To' phone number is required.")
        if to in self.refused:
            return self._error(400, self.refused[to], "Attempt to send to unsubscribed recipient")
        now = format_datetime(datetime.now(UTC), usegmt=True)
        sid = "SM" + uuid.uuid4().hex
        message = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": str(form.get("Body", "")),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_,
            "messaging_service_sid": None,
            "num_media": str(len(form.getlist("MediaUrl"))),
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {
                "media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"
            },
            "to": to,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            "status_callback": str(form.get("StatusCallback", "")) or None,
        }
        with self.changed:
            self.messages.append(message)
            self.changed.notify_all()
        if self.hold is not None:
            import asyncio

            while not self.hold.is_set():
                await asyncio.sleep(0.01)
        return JSONResponse(
            {k: v for k, v in message.items() if k != "status_callback"}, status_code=201
        )

    async def list(self, request: Request) -> Response:
        if not self._authorised(request):
            return self._error(401, 20003, "Authenticate")
        to, from_ = request.query_params.get("To"), request.query_params.get("From")
        found = [
            {k: v for k, v in m.items() if k != "status_callback"}
            for m in reversed(self.messages)
            if (to is None or m["to"] == to) and (from_ is None or m["from"] == from_)
        ]
        uri = request.url.path
        return JSONResponse(
            {
                "messages": found,
                "end": max(len(found) - 1, 0),
                "first_page_uri": uri,
                "next_page_uri": None,
                "page": 0,
                "page_size": 50,
                "previous_page_uri": None,
                "start": 0,
                "uri": uri,
            }
        )
