"""Settings from the environment (server/config.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.config import Settings


def test_the_deployment_is_named_after_the_store_without_its_password(tmp_path: Path) -> None:
    def named(url: str, **env: str) -> str:
        return Settings.from_env(
            {"SWITCHBOARD_DATABASE_URL": url, **env}, data_dir=tmp_path
        ).deployment_name

    pg = "postgresql+asyncpg://switchboard:{}@db.internal/switchboard"
    assert named(pg.format("old")) == named(pg.format("rotated"))  # a rolling password change
    assert named(pg.format("old")) != named(pg.format("old") + "_staging")
    assert named(pg.format("old"), SWITCHBOARD_DEPLOYMENT="blue") == "blue"
    assert "old" not in named(pg.format("old"))


def test_a_deployment_name_that_cannot_be_a_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="SWITCHBOARD_DEPLOYMENT"):
        Settings.from_env({"SWITCHBOARD_DEPLOYMENT": "two words"}, data_dir=tmp_path)
