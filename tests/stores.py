"""The store the suite runs on, chosen by `SWITCHBOARD_TEST_STORE` (`make test` runs the suite
once with each): `sqlite` (the default) gives each test an aiosqlite file in its data dir, where
`switchboard serve` keeps it; `postgres` starts one private PostgreSQL cluster for the run and
gives each test a fresh database copied from a template migrated once."""

from __future__ import annotations

import asyncio
import ctypes
import itertools
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from inbox.db import Database
from tests.helpers import free_port

STORE_ENV = "SWITCHBOARD_TEST_STORE"
STORES = ("sqlite", "postgres")
DEBIAN_PG = Path("/usr/lib/postgresql")
# initdb and the server's start take about a second; a loaded machine may take far longer.
PG_START_SECS = 60.0
PG_STOP_SECS = 30.0
SUPERUSER = "switchboard"
TEMPLATE = "switchboard_template"
PR_SET_PDEATHSIG = 1
# A throwaway cluster: nothing in it has to survive a crash, so it skips the disk syncs (what
# the server answers is the same). A server's pool holds up to 15 connections and a test may run
# several servers and worker processes: room above the default 100.
PG_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
}

T = TypeVar("T")


def chosen_store() -> str:
    store = os.environ.get(STORE_ENV) or "sqlite"
    if store not in STORES:
        raise RuntimeError(f"{STORE_ENV} must be one of {', '.join(STORES)}, not {store!r}")
    return store


def sqlite_url(data_dir: Path) -> str:
    """The store `switchboard serve` uses in `data_dir` when no database URL is set."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{data_dir / 'switchboard.db'}"


def migrated_sqlite(data_dir: Path, template: Path) -> str:
    """`sqlite_url(data_dir)`, its store a copy of `template` (see `make_sqlite_template`)."""
    url = sqlite_url(data_dir)
    shutil.copyfile(template, data_dir / "switchboard.db")
    return url


def make_sqlite_template(path: Path) -> Path:
    """A SQLite store at `path` with the schema at head and nothing in it: copied for each test,
    as PostgreSQL's template is, instead of each test's first server migrating its own (0.2 s).
    Closed and checkpointed: the file alone is the whole store."""
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


def postgres_bin_dir() -> Path:
    """Debian's server binaries (the newest installed version), else whatever is on PATH."""
    versions = [p.parent for p in DEBIAN_PG.glob("*/bin/postgres") if _is_version(p.parts[-3])]
    versions.sort(key=lambda bin_dir: float(bin_dir.parent.name))
    if versions:
        return versions[-1]
    on_path = shutil.which("postgres")
    if on_path is None:
        raise RuntimeError(
            "PostgreSQL's server binaries are missing: `make test` installs Debian's postgresql"
        )
    return Path(on_path).parent


def _postgres_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError(
            "PostgreSQL refuses to run as root, and there is no `postgres` user to run it as:"
            " `make test` installs Debian's postgresql, which makes one"
        ) from None


def _is_version(name: str) -> bool:
    return name.replace(".", "", 1).isdigit()


