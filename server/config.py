"""Settings from the environment (DESIGN.md, "Configuration"); the only module that reads it."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.datastructures import Secret

from inbox.models import utcnow
from inbox.providers.twilio import TWILIO_API_URL


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a number of seconds, not {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str | None  # None: start the embedded redis-server
    secret_key: Secret
    public_url: str | None  # None: the URL requests arrive at
    twilio_account_sid: str | None
    twilio_auth_token: Secret | None
    twilio_api_url: str = TWILIO_API_URL
    lock_ttl: float = 120.0
    lock_idle_after: float = 60.0
    lock_grace: float = 30.0
    presence_ttl: float = 30.0
    presence_away_after: float = 300.0  # no input on any connection for this long: "away"
    event_retention_days: float = 7.0
    demo: bool = False
    # Backoff before the first resend of a text the provider failed to take (doubles each time).
    send_backoff_secs: float = 0.5
    twilio_timeout_secs: float = 15.0
    send_queue_frames: int = 1024  # per socket; a client this far behind is closed (4008)
    # What time it is (aware UTC); tests replace it to cross out-of-office boundaries at once.
    clock: Callable[[], datetime] = utcnow
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sms_provider(self) -> str:
        return "twilio" if self.twilio_account_sid and self.twilio_auth_token else "sandbox"

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        overrides = {k: v for k, v in overrides.items() if v is not None}
        data_dir = Path(
            overrides.pop("data_dir", None) or env.get("SWITCHBOARD_DATA_DIR") or ".switchboard"
        )
        data_dir = data_dir.resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        token = env.get("TWILIO_AUTH_TOKEN")
        values: dict[str, Any] = {
            "data_dir": data_dir,
            "database_url": env.get("SWITCHBOARD_DATABASE_URL")
            or f"sqlite+aiosqlite:///{data_dir / 'switchboard.db'}",
            "redis_url": env.get("SWITCHBOARD_REDIS_URL") or None,
            "secret_key": Secret(env.get("SWITCHBOARD_SECRET_KEY") or _kept_secret(data_dir)),
            "public_url": (env.get("SWITCHBOARD_PUBLIC_URL") or "").rstrip("/") or None,
            "twilio_account_sid": env.get("TWILIO_ACCOUNT_SID") or None,
            "twilio_auth_token": Secret(token) if token else None,
            "twilio_api_url": env.get("SWITCHBOARD_TWILIO_API_URL") or TWILIO_API_URL,
            "lock_ttl": _float(env, "SWITCHBOARD_LOCK_TTL", 120.0),
            "lock_idle_after": _float(env, "SWITCHBOARD_LOCK_IDLE_AFTER", 60.0),
            "lock_grace": _float(env, "SWITCHBOARD_LOCK_GRACE", 30.0),
            "presence_ttl": _float(env, "SWITCHBOARD_PRESENCE_TTL", 30.0),
            "presence_away_after": _float(env, "SWITCHBOARD_PRESENCE_AWAY_AFTER", 300.0),
            "event_retention_days": _float(env, "SWITCHBOARD_EVENT_RETENTION_DAYS", 7.0),
            "twilio_timeout_secs": _float(env, "SWITCHBOARD_TWILIO_TIMEOUT", 15.0),
            "send_queue_frames": int(_float(env, "SWITCHBOARD_SEND_QUEUE_FRAMES", 1024)),
            "demo": env.get("SWITCHBOARD_DEMO", "") in ("1", "true", "yes"),
        }
        values.update(overrides)
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The environment that makes `from_env` give these settings back (for worker processes)."""
        env = {
            "SWITCHBOARD_DATA_DIR": str(self.data_dir),
            "SWITCHBOARD_DATABASE_URL": self.database_url,
            "SWITCHBOARD_SECRET_KEY": str(self.secret_key),
            "SWITCHBOARD_TWILIO_API_URL": self.twilio_api_url,
            "SWITCHBOARD_LOCK_TTL": str(self.lock_ttl),
            "SWITCHBOARD_LOCK_IDLE_AFTER": str(self.lock_idle_after),
            "SWITCHBOARD_LOCK_GRACE": str(self.lock_grace),
            "SWITCHBOARD_PRESENCE_TTL": str(self.presence_ttl),
            "SWITCHBOARD_PRESENCE_AWAY_AFTER": str(self.presence_away_after),
            "SWITCHBOARD_EVENT_RETENTION_DAYS": str(self.event_retention_days),
            "SWITCHBOARD_TWILIO_TIMEOUT": str(self.twilio_timeout_secs),
            "SWITCHBOARD_SEND_QUEUE_FRAMES": str(self.send_queue_frames),
            "SWITCHBOARD_DEMO": "1" if self.demo else "",
        }
        if self.redis_url:
            env["SWITCHBOARD_REDIS_URL"] = self.redis_url
        if self.public_url:
            env["SWITCHBOARD_PUBLIC_URL"] = self.public_url
        if self.twilio_account_sid:
            env["TWILIO_ACCOUNT_SID"] = self.twilio_account_sid
        if self.twilio_auth_token:
            env["TWILIO_AUTH_TOKEN"] = str(self.twilio_auth_token)
        return env


def _kept_secret(data_dir: Path) -> str:
    """The secret key kept in the data dir, made on first use (readable by the owner only)."""
    path = data_dir / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
