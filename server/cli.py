"""The `switchboard` command: serve, migrate, admin create, user create, token create, bot."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import logging.config
import os
import shutil
import signal
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import uvicorn

from inbox import accounts
from inbox.db import Database
from inbox.errors import InboxError
from inbox.models import ROLES
from server.config import Settings
from server.demo import DEMO_PASSWORD, seed_demo
from server.embedded_redis import embedded_redis
from server.flows.setup import SETUP_LINK_HOURS, create_admin, make_setup_link
from server.logs import log_config
from server.passwords import MIN_PASSWORD_CHARS
from server.services import SchemaNotReadyError, open_database
from server.workers import can_spread, serve_workers

logger = logging.getLogger("switchboard")

# Frames above this are refused by the protocol layer; the app answers frames between
# 64 KiB and this with an `error` frame (server/socket/endpoint.py).
WS_MAX_FRAME_BYTES = 1024 * 1024
# uvicorn's socket settings, shared with the tests' server so they run what production runs.
WS_OPTIONS: dict[str, Any] = {
    # The cheapest implementation here, and the one whose transport events are written to
    # directly (server/socket/transport.py, `direct_writer`).
    "ws": "websockets-sansio",
    "ws_max_size": WS_MAX_FRAME_BYTES,
    # Event frames are small and go to many sockets; deflating each copy separately was 13.5 %
    # of the server's time in the locks benchmark, and an uncompressed frame is encoded once.
    "ws_per_message_deflate": False,
}


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        data_dir=getattr(args, "data_dir", None),
        database_url=getattr(args, "database_url", None),
        redis_url=getattr(args, "redis_url", None),
        public_url=getattr(args, "public_url", None),
        demo=True if getattr(args, "demo", False) else None,
        migrate_on_start=True if getattr(args, "migrate", False) else None,
        forwarded_allow_ips=getattr(args, "forwarded_allow_ips", None),
    )


def _database(settings: Settings) -> Database:
    return Database(settings.database_url, settings.pool)


async def _prepare(settings: Settings) -> tuple[bool, str | None]:
    """Open the store (migrating it on SQLite or when asked); then seed the demo team
    (`--demo`), or on a store with no team make the first run's setup link: whether it seeded,
    and the link's secret."""
    try:
        db = await open_database(settings)
    except SchemaNotReadyError as exc:
        raise SystemExit(f"switchboard serve: {exc}") from None
    try:
        if settings.demo:
            return await seed_demo(db), None
        return False, await make_setup_link(db)
    finally:
        await db.dispose()


def _stop(signum: int, frame: object) -> None:
    # uvicorn re-raises the stop signal once it has shut down; exiting (not dying of it) lets
    # the embedded redis-server be stopped and its socket removed.
    raise SystemExit(0)


def serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    problems = settings.split_brain()
    if problems:
        raise SystemExit(
            "switchboard serve will not start with a store other than SQLite (several machines "
            "may serve it) while:\n" + "\n".join(f"- {p}" for p in problems)
        )
    logging_config = log_config(args.log_level, settings.log_format)
    logging.config.dictConfig(logging_config)
    if settings.metrics_token is not None and args.workers > 1:
        settings = settings.with_(metrics_dir=_fresh_metrics_dir(settings))
    signal.signal(signal.SIGTERM, _stop)
    with ExitStack() as stack:
        if not settings.redis_url:
            url = stack.enter_context(embedded_redis(settings.data_dir))
            settings = settings.with_(redis_url=url)
        seeded, setup_secret = asyncio.run(_prepare(settings))
        if seeded:
            _out(
                f"Seeded the demo team: alice (admin), carol (supervisor), bob (agent); "
                f"password {DEMO_PASSWORD!r} (demo only)."
            )
        if setup_secret is not None:
            base = (settings.public_url or f"http://{args.host}:{args.port}").rstrip("/")
            _out(
                f"No team yet. Open {base}/setup/{setup_secret} to create your team and its "
                f"first admin (the link works once, for {SETUP_LINK_HOURS} hours; or run "
                "`switchboard admin create`)."
            )
        os.environ.update(settings.to_env())  # worker processes rebuild the settings from it
        _out(
            f"Switchboard on http://{args.host}:{args.port} "
            f"(SMS: {settings.sms_provider}, data: {settings.data_dir})"
        )
        options: dict[str, Any] = dict(
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            **WS_OPTIONS,
            proxy_headers=bool(settings.public_url),
            forwarded_allow_ips=settings.forwarded_allow_ips,
            log_config=logging_config,
            log_level=args.log_level,
            access_log=False,  # server/logs.py writes one line per request, without its query
            timeout_graceful_shutdown=10,
            # A dead peer is noticed within the presence TTL: pinged every half of it, and
            # dropped when no pong comes within the other half.
            ws_ping_interval=settings.presence_ttl_secs / 2,
            ws_ping_timeout=settings.presence_ttl_secs / 2,
        )
        if args.workers > 1 and can_spread():
            # Each worker on a socket of its own, the kernel spreading connections (workers.py).
            serve_workers(uvicorn.Config("server.app:app_from_env", **options))
        else:
            uvicorn.run("server.app:app_from_env", **options)
    return 0


def _fresh_metrics_dir(settings: Settings) -> Path:
    """The workers' sample files, emptied: those of an earlier run would be added in."""
    path = settings.data_dir / "metrics"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700)
    return path


async def _migrate(settings: Settings) -> tuple[str | None, str | None]:
    db = _database(settings)
    try:
        before = await db.upgrade()
        return before, await db.revision()
    finally:
        await db.dispose()


