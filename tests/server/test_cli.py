"""`switchboard` as an operator runs it: real processes, the embedded redis-server included."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import SQLModel

from inbox.accounts import hash_token
from tests.helpers import Agent, free_port, login, open_store, wait_until_serving


def _env(database_url: str) -> dict[str, str]:
    """This process's environment without our settings, on the test's store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "TWILIO_"))}
    return env | {"SWITCHBOARD_DATABASE_URL": database_url}


def switchboard(
    *args: str,
    data_dir: Path,
    database_url: str,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a `switchboard` command on `data_dir` and the store, as an operator would."""
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args, "--data-dir", str(data_dir)],
        env=_env(database_url) | (env or {}),
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )


class Serve:
    def __init__(self, data_dir: Path, database_url: str, *, demo: bool = True) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / "serve.log"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server.cli",
                "serve",
                *(["--demo"] if demo else []),
                "--port",
                str(self.port),
                "--data-dir",
                str(data_dir),
                "--log-level",
                "warning",
            ],
            env=_env(database_url),
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal gives a command
        )
        wait_until_serving(self.url, self.proc, self.log)

    def redis_pid(self) -> int:
        match = re.search(r"embedded redis-server \(pid (\d+)\)", self.log.read_text())
        assert match, self.log.read_text()
        return int(match.group(1))


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in state  # a zombie has exited


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


async def stored_values(database_url: str) -> list[str]:
    """Every value of every row of every table in the store, as text."""
    async with open_store(database_url) as db, db.read() as session:
        return [
            str(value)
            for table in SQLModel.metadata.sorted_tables
            for row in (await session.execute(select(table))).all()
            for value in row
        ]


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[Serve]:
    server = Serve(tmp_path / "data", database_url)
    yield server
    if server.proc.poll() is None:
        server.proc.kill()
        server.proc.wait()


async def test_serve_demo_starts_from_an_empty_data_dir(served: Serve) -> None:
    output = served.log.read_text()
    assert "bob (agent)" in output and "'switchboard'" in output
    bob = await login(served.url, "bob")
    inboxes = (await bob.get("/api/v1/inboxes")).json()["items"]
    assert [(i["name"], i["phone_number"]) for i in inboxes] == [("Front Desk", "+15005550006")]
    carol = await login(served.url, "carol")
    names = sorted(i["name"] for i in (await carol.get("/api/v1/inboxes")).json()["items"])
    assert names == ["Billing", "Front Desk"]
    page = await bob.get("/")
    assert page.status_code == 200 and "Front Desk" in page.text
    # The phone simulator plays a customer: its text reaches bob's socket live.
    bob_ws = await Agent.connect(served.url, cookies=bob.cookies)
    sent = await bob.post(
        "/simulator/messages",
        json={"from": "+15557654321", "to": "+15005550006", "body": "Hello from the simulator"},
    )
    assert sent.status_code == 201, sent.text
    event = await bob_ws.next_event("message.created")
    assert event["data"]["message"]["body"] == "Hello from the simulator"
    await bob_ws.close()


async def test_token_create_gives_a_working_bearer_token(
    served: Serve, tmp_path: Path, database_url: str
) -> None:
    result = switchboard(
        "token", "create", "--user", "bob", data_dir=tmp_path / "data", database_url=database_url
    )
    token = result.stdout.strip().splitlines()[-1]
    async with httpx.AsyncClient(base_url=served.url) as client:
        me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        assert me.json()["username"] == "bob"
        wrong = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}x"})
        assert wrong.status_code == 401
    # A bot or script connects to the socket with the token, no cookie, no Origin.
    ws = await Agent.connect(served.url, token=token)
    assert (await ws.command("ping", {}))["type"] == "pong"
    await ws.close()
    stored = await stored_values(database_url)
    assert hash_token(token) in stored  # only its hash is kept
    assert not any(token in value for value in stored)


def test_ctrl_c_stops_the_server_cleanly_and_then_its_redis(served: Serve) -> None:
    pid = served.redis_pid()
    assert alive(pid)
    os.killpg(served.proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
    assert served.proc.wait(30) == 0
    assert wait_gone(pid)
    assert not (served.log.parent / "data" / "redis.sock").exists()
    log = served.log.read_text()
    assert "Traceback" not in log, log  # Redis outlived the app's shutdown


def test_embedded_redis_dies_even_when_the_server_is_killed(served: Serve) -> None:
    pid = served.redis_pid()
    served.proc.kill()
    served.proc.wait()
    assert wait_gone(pid)


async def test_user_create_makes_a_user_who_can_log_in(
    served: Serve, tmp_path: Path, database_url: str
) -> None:
    env = {"SWITCHBOARD_PASSWORD": "a long passphrase"}
    create = ("user", "create", "--username", "dana")
    data = tmp_path / "data"
    result = switchboard(
        *create,
        "--name",
        "Dana Night",
        "--team",
        "Demo",
        data_dir=data,
        database_url=database_url,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "created agent dana" in result.stdout
    dana = await login(served.url, "dana", "a long passphrase")
    me = (await dana.get("/api/v1/me")).json()
    assert (me["name"], me["role"]) == ("Dana Night", "agent")
    assert (await dana.get("/api/v1/inboxes")).json()["items"] == []  # a member of nothing yet
    again = switchboard(*create, data_dir=data, database_url=database_url, env=env, check=False)
    assert again.returncode == 2
    assert "already exists" in again.stderr


@pytest.fixture
def first_run(tmp_path: Path, empty_database_url: str) -> Iterator[Serve]:
    """`switchboard serve` without --demo on a new, empty store."""
    server = Serve(tmp_path / "data", empty_database_url, demo=False)
    yield server
    if server.proc.poll() is None:
        server.proc.kill()
        server.proc.wait()


def setup_path(server: Serve) -> str:
    match = re.search(r"Open (http://\S+)/setup/(\S+) to create your team", server.log.read_text())
    assert match, server.log.read_text()
    assert match.group(1) == server.url
    return f"/setup/{match.group(2)}"


async def test_the_first_run_prints_a_setup_link_that_makes_the_team_once(
    first_run: Serve,
) -> None:
    path = setup_path(first_run)
    async with httpx.AsyncClient(base_url=first_run.url) as browser:
        assert "There is no team yet" in (await browser.get("/login")).text
        assert (await browser.get("/setup/not-the-secret")).status_code == 404
        page = await browser.get(path)
        assert page.status_code == 200 and "Team name" in page.text
        form = {"team": "Harbor PM", "name": "Hana Ito", "username": "hana", "password": "short"}
        weak = await browser.post(path, data=form)
        assert weak.status_code == 422 and "8 to" in weak.text and "Harbor PM" in weak.text
        made = await browser.post(path, data={**form, "password": "harbor master"})
        assert made.status_code == 303 and made.headers["location"] == "/settings/inboxes"
        me = (await browser.get("/api/v1/me")).json()
        assert (me["username"], me["role"]) == ("hana", "admin")
        assert (await browser.get(path)).status_code == 404  # it worked once
        again = await browser.post(path, data={**form, "username": "eve", "password": "x" * 12})
        assert again.status_code == 404
        assert "There is no team yet" not in (await browser.get("/login")).text
    hana = await login(first_run.url, "hana", "harbor master")
    first = await hana.post("/api/v1/inboxes", json={"name": "Front office"})
    assert first.json()["registration"] == "unregistered"  # it must be registered first
    audit = (await hana.get("/api/v1/audit")).json()["items"]
    assert [e["action"] for e in audit] == ["inbox.created", "team.created"]


async def test_admin_create_makes_the_team_and_its_admin_from_the_command_line(
    tmp_path: Path, empty_database_url: str
) -> None:
    data = tmp_path / "data"

    def admin_create(*args: str, password: str = "a long passphrase") -> Any:
        return switchboard(
            "admin", "create", *args, data_dir=data, database_url=empty_database_url,
            env={"SWITCHBOARD_PASSWORD": password}, check=False,
        )  # fmt: skip

    made = admin_create("--username", "root", "--team", "Harbor")
    assert "created admin root" in made.stdout and "team Harbor" in made.stdout
    added = admin_create("--username", "second", "--name", "Sam")
    assert "created admin second" in added.stdout and "team Harbor" in added.stdout  # the only
    weak = admin_create("--username", "weak", password="x")
    assert weak.returncode == 2 and "8 characters" in weak.stderr
    server = Serve(data, empty_database_url, demo=False)
    try:
        assert "/setup/" not in server.log.read_text()  # a team exists: no setup link
        root = await login(server.url, "root", "a long passphrase")
        people = (await root.get("/api/v1/users")).json()["items"]
        assert sorted((u["username"], u["role"]) for u in people) == [
            ("root", "admin"), ("second", "admin"),
        ]  # fmt: skip
    finally:
        server.proc.kill()
        server.proc.wait()
