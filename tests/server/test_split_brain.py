"""`switchboard serve` refuses a configuration whose machines would each go their own way
(docs/deploy.md, "Many machines"): a shared store (anything but SQLite) with no shared Redis, or
with no shared secret key. The real command, before it touches the store or starts anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from server.config import Settings, asyncpg_url
from tests.helpers import free_port
from tests.server.test_cli import _env

# Nothing listens there: a refusal that came from trying it would be a different error.
UNREACHABLE_STORE = "postgresql+asyncpg://switchboard:secret@127.0.0.1:9/switchboard"
START_SECS = 60.0  # a hang guard: one Python loading the app


def serve(data_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "server.cli", "serve", "--port", str(free_port())]
    command += ["--data-dir", str(data_dir)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=START_SECS)


def without(env: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in names}


def test_a_shared_store_without_a_shared_redis_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = serve(data, without(_env(UNREACHABLE_STORE), "SWITCHBOARD_REDIS_URL"))
    assert result.returncode != 0
    assert "SWITCHBOARD_REDIS_URL is not set" in result.stderr
    assert "locks and presence would split between machines" in result.stderr
    assert "SWITCHBOARD_SECRET_KEY" not in result.stderr  # that one was given
    assert "Traceback" not in result.stderr
    assert not (data / "redis.log").exists()  # no private Redis was started


def test_a_shared_store_without_a_shared_secret_key_is_refused(
    tmp_path: Path, clean_redis: str
) -> None:
    data = tmp_path / "data"
    env = without(_env(UNREACHABLE_STORE, clean_redis), "SWITCHBOARD_SECRET_KEY")
    result = serve(data, env)
    assert result.returncode != 0
    assert "SWITCHBOARD_SECRET_KEY is not set" in result.stderr
    assert "SWITCHBOARD_REDIS_URL" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_platforms_database_and_redis_urls_are_used_as_ours(tmp_path: Path) -> None:
    platform = {
        "DATABASE_URL": "postgres://u:p%40ss@db.internal:5432/sb?sslmode=require",
        "REDIS_URL": "redis://redis.internal:6379",
    }
    settings = Settings.from_env(platform, data_dir=tmp_path)
    assert settings.database_url == "postgresql+asyncpg://u:p%40ss@db.internal:5432/sb?ssl=require"
    assert settings.redis_url == "redis://redis.internal:6379"
    assert not settings.secret_key_shared  # and so `serve` would still refuse: no shared key
    assert [p.split(":")[0] for p in settings.split_brain()] == [
        "SWITCHBOARD_SECRET_KEY is not set"
    ]
    ours = platform | {"SWITCHBOARD_DATABASE_URL": "sqlite+aiosqlite:///x.db"}
    assert Settings.from_env(ours, data_dir=tmp_path).database_url == "sqlite+aiosqlite:///x.db"


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("postgresql+asyncpg://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("sqlite+aiosqlite:////srv/sb.db", "sqlite+aiosqlite:////srv/sb.db"),
    ],
)
def test_store_urls_get_the_async_driver(given: str, used: str) -> None:
    assert asyncpg_url(given) == used
