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


def test_a_media_link_must_outlive_the_retry_schedule_and_the_bucket_keeps_its_secret(
    tmp_path: Path,
) -> None:
    # Ten attempts from 60 s doubling (at most 120 s) take about 17 minutes, plus a claim.
    slow = {"SWITCHBOARD_SEND_BACKOFF": "60", "SWITCHBOARD_MEDIA_URL_SECS": "600"}
    with pytest.raises(ValueError, match="SWITCHBOARD_MEDIA_URL_SECS"):
        Settings.from_env(slow, data_dir=tmp_path)
    env = {
        "SWITCHBOARD_S3_BUCKET": "media",
        "SWITCHBOARD_S3_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "SWITCHBOARD_S3_SECRET_ACCESS_KEY": "wJalrXUtnFEMI",
        "SWITCHBOARD_MEDIA_URL_SECS": "7200",
    }
    settings = Settings.from_env(env, data_dir=tmp_path)
    assert "wJalrXUtnFEMI" not in repr(settings)  # a Secret: never printed or logged
    assert (settings.s3_bucket, settings.media_url_secs) == ("media", 7200.0)
    again = Settings.from_env(settings.to_env(), data_dir=tmp_path)  # a worker process's
    assert str(again.s3_secret_access_key) == "wJalrXUtnFEMI"
    assert again.s3_access_key_id == "AKIDEXAMPLE"
