"""Settings from the environment (DESIGN.md, "Configuration"); the only module that reads it.
Each setting's default is written once, on its field; `_FROM_ENV` names the variable of each."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from starlette.datastructures import Secret

from inbox.db import Pool
from inbox.delivery import Schedule
from inbox.models import utcnow
from inbox.numbers import Lifetimes
from inbox.providers.twilio import TWILIO_API_URL
from presence.locks import LockTimings
from realtime.connections import SEND_QUEUE_FRAMES

# A claim is used only while this much of it is left besides the calls themselves: what the
# processes' clocks may disagree by (NTP keeps them within milliseconds), and then some.
CLAIM_MARGIN_SECS = 1.0


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
    # False when SWITCHBOARD_SECRET_KEY was unset and the key was made in (or read from) the
    # data dir: fine for the processes of one machine, a split brain across several.
    secret_key_shared: bool = True
    # Migrate the schema at start: None means only on SQLite (one machine); with PostgreSQL
    # `switchboard migrate` (a release phase) does it once, before the processes start.
    migrate_on_start: bool | None = None
    # Connections each process keeps to PostgreSQL (no overflow: processes x this is what
    # max_connections must cover, docs/deploy.md), how long a new one may take, and how long
    # one statement may run (a write waiting for the write lock included, as SQLite's busy
    # timeout bounds it): /healthz and requests fail instead of hanging on a lost server.
    database_pool_size: int = 10
    database_connect_timeout_secs: float = 5.0
    database_statement_timeout_secs: float = 30.0
    # Addresses whose X-Forwarded-* headers are believed (uvicorn's list; "*" for any): the
    # load balancer's, so client addresses (the login throttle, the log) are the real ones.
    forwarded_allow_ips: str = "127.0.0.1"
    # The bearer token Prometheus sends to scrape /metrics; None: /metrics is off (404).
    metrics_token: Secret | None = None
    # Where the worker processes of `serve --workers N` keep their samples (prometheus-client's
    # multiprocess mode; `serve` sets it); None: one process, counted in memory.
    metrics_dir: Path | None = None
    log_format: str = "text"  # or "json": one JSON object per line
    lock_ttl_secs: float = 120.0
    lock_idle_after_secs: float = 60.0  # no activity for this long: the holder is asked
    lock_grace_secs: float = 30.0  # no answer to the idle prompt for this long: released
    presence_ttl_secs: float = 30.0  # a connection silent for this long counts as gone
    presence_away_after_secs: float = 300.0  # no input on any connection for this long: away
    event_retention_days: float = 7.0
    demo: bool = False
    # The outbox's retry schedule (inbox/delivery.py): the wait after a text's first failed
    # attempt, doubling (at most two minutes), and the attempts after which it ends `failed`.
    # The defaults try for about six minutes: a brief Twilio outage passes unnoticed, a long
    # one shows the agent a failed text while the customer still expects an answer.
    send_backoff_secs: float = 1.0
    send_attempts: int = 10
    # How long a process's claim on the texts it is sending lasts; a process that died holding
    # one leaves them to the others (or to itself, restarted) this long after. It must cover a
    # look-up and a send at the Twilio timeout each (checked below).
    outbox_claim_secs: float = 60.0
    twilio_timeout_secs: float = 15.0
    # How long the signed URL a sent picture is fetched from stays good. Each attempt signs it
    # anew, but a text Twilio took may wait in its queue for hours (its validity period is at
    # most 10 hours) before Twilio fetches the picture: a day covers that and the retries.
    media_url_secs: float = 24 * 3600.0
    # Where pictures' bytes live: the data dir, or this S3-compatible bucket when one is named
    # (server/storage/s3.py; the bucket must exist). An empty endpoint: AWS's own.
    s3_bucket: str = ""
    s3_endpoint: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: Secret | None = None
    # How long a Twilio webhook waits for the store before it is kept in the data dir instead
    # (server/spool.py): well inside the 15 s Twilio gives a webhook.
    webhook_store_wait_secs: float = 5.0
    send_queue_frames: int = SEND_QUEUE_FRAMES  # per socket; this far behind, it is closed (4008)
    # Frames a second per browser socket, and the burst it may spend at once: a person types
    # and clicks far below 20 commands a second; a burst of 40 covers a reconnect.
    socket_rate_per_sec: float = 20.0
    socket_burst: float = 40.0
    # The same for a program's socket (a token: bots, scripts). A bot serving a busy inbox
    # takes, sends and releases for each text; see docs/reliability.md, "Rate limits".
    bot_socket_rate_per_sec: float = 200.0
    bot_socket_burst: float = 400.0
    # The deployment's name in every Redis key and channel; empty: derived from the store URL,
    # so the processes of one store find each other and another store's never do.
    deployment: str = ""
    # Browser sessions: unused for this long (no request, no open socket), or this old, ended.
    session_idle_days: float = 7.0
    session_max_days: float = 30.0
    # Failed logins (docs/security.md, "Logins"): this many per username, or per client
    # address, are free; each one after refuses the next attempt for a delay that starts at
    # login_delay_secs and doubles up to login_max_delay_secs. A counter is forgotten after
    # login_failure_window_secs without a failure. Bad API tokens count per address.
    login_user_failures: int = 5
    login_address_failures: int = 20
    token_address_failures: int = 20
    login_delay_secs: float = 1.0
    login_max_delay_secs: float = 900.0
    login_failure_window_secs: float = 3600.0
    # The phone-number lifecycle (DESIGN.md, "Configuration"), in days: an assigned number with
    # no text in or out for this long is released (seed 000: six months), one with no inbox
    # sooner (three months), and admins are warned this long before (from month 5).
    number_idle_release_days: float = 182.0
    unassigned_release_days: float = 91.0
    number_release_warning_days: float = 30.0
    # Seed 000: an inbound text after this long without a text in its conversation starts a
    # new thread there (a divider with its start date).
    thread_days: float = 30.0
    # How often a pending carrier registration is polled (Twilio's reviews take days).
    registration_poll_secs: float = 60.0
    # The sandbox's review: brand approved at half, campaign verified at the end.
    sandbox_review_secs: float = 60.0
    # The account's primary TrustHub customer profile, which Twilio requires in production
    # for a secondary profile (a brand) to be approved.
    twilio_primary_profile_sid: str | None = None
    # What time it is (aware UTC); tests replace it to cross out-of-office boundaries at once.
    clock: Callable[[], datetime] = utcnow
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        needed = 2 * self.twilio_timeout_secs + CLAIM_MARGIN_SECS
        if self.outbox_claim_secs <= needed:
            raise ValueError(
                f"SWITCHBOARD_OUTBOX_CLAIM ({self.outbox_claim_secs:g} s) must be more than twice "
                f"SWITCHBOARD_TWILIO_TIMEOUT plus {CLAIM_MARGIN_SECS:g} s ({needed:g} s): a claim "
                "must outlast a look-up and a send"
            )
        longest = self.send_schedule.total_secs() + self.outbox_claim_secs
        if self.media_url_secs <= longest:
            raise ValueError(
                f"SWITCHBOARD_MEDIA_URL_SECS ({self.media_url_secs:g} s) must be more than the "
                f"outbox's retry schedule and a claim ({longest:g} s)"
            )
        if self.send_attempts < 1:
            raise ValueError("SWITCHBOARD_SEND_ATTEMPTS must be at least 1")

    @property
    def sms_provider(self) -> str:
        return "twilio" if self.twilio_account_sid and self.twilio_auth_token else "sandbox"

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "sqlite"

    @property
    def migrates_on_start(self) -> bool:
        return self.is_sqlite if self.migrate_on_start is None else self.migrate_on_start

    @property
    def pool(self) -> Pool:
        return Pool(
            self.database_pool_size,
            self.database_connect_timeout_secs,
            self.database_statement_timeout_secs,
        )

    def split_brain(self) -> list[str]:
        """What would make processes on several machines disagree: each would start its own
        Redis (locks and presence split between machines) or make its own secret key (a
        cookie from one refused by the next). A store other than SQLite means several
        machines may serve, so both must be given."""
        if self.is_sqlite:
            return []
        problems = []
        if not self.redis_url:
            problems.append(
                "SWITCHBOARD_REDIS_URL is not set: each machine would start a private Redis, "
                "and locks and presence would split between machines; set it to the one "
                "Redis every process shares"
            )
        if not self.secret_key_shared:
            problems.append(
                "SWITCHBOARD_SECRET_KEY is not set: each machine would make its own, and a "
                "session cookie from one would be refused by the next; set the same long "
                "random value on every process (for example: python3 -c "
                '"import secrets; print(secrets.token_urlsafe(48))")'
            )
        return problems

    @property
    def deployment_name(self) -> str:
        return self.deployment or deployment_of(self.database_url)

    @property
    def send_schedule(self) -> Schedule:
        return Schedule(self.send_backoff_secs, self.send_attempts)

    @property
    def number_lifetimes(self) -> Lifetimes:
        return Lifetimes(
            self.number_idle_release_days,
            self.unassigned_release_days,
            self.number_release_warning_days,
        )

    @property
    def lock_timings(self) -> LockTimings:
        return LockTimings(self.lock_ttl_secs, self.lock_idle_after_secs, self.lock_grace_secs)

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
        metrics_token = env.get("SWITCHBOARD_METRICS_TOKEN")
        secret = env.get("SWITCHBOARD_SECRET_KEY")
        # A platform's own variables (Heroku, Render, Dokku...) when ours are unset.
        database_url = overrides.pop("database_url", None) or (
            env.get("SWITCHBOARD_DATABASE_URL") or env.get("DATABASE_URL")
        )
        s3_secret = env.get("SWITCHBOARD_S3_SECRET_ACCESS_KEY")
        values: dict[str, Any] = {
            "data_dir": data_dir,
            "database_url": asyncpg_url(database_url)
            if database_url
            else f"sqlite+aiosqlite:///{data_dir / 'switchboard.db'}",
            "redis_url": env.get("SWITCHBOARD_REDIS_URL") or env.get("REDIS_URL") or None,
            "secret_key": Secret(secret or _kept_secret(data_dir)),
            "secret_key_shared": bool(secret),
            "metrics_token": Secret(metrics_token) if metrics_token else None,
            "metrics_dir": Path(env["PROMETHEUS_MULTIPROC_DIR"])
            if env.get("PROMETHEUS_MULTIPROC_DIR")
            else None,
            "migrate_on_start": _switch(env, "SWITCHBOARD_MIGRATE"),
            "forwarded_allow_ips": env.get("SWITCHBOARD_FORWARDED_ALLOW_IPS")
            or env.get("FORWARDED_ALLOW_IPS")  # uvicorn's own name for it
            or "127.0.0.1",
            "public_url": (env.get("SWITCHBOARD_PUBLIC_URL") or "").rstrip("/") or None,
            "twilio_account_sid": env.get("TWILIO_ACCOUNT_SID") or None,
            "twilio_auth_token": Secret(token) if token else None,
            "s3_secret_access_key": Secret(s3_secret) if s3_secret else None,
            "demo": env.get("SWITCHBOARD_DEMO", "") in ("1", "true", "yes"),
        }
        for name, variable in _FROM_ENV.items():
            raw = env.get(variable)
            if raw not in (None, ""):
                values[name] = _cast(name, variable, raw)
        values.update(overrides)
        for name in ("socket_rate_per_sec", "bot_socket_rate_per_sec"):
            if name in values and values[name] <= 0:
                raise SystemExit(f"{_FROM_ENV[name]} must be above 0")
        for name in ("socket_burst", "bot_socket_burst"):
            if name in values and values[name] < 1:
                raise SystemExit(f"{_FROM_ENV[name]} must be at least 1 (one frame)")
        if values.get("log_format", "text") not in LOG_FORMATS:
            raise SystemExit(f"SWITCHBOARD_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
        if values.get("database_pool_size", 1) < 1:
            raise SystemExit("SWITCHBOARD_DATABASE_POOL_SIZE must be at least 1")
        if not DEPLOYMENT_NAME.fullmatch(values.get("deployment", "x")):
            raise SystemExit(
                "SWITCHBOARD_DEPLOYMENT must be 1-64 letters, digits, '.', '_' or '-', "
                f"not {values['deployment']!r}"
            )
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The environment that makes `from_env` give these settings back (for worker processes)."""
        env = {
            "SWITCHBOARD_DATA_DIR": str(self.data_dir),
            "SWITCHBOARD_DATABASE_URL": self.database_url,
            "SWITCHBOARD_SECRET_KEY": str(self.secret_key),
            "SWITCHBOARD_DEMO": "1" if self.demo else "",
            "SWITCHBOARD_FORWARDED_ALLOW_IPS": self.forwarded_allow_ips,
        }
        if self.migrate_on_start is not None:
            env["SWITCHBOARD_MIGRATE"] = "1" if self.migrate_on_start else "0"
        if self.metrics_token:
            env["SWITCHBOARD_METRICS_TOKEN"] = str(self.metrics_token)
        if self.metrics_dir:
            env["PROMETHEUS_MULTIPROC_DIR"] = str(self.metrics_dir)
        env |= {
            variable: str(getattr(self, name))
            for name, variable in _FROM_ENV.items()
            if getattr(self, name) is not None
        }
        if self.redis_url:
            env["SWITCHBOARD_REDIS_URL"] = self.redis_url
        if self.public_url:
            env["SWITCHBOARD_PUBLIC_URL"] = self.public_url
        if self.twilio_account_sid:
            env["TWILIO_ACCOUNT_SID"] = self.twilio_account_sid
        if self.twilio_auth_token:
            env["TWILIO_AUTH_TOKEN"] = str(self.twilio_auth_token)
        if self.s3_secret_access_key:
            env["SWITCHBOARD_S3_SECRET_ACCESS_KEY"] = str(self.s3_secret_access_key)
        return env