class _Loop:
    """An event loop on a thread of its own: the fixtures are synchronous and run beside the
    tests' loops, and the admin connection must outlive each of those."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.submit(coro).result()

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class PostgresCluster:
    """A private cluster: `initdb` in a temp dir, the server on a free port of 127.0.0.1 with a
    generated password, run as the `postgres` user when we are root (it refuses to run as
    root). `stop()` ends it and removes the dir; if the test run dies, the kernel stops it."""

    def __init__(self) -> None:
        self.bin = postgres_bin_dir()
        self._owner = _postgres_user() if os.geteuid() == 0 else None
        self.port = free_port()
        self.password = secrets.token_hex(16)
        self.dir = Path(tempfile.mkdtemp(prefix="switchboard-test-pg-"))
        self.log = self.dir / "postgres.log"
        self._names = itertools.count(1)
        self._proc: subprocess.Popen[bytes] | None = None
        self._loop: _Loop | None = None
        self._admin: asyncpg.Connection | None = None
        self._admin_turn = asyncio.Lock()  # one statement at a time on the admin connection
        self._next: Future[str] | None = None  # the next test's database, made meanwhile

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        try:
            self._init()
            self._serve()
            self._loop = _Loop()
            self._admin = self._loop.run(self._connect())
            self._make_template()
        except BaseException:
            self.stop()
            raise

    def create_database(self) -> str:
        """A new database with the schema at head (a copy of the template); its URL. A copy
        takes a tenth of a second or more, so the next test's is made while this one runs."""
        url = (self._next or self._copy_template()).result()
        self._next = self._copy_template()
        return url

    def create_empty_database(self) -> str:
        """A new database with no tables at all; its URL."""
        name = f"empty_{next(self._names)}"
        self._execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self._execute(f'DROP DATABASE "{name}" WITH (FORCE)')  # servers a test left running

    def stop(self) -> None:
        if self._loop is not None:
            if self._next is not None:
                self._next.exception()  # wait for it: the connection closes after
            if self._admin is not None:
                self._loop.run(self._admin.close())
            self._loop.close()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)  # "fast" shutdown: ends sessions, then exits
            try:
                self._proc.wait(PG_STOP_SECS)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _init(self) -> None:
        pwfile = self.dir / "password"
        pwfile.write_text(self.password + "\n")
        if self._owner is not None:
            for path in (self.dir, pwfile):
                os.chown(path, self._owner.pw_uid, self._owner.pw_gid)
        result = subprocess.run(
            [str(self.bin / "initdb"), "--pgdata", str(self.dir / "data")]
            + ["--username", SUPERUSER, "--pwfile", str(pwfile), "--auth", "scram-sha-256"]
            + ["--encoding", "UTF8", "--locale", "C.UTF-8", "--no-sync"],
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=PG_START_SECS,
            **self._as_owner(),
        )
        pwfile.unlink()
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{result.stdout}{result.stderr}")

    def _serve(self) -> None:
        settings = PG_SETTINGS | {"port": str(self.port), "unix_socket_directories": str(self.dir)}
        command = [str(self.bin / "postgres"), "-D", str(self.dir / "data")]
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        with self.log.open("wb") as log:
            self._proc = subprocess.Popen(
                command,
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C of the run reaches us, and we stop it after
                preexec_fn=_stop_with_parent,
                **self._as_owner(),
            )

    def _as_owner(self) -> dict[str, Any]:
        if self._owner is None:
            return {}
        return {"user": self._owner.pw_uid, "group": self._owner.pw_gid, "extra_groups": []}

    async def _connect(self) -> asyncpg.Connection:
        deadline = time.monotonic() + PG_START_SECS
        while True:
            assert self._proc is not None
            try:
                return await asyncpg.connect(
                    host="127.0.0.1",
                    port=self.port,
                    user=SUPERUSER,
                    password=self.password,
                    database="postgres",
                )
            except (OSError, asyncpg.CannotConnectNowError):
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "PostgreSQL did not start:\n" + self.log.read_text()
                    ) from None
                await asyncio.sleep(0.05)

    def _make_template(self) -> None:
        self._execute(f'CREATE DATABASE "{TEMPLATE}"')
        assert self._loop is not None
        self._loop.run(_migrate(self.url(TEMPLATE)))

    def _copy_template(self) -> Future[str]:
        assert self._loop is not None
        name = f"test_{next(self._names)}"

        async def copy() -> str:
            await self._admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
            return self.url(name)

        return self._loop.submit(copy())

    def _execute(self, sql: str) -> None:
        assert self._loop is not None
        self._loop.run(self._admin_execute(sql))

    async def _admin_execute(self, sql: str) -> None:
        assert self._admin is not None
        async with self._admin_turn:
            await self._admin.execute(sql)


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await db.upgrade()
    finally:
        await db.dispose()  # a template must have no connections when it is copied


def _stop_with_parent() -> None:
    # Runs in the child after it took the postgres user's ids (which clear the setting) and
    # before exec: the kernel asks the server for a fast shutdown when the test run dies.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGINT)
