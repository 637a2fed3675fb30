"""Fixtures of the fault suite (docs/reliability.md); its parts are in tests/faults/parts.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.parts import App, PrivateRedis


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    yield redis
    redis.kill()


@pytest.fixture
def app(tmp_path: Path, database_url: str, private_redis: PrivateRedis) -> Iterator[App]:
    server = App(tmp_path / "data", database_url, private_redis.url)
    server.start()
    yield server
    server.stop()