def migrate(args: argparse.Namespace) -> int:
    """Bring the store's schema to this version's (what a release phase runs, once, before the
    new processes start); processes that run it at once migrate in turn."""
    before, after = asyncio.run(_migrate(_settings(args)))
    if before == after:
        _out(f"The store's schema is up to date ({after}).")
    else:
        _out(f"Migrated the store's schema from {before or 'nothing'} to {after}.")
    return 0


async def _user_create(settings: Settings, args: argparse.Namespace, password: str | None) -> None:
    db = _database(settings)
    try:
        await db.upgrade()
        async with db.write() as session:
            team = await accounts.team_by_name(session, args.team)
            if team is None:
                team = await accounts.create_team(session, args.team)
            assert team.id is not None
            user = await accounts.create_user(
                session, team.id, args.username, args.name or args.username, args.role, password
            )
        _out(f"created {user.role} {user.username} (id {user.id}) in team {team.name}")
    finally:
        await db.dispose()


async def _token_create(settings: Settings, username: str, label: str) -> str:
    db = _database(settings)
    try:
        await db.upgrade()
        async with db.write() as session:
            user = await accounts.user_by_username(session, username)
            assert user.id is not None
            return await accounts.create_token(session, user.id, label)
    finally:
        await db.dispose()


async def _admin_create(settings: Settings, args: argparse.Namespace, password: str) -> None:
    db = _database(settings)
    try:
        await db.upgrade()
        team, user = await create_admin(
            db, args.team, args.username, args.name or args.username, password
        )
        _out(f"created admin {user.username} (id {user.id}) in team {team.name}")
    finally:
        await db.dispose()


def admin_create(args: argparse.Namespace) -> int:
    password = os.environ.get("SWITCHBOARD_PASSWORD") or getpass.getpass("Password: ")
    if len(password) < MIN_PASSWORD_CHARS:
        sys.stderr.write(f"switchboard: the password needs {MIN_PASSWORD_CHARS} characters\n")
        return 2
    asyncio.run(_admin_create(_settings(args), args, password))
    return 0


def user_create(args: argparse.Namespace) -> int:
    password = None
    if args.role != "bot":
        password = os.environ.get("SWITCHBOARD_PASSWORD") or getpass.getpass("Password: ")
    asyncio.run(_user_create(_settings(args), args, password))
    return 0


def token_create(args: argparse.Namespace) -> int:
    token = asyncio.run(_token_create(_settings(args), args.user, args.label))
    _out(f"Token for {args.user} (shown once; keep it secret):")
    _out(token)
    return 0


def bot(args: argparse.Namespace) -> int:
    from bots.rules import Bot, Rules

    token = args.token or os.environ.get("SWITCHBOARD_BOT_TOKEN")
    if not token:
        raise SystemExit("switchboard bot needs --token or SWITCHBOARD_BOT_TOKEN")
    try:
        asyncio.run(Bot(args.url.rstrip("/"), token, Rules.load(Path(args.rules))).run())
    except KeyboardInterrupt:
        pass
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="where the SQLite file, secret key and socket live")
    common.add_argument("--database-url", help="SQLAlchemy URL (default: SQLite in the data dir)")
    parser = argparse.ArgumentParser(prog="switchboard", description="Self-hosted shared SMS inbox")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the server", parents=[common])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    p.add_argument("--workers", type=int, default=1, help="processes sharing Redis and the store")
    p.add_argument("--redis-url", help="Redis URL (default: start the embedded redis-server)")
    p.add_argument("--public-url", help="the URL Twilio reaches this server at")
    p.add_argument("--demo", action="store_true", help="seed a demo team when the store is empty")
    p.add_argument(
        "--migrate",
        action="store_true",
        help="migrate the schema at start (always on SQLite; else `switchboard migrate` does it)",
    )
    p.add_argument(
        "--forwarded-allow-ips",
        help="addresses whose X-Forwarded-* headers are trusted (the load balancer's; '*': any)",
    )
    p.add_argument("--log-level", default="info")
    p.set_defaults(func=serve)

    admin = sub.add_parser("admin", help="manage admins").add_subparsers(
        dest="action", required=True
    )
    p = admin.add_parser(
        "create",
        parents=[common],
        help="create an admin, and the team when there is none yet (password from "
        "SWITCHBOARD_PASSWORD, or asked for)",
    )
    p.add_argument("--username", required=True)
    p.add_argument("--name")
    p.add_argument("--team", help="the team's name (default: the only team, or a new one)")
    p.set_defaults(func=admin_create)
    p = sub.add_parser(
        "migrate",
        parents=[common],
        help="bring the store's schema to this version's",
    )
    p.set_defaults(func=migrate)

    user = sub.add_parser("user", help="manage users").add_subparsers(dest="action", required=True)
    p = user.add_parser(
        "create",
        parents=[common],
        help="create a user (password from SWITCHBOARD_PASSWORD, or asked for)",
    )
    p.add_argument("--username", required=True)
    p.add_argument("--name")
    p.add_argument("--role", default="agent", choices=ROLES)
    p.add_argument("--team", default="Default")
    p.set_defaults(func=user_create)

    token = sub.add_parser("token", help="manage API tokens").add_subparsers(
        dest="action", required=True
    )
    p = token.add_parser("create", parents=[common], help="make an API token (last line printed)")
    p.add_argument("--user", required=True)
    p.add_argument("--label", default="")
    p.set_defaults(func=token_create)

    p = sub.add_parser("bot", help="run the example rules bot on the socket bus")
    p.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:8000")
    p.add_argument("--token", help="the bot user's API token (or SWITCHBOARD_BOT_TOKEN)")
    p.add_argument("--rules", required=True, help="JSON rules file (see bots/rules.py)")
    p.set_defaults(func=bot)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except InboxError as exc:
        sys.stderr.write(f"switchboard: {exc.message}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