# Settings read from one variable each, cast to their field's type (the default is the field's).
_FROM_ENV = {
    "twilio_api_url": "SWITCHBOARD_TWILIO_API_URL",
    "lock_ttl_secs": "SWITCHBOARD_LOCK_TTL",
    "lock_idle_after_secs": "SWITCHBOARD_LOCK_IDLE_AFTER",
    "lock_grace_secs": "SWITCHBOARD_LOCK_GRACE",
    "presence_ttl_secs": "SWITCHBOARD_PRESENCE_TTL",
    "presence_away_after_secs": "SWITCHBOARD_PRESENCE_AWAY_AFTER",
    "event_retention_days": "SWITCHBOARD_EVENT_RETENTION_DAYS",
    "twilio_timeout_secs": "SWITCHBOARD_TWILIO_TIMEOUT",
    "media_url_secs": "SWITCHBOARD_MEDIA_URL_SECS",
    "s3_bucket": "SWITCHBOARD_S3_BUCKET",
    "s3_endpoint": "SWITCHBOARD_S3_ENDPOINT",
    "s3_region": "SWITCHBOARD_S3_REGION",
    "s3_access_key_id": "SWITCHBOARD_S3_ACCESS_KEY_ID",
    "send_backoff_secs": "SWITCHBOARD_SEND_BACKOFF",
    "send_attempts": "SWITCHBOARD_SEND_ATTEMPTS",
    "outbox_claim_secs": "SWITCHBOARD_OUTBOX_CLAIM",
    "webhook_store_wait_secs": "SWITCHBOARD_WEBHOOK_STORE_WAIT",
    "send_queue_frames": "SWITCHBOARD_SEND_QUEUE_FRAMES",
    "socket_rate_per_sec": "SWITCHBOARD_SOCKET_RATE",
    "socket_burst": "SWITCHBOARD_SOCKET_BURST",
    "bot_socket_rate_per_sec": "SWITCHBOARD_BOT_SOCKET_RATE",
    "bot_socket_burst": "SWITCHBOARD_BOT_SOCKET_BURST",
    "deployment": "SWITCHBOARD_DEPLOYMENT",
    "session_idle_days": "SWITCHBOARD_SESSION_IDLE_DAYS",
    "session_max_days": "SWITCHBOARD_SESSION_MAX_DAYS",
    "login_user_failures": "SWITCHBOARD_LOGIN_USER_FAILURES",
    "login_address_failures": "SWITCHBOARD_LOGIN_ADDRESS_FAILURES",
    "token_address_failures": "SWITCHBOARD_TOKEN_ADDRESS_FAILURES",
    "login_delay_secs": "SWITCHBOARD_LOGIN_DELAY",
    "login_max_delay_secs": "SWITCHBOARD_LOGIN_MAX_DELAY",
    "login_failure_window_secs": "SWITCHBOARD_LOGIN_FAILURE_WINDOW",
    "database_pool_size": "SWITCHBOARD_DATABASE_POOL_SIZE",
    "database_connect_timeout_secs": "SWITCHBOARD_DATABASE_CONNECT_TIMEOUT",
    "database_statement_timeout_secs": "SWITCHBOARD_DATABASE_STATEMENT_TIMEOUT",
    "log_format": "SWITCHBOARD_LOG_FORMAT",
    "number_idle_release_days": "SWITCHBOARD_NUMBER_IDLE_RELEASE_DAYS",
    "unassigned_release_days": "SWITCHBOARD_UNASSIGNED_RELEASE_DAYS",
    "number_release_warning_days": "SWITCHBOARD_NUMBER_RELEASE_WARNING_DAYS",
    "thread_days": "SWITCHBOARD_THREAD_DAYS",
    "registration_poll_secs": "SWITCHBOARD_REGISTRATION_POLL",
    "sandbox_review_secs": "SWITCHBOARD_SANDBOX_REVIEW",
    "twilio_primary_profile_sid": "SWITCHBOARD_TWILIO_PRIMARY_PROFILE",
}
# Every variable the settings read (compose.yaml and the docs may name no other).
VARIABLES = frozenset(_FROM_ENV.values()) | {
    "SWITCHBOARD_DATA_DIR",
    "SWITCHBOARD_DATABASE_URL",
    "SWITCHBOARD_REDIS_URL",
    "SWITCHBOARD_SECRET_KEY",
    "SWITCHBOARD_PUBLIC_URL",
    "SWITCHBOARD_DEMO",
    "SWITCHBOARD_MIGRATE",
    "SWITCHBOARD_METRICS_TOKEN",
    "PROMETHEUS_MULTIPROC_DIR",
    "SWITCHBOARD_FORWARDED_ALLOW_IPS",
    "FORWARDED_ALLOW_IPS",
    "DATABASE_URL",
    "REDIS_URL",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "PORT",
}
LOG_FORMATS = ("text", "json")
_TYPES = {f.name: f.type for f in fields(Settings)}


