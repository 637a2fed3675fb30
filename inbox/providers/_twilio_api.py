"""The `twilio` client every Twilio module shares: one HTTP client that sends every host Twilio
has (api., messaging., trusthub.) to `api_url`, a timeout on each call, and the one place
Twilio's and aiohttp's errors become inbox errors."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from yarl import URL

from inbox.errors import InboxError, MediaGoneError, SmsError

TWILIO_API_URL = "https://api.twilio.com"

# The library logs every request (numbers in query strings included) at INFO.
for _name in ("twilio.http_client", "twilio.async_http_client"):
    logging.getLogger(_name).setLevel(logging.WARNING)

TOO_MANY_REQUESTS = 429
NOT_FOUND = 404
# Twilio answers a media URL with one redirect, to where the file is kept.
MEDIA_REDIRECTS = 3

ErrorFactory = Callable[[TwilioRestException], InboxError]


class RewritingHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Twilio's aiohttp client with every request's scheme and host replaced by `api_url`'s
    (its path, if any, goes in front), so one Twilio-compatible server or fake serves all
    of Twilio's APIs. No retries of its own: a retried create could send a text twice."""

    session: aiohttp.ClientSession | None

    def __init__(self, api_url: str, timeout_secs: float) -> None:
        super().__init__(pool_connections=False, timeout=timeout_secs)
        target = urlsplit(api_url.rstrip("/"))
        self._target = None if api_url.rstrip("/") == TWILIO_API_URL else target

    @staticmethod
    def basic_auth(auth: tuple[str, str]) -> str:
        token = base64.b64encode(":".join(auth).encode()).decode()
        return f"Basic {token}"

    def rewrite(self, url: str) -> str:
        if self._target is None:
            return url
        parts = urlsplit(url)
        path = self._target.path + parts.path
        return urlunsplit((self._target.scheme, self._target.netloc, path, parts.query, ""))

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if self.session is None:  # made here, inside the running loop that will use it
            self.session = aiohttp.ClientSession()
        if auth is not None:  # as a header: aiohttp deprecates its own auth argument
            headers = {**(headers or {}), "Authorization": self.basic_auth(auth)}
        return await super().request(
            method,
            self.rewrite(url),
            params=params,
            data=data,
            headers=headers,
            auth=None,
            timeout=timeout or self.timeout,
            allow_redirects=allow_redirects,
        )


class TwilioApi:
    """A `twilio.rest.Client` on the rewriting HTTP client, and how every call is made."""

    def __init__(
        self, account_sid: str, auth_token: str, *, api_url: str, timeout_secs: float
    ) -> None:
        self.account_sid = account_sid
        self._credentials = (account_sid, auth_token)
        self.timeout_secs = timeout_secs
        self.http = RewritingHttpClient(api_url, timeout_secs)
        self.client: Any = Client(account_sid, auth_token, http_client=self.http)

    @asynccontextmanager
    async def calling(
        self, doing: str, errors: Mapping[int, ErrorFactory] | None = None
    ) -> AsyncIterator[None]:
        """Run one call under the timeout, converting what it raises (`doing` names it)."""
        with twilio_errors(doing, errors or {}):
            async with asyncio.timeout(self.timeout_secs):
                yield

    async def download(self, url: str, max_bytes: int) -> tuple[bytes, str | None]:
        """The media at `url`, one of this account's (`MediaGoneError` otherwise, and when
        Twilio has it no more or it is larger than `max_bytes`). The credentials go to Twilio
        only: Twilio answers with a redirect to where the file is, followed without them."""
        parts = urlsplit(url)
        account = f"/2010-04-01/Accounts/{self.account_sid}/Messages/"
        if parts.scheme != "https" or parts.netloc != "api.twilio.com":
            raise MediaGoneError("the media is not at Twilio")
        if not parts.path.startswith(account) or "/Media/" not in parts.path:
            raise MediaGoneError("the media is not this account's")
        if self.http.session is None:
            self.http.session = aiohttp.ClientSession()
        session = self.http.session
        target = self.http.rewrite(url)
        headers = {"Authorization": self.http.basic_auth(self._credentials)}
        with twilio_errors("fetching a picture", {}):
            async with asyncio.timeout(self.timeout_secs):
                for _ in range(MEDIA_REDIRECTS + 1):
                    async with session.get(target, headers=headers, allow_redirects=False) as r:
                        if r.status in (301, 302, 303, 307, 308) and r.headers.get("location"):
                            target, headers = str(r.url.join(URL(r.headers["location"]))), {}
                            continue
                        if r.status == NOT_FOUND:
                            raise MediaGoneError("Twilio no longer has this media")
                        if r.status >= 400:
                            raise _http_error(r.status, "fetching a picture")
                        data = await r.content.read(max_bytes + 1)
                        if len(data) > max_bytes:
                            raise MediaGoneError(f"the media is over {max_bytes} bytes")
                        return data, r.headers.get("content-type")
        raise SmsError("fetching a picture: Twilio redirected too often", retryable=True)

    async def close(self) -> None:
        await self.http.close()


def _http_error(status: int, doing: str) -> SmsError:
    server_side = status >= 500 or status == TOO_MANY_REQUESTS
    return SmsError(f"{doing}: Twilio answered {status}", str(status), retryable=server_side)


def _refusal(exc: TwilioException) -> TwilioRestException | None:
    """The error answer in `exc`: list calls raise a bare TwilioException carrying the
    response ("Unable to fetch page"), other calls a TwilioRestException."""
    if isinstance(exc, TwilioRestException):
        return exc
    response = exc.args[1] if len(exc.args) == 2 else None
    if not isinstance(response, Response) or response.status_code < 400:
        return None
    try:
        body = json.loads(response.text)
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    return TwilioRestException(
        response.status_code, "", body.get("message", response.text), body.get("code")
    )


@contextmanager
def twilio_errors(doing: str, errors: Mapping[int, ErrorFactory]) -> Iterator[None]:
    """Twilio's error codes in `errors` become those inbox errors; any other answer, a timeout
    or a broken connection becomes `SmsError`: retryable unless Twilio refused with a 4xx,
    and `maybe_done` unless Twilio refused or the connection was never made."""
    try:
        yield
    except TwilioException as exc:
        refusal = _refusal(exc)
        if refusal is None:  # an answer the library could not read
            message = f"{doing}: Twilio's answer was unreadable: {exc}"
            raise SmsError(message, retryable=True, maybe_done=True) from exc
        if refusal.code is not None and refusal.code in errors:
            raise errors[refusal.code](refusal) from exc
        server_side = refusal.status >= 500
        message = f"{doing}: Twilio answered {refusal.status} ({refusal.code}): {refusal.msg}"
        code = str(refusal.code) if refusal.code else None
        retryable = server_side or refusal.status == TOO_MANY_REQUESTS
        raise SmsError(message, code, retryable=retryable, maybe_done=server_side) from exc
    except TimeoutError as exc:
        message = f"{doing}: Twilio did not answer in time"
        raise SmsError(message, retryable=True, maybe_done=True) from exc
    except aiohttp.ClientConnectorError as exc:  # nothing was sent
        raise SmsError(f"{doing}: Twilio could not be reached: {exc!r}", retryable=True) from exc
    except aiohttp.ClientError as exc:
        message = f"{doing}: the connection to Twilio broke: {exc!r}"
        raise SmsError(message, retryable=True, maybe_done=True) from exc
