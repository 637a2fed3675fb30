"""Every REST route, page and webhook, fuzzed (hypothesis): whatever the path, query and body,
the answer is never a 5xx, and a refused request (4xx) leaves every stored row as it was."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from inbox.db import Database
from server.app import create_app
from server.services import services
from tests.conftest import make_settings
from tests.fake_twilio import FakeTwilio
from tests.helpers import (
    DEMO_PASSWORD,
    EVENT_WAIT_SECS,
    ServerThread,
    Twilio,
    free_port,
    snapshot_store,
)

EXAMPLES = 250  # per provider: a few seconds of requests each; hypothesis keeps its finds
# Routes left out: logout would end the fuzzing session (tests/server/test_sessions.py covers it).
SKIPPED = {("POST", "/logout")}
FIELDS = [
    "body", "colour", "confirm", "contact_id", "contact_ids", "current", "enabled", "from",
    "help_text", "inbox_id", "items", "media_ids", "message", "name", "new", "notes", "numbers",
    "schedule",
    "scope", "seen_message_id", "tag_id", "timezone", "to", "unsolicited", "user_id", "user_ids",
    # the admin calls'
    "username", "role", "password", "disabled", "api_code", "phone_number_id",
    "voice_forward_to", "unsolicited_to", "member_ids", "expires_at",
]  # fmt: skip
QUERY = [
    "folder", "assignee", "read", "q", "cursor", "limit", "before", "phone", "message_id", "tag",
    "ids", "conversation_id", "all", "download",
]  # fmt: skip
TWILIO_FIELDS = [
    "MessageSid", "To", "From", "Body", "NumMedia", "MediaUrl0", "MediaContentType0",
    "MessageStatus",
]  # fmt: skip
PATH_VALUES = ["1", "2", "3", "0", "999999", "-1", "\u00b2", "9" * 40, "abc", "1.5"]
HOSTILE = [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"inbox_id": ' + b"9" * 4000 + b"}",
    b'{"body": "\\ud800"}',
    b'{"name": "a\\u0000b"}',
    b'{"body": NaN}',
    b"\xff\xfe",
    b"",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**70)
    | st.floats(allow_nan=True)
    | st.text()
    | st.sampled_from(["\ud800", "+15550001", "DELETE", "\u00b2", "", "me", "mon"])
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=12,
)
bodies = (
    st.dictionaries(st.sampled_from(FIELDS), values, max_size=4).map(
        lambda d: json.dumps(d).encode()
    )
    | values.map(lambda v: json.dumps(v).encode())
    | st.sampled_from(HOSTILE)
    | st.binary(max_size=64)
)
queries = st.dictionaries(st.sampled_from(QUERY), st.text(max_size=8), max_size=3)


def api_routes(routes: list[BaseRoute], prefix: str = "") -> list[tuple[str, str]]:
    found = []
    for route in routes:
        if isinstance(route, Mount) and route.path != "/static":
            found += api_routes(list(route.routes), prefix + route.path)
        elif isinstance(route, Route):
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                if (method, prefix + route.path) not in SKIPPED:
                    found.append((method, prefix + route.path))
    return found


class StoreReader:
    """The server's store read from this synchronous test: the app's own `Database` on an
    event loop of its own thread (any store: SQLite or PostgreSQL)."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._db: Database | None = None

    def __enter__(self) -> StoreReader:
        self._thread.start()
        return self

    def snapshot(self) -> dict[str, list[Any]]:
        async def read() -> dict[str, list[Any]]:
            if self._db is None:
                self._db = Database(self._url)
            return await snapshot_store(self._db)

        return asyncio.run_coroutine_threadsafe(read(), self._loop).result()

    def __exit__(self, *exc: object) -> None:
        if self._db is not None:
            asyncio.run_coroutine_threadsafe(self._db.dispose(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


async def _busy(request: Request) -> JSONResponse:
    """Test-only: how much slow work the server still has (sends being delivered, lock events
    being written); a change settles when it is none."""
    return JSONResponse({"tasks": len(services(request).tasks)})


@pytest.mark.parametrize("provider", ["twilio", "sandbox"])
def test_no_input_gets_a_5xx_and_refusals_change_nothing(
    provider: str,
    tmp_path: Path,
    database_url: str,
    clean_redis: str,
    fake_twilio: tuple[FakeTwilio, str],
) -> None:
    fake, fake_url = fake_twilio
    port = free_port()
    twilio_args = (fake, fake_url) if provider == "twilio" else (None, None)
    app_settings = make_settings(
        tmp_path / "data",
        clean_redis,
        port,
        *twilio_args,
        database_url=database_url,
        login_address_failures=10**6,
    )
    app = create_app(app_settings)
    app.router.routes.append(Route("/_test/busy", _busy))
    routes = api_routes(app.routes)
    assert len(routes) > 30  # every route of server/http is here
    reader = StoreReader(database_url)
    with (
        ServerThread(app, port) as server,
        httpx.Client(base_url=server.url) as http,
        reader,
    ):
        http.headers["Origin"] = server.url
        login = {"username": "alice", "password": DEMO_PASSWORD}  # the admin reaches most
        assert http.post("/login", data=login).status_code == 303
        signer = Twilio(fake.auth_token, server.url)

        def settle() -> None:
            deadline = time.monotonic() + EVENT_WAIT_SECS
            while http.get("/_test/busy").json()["tasks"]:
                assert time.monotonic() < deadline, "the server's slow work never finished"
                time.sleep(0.01)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(
            route=st.sampled_from(routes),
            path_values=st.lists(st.sampled_from(PATH_VALUES), min_size=3, max_size=3),
            query=queries,
            body=bodies,
            form=st.dictionaries(st.sampled_from(TWILIO_FIELDS), st.text(max_size=12)),
        )
        def one_request(
            route: tuple[str, str],
            path_values: list[str],
            query: dict[str, str],
            body: bytes,
            form: dict[str, str],
        ) -> None:
            method, template = route
            path = template
            for value in path_values:
                start = path.find("{")
                if start < 0:
                    break
                path = path[:start] + value + path[path.index("}", start) + 1 :]
            before = reader.snapshot()
            if template.startswith("/webhooks/") or template == "/login":
                # Signed like Twilio's, so the fuzz reaches what the webhook reads.
                response = http.post(
                    path, data=form, headers={"X-Twilio-Signature": signer.sign(path, form)}
                )
            else:
                headers = {"Content-Type": "application/json"}
                response = http.request(method, path, params=query, content=body, headers=headers)
            assert response.status_code < 500, (method, path, query, body[:200], response.text)
            if response.status_code >= 400:
                assert response.headers["content-type"].startswith(
                    ("application/json", "text/html")
                )
                assert reader.snapshot() == before, (method, path, response.status_code)
            else:
                settle()

        one_request()