def _cast(name: str, variable: str, raw: str) -> Any:
    kind = _TYPES[name]
    if kind in ("str", "str | None"):
        return raw
    try:
        number = float(raw)
    except ValueError as exc:
        raise SystemExit(f"{variable} must be a number, not {raw!r}") from exc
    if kind == "int":
        if not number.is_integer():
            raise SystemExit(f"{variable} must be a whole number, not {raw!r}")
        return int(number)
    return number


DEPLOYMENT_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _switch(env: Mapping[str, str], variable: str) -> bool | None:
    raw = env.get(variable, "").strip().lower()
    if raw == "":
        return None
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"{variable} must be 1 or 0, not {raw!r}")


def asyncpg_url(url: str) -> str:
    """A PostgreSQL URL as platforms spell it (`postgres://`, `postgresql://`, `sslmode=`)
    made the asyncpg driver's; any other URL as it is."""
    parsed = make_url(url)
    if parsed.drivername not in ("postgres", "postgresql"):
        return url
    query = dict(parsed.query)
    if "sslmode" in query:  # libpq's name; asyncpg calls it ssl
        query["ssl"] = query.pop("sslmode")
    parsed = parsed.set(drivername="postgresql+asyncpg", query=query)
    return parsed.render_as_string(hide_password=False)


def deployment_of(database_url: str) -> str:
    """A deployment name for a store: a digest of its URL without the password (which may be
    rotated between two processes of one deployment), a SQLite path made absolute."""
    url = make_url(database_url)._replace(password=None)  # set() keeps a None field
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        url = url.set(database=str(Path(url.database or "").resolve()))
    rendered = url.render_as_string(hide_password=False)
    return "db-" + hashlib.sha256(rendered.encode()).hexdigest()[:12]


def _kept_secret(data_dir: Path) -> str:
    """The secret key kept in the data dir, made on first use (readable by the owner only)."""
    path = data_dir / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
