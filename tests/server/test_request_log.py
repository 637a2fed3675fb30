"""`switchboard serve`'s log (server/logs.py): one INFO line per request with the method, the
path without its query, the status, the time and the client's address (the forwarded one only
from an address in SWITCHBOARD_FORWARDED_ALLOW_IPS); never a query string or a body; as text or
JSON, from every worker."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import Agent, free_port, login, wait_until_serving
from tests.server.test_cli import _env

SEARCH = "lab results for Ms Dubois"
BODY = "my new address is 12 Rue Verte"
PHONE = "+15558675309"
CLIENT = "203.0.113.7"  # the address a proxy says it forwarded for


class Logged:
    """A real `switchboard serve --log-level info`, its output kept."""

    def __init__(self, data_dir: Path, database_url: str, redis_url: str | None, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"serve-{self.port}.log"
        command = [sys.executable, "-m", "server.cli", "serve", "--demo", "--port", str(self.port)]
        command += ["--data-dir", str(data_dir), "--public-url", self.url, "--log-level", "info"]
        command += ["--workers", env.pop("workers", "1")]
        self.proc = subprocess.Popen(
            command,
            env=_env(database_url, redis_url) | env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        wait_until_serving(self.url, self.proc, self.log)

    def stop(self) -> str:
        self.proc.terminate()
        self.proc.wait(30)
        return self.log.read_text()


@pytest.fixture
def logged(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str, serve_redis: str | None
) -> Iterator[Logged]:
    server = Logged(tmp_path / "data", database_url, serve_redis, **request.param)
    yield server
    if server.proc.poll() is None:
        server.proc.kill()
        server.proc.wait()


async def browse(url: str) -> None:
    """What a proxied browser does: a search, a text from the simulator, a socket."""
    bob = await login(url, "bob")
    bob.headers["X-Forwarded-For"] = CLIENT
    found = await bob.get("/api/v1/inboxes/1/conversations", params={"q": SEARCH})
    assert found.status_code == 200
    sent = await bob.post(
        "/simulator/messages", json={"from": PHONE, "to": "+15005550006", "body": BODY}
    )
    assert sent.status_code == 201, sent.text
    agent = await Agent.connect(url, cookies=bob.cookies)
    assert (await agent.command("ping", {}))["type"] == "pong"
    await agent.close()


def assert_private(log: str) -> None:
    for secret in (SEARCH, "Dubois", BODY, PHONE, PHONE[2:], "q=", "?"):
        assert secret not in log, secret


@pytest.mark.parametrize("logged", [{}], indirect=True)
async def test_each_request_is_one_line_without_its_query_or_body(logged: Logged) -> None:
    await browse(logged.url)
    async with httpx.AsyncClient(base_url=logged.url) as client:  # a path that forges a line
        forged = await client.get("/x%0AINFO%20switchboard.requests:%20GET%20/forged%20200")
    assert forged.status_code == 404
    log = logged.stop()
    assert not [
        line
        for line in log.splitlines()
        if line.startswith("INFO switchboard.requests: GET /forged")
    ]
    assert "GET /x\\x0aINFO switchboard.requests: GET /forged 200 404 " in log
    lines = [line for line in log.splitlines() if line.startswith("INFO switchboard.requests: ")]
    requests = [line.split(": ", 1)[1].split() for line in lines]
    seen = {(method, path, status) for method, path, status, *_ in requests}
    assert ("GET", "/api/v1/inboxes/1/conversations", "200") in seen
    assert ("POST", "/simulator/messages", "201") in seen
    assert ("POST", "/login", "303") in seen
    assert ("WS", "/ws", "101") in seen
    search = next(r for r in requests if r[1] == "/api/v1/inboxes/1/conversations")
    assert search[3].endswith("ms") and float(search[3][:-2]) >= 0
    assert search[4] == CLIENT  # the proxy on 127.0.0.1 is trusted by default
    assert '"GET ' not in log  # uvicorn's own access line (with the query) is off
    assert_private(log)


@pytest.mark.parametrize(
    "logged",
    [
        {
            "SWITCHBOARD_LOG_FORMAT": "json",
            "SWITCHBOARD_FORWARDED_ALLOW_IPS": "192.0.2.1",
            "workers": "2",
        }
    ],
    indirect=True,
)
async def test_json_logs_from_every_worker_and_only_trusted_proxies_name_the_client(
    logged: Logged,
) -> None:
    await browse(logged.url)
    log = logged.stop()
    entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    requests = [e for e in entries if e["logger"] == "switchboard.requests"]
    search = next(e for e in requests if e["path"] == "/api/v1/inboxes/1/conversations")
    assert (search["method"], search["status"]) == ("GET", 200)
    assert search["client"] == "127.0.0.1"  # 127.0.0.1 is not the trusted proxy here
    assert isinstance(search["duration_ms"], float)
    assert {"ts", "level", "message"} <= search.keys()
    # The workers' own start-up lines are JSON too: the configuration reached them.
    assert sum("Started server process" in e["message"] for e in entries) == 2
    assert_private(log)
