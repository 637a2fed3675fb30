"""The schema as an operator migrates it (docs/deploy.md, "Schema"): `switchboard migrate` (a
release phase), `alembic upgrade head` from the repo, both under the store's write lock so that
processes started at once migrate in turn; `serve` migrates only on SQLite or when asked, and
otherwise refuses a store whose schema is not this version's, saying what to run."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select

from inbox.db import WRITE_LOCK_KEY, head_revision
from inbox.models import Team
from tests.conftest import STORE
from tests.faults.test_store_connections import WAITING_FOR_THE_WRITE_LOCK, asyncpg_dsn
from tests.helpers import SERVE_START_SECS, free_port, open_store
from tests.server.test_cli import _env

REPO = Path(__file__).resolve().parent.parent.parent
AT_ONCE = 3  # the three processes started together on an empty database


async def run_at_once(commands: list[list[str]], env: dict[str, str]) -> list[tuple[int, str, str]]:
    """Start every command, each loaded and waiting, then let them go together; their exit
    codes and output."""
    processes = [
        await asyncio.create_subprocess_exec(
            *command,
            cwd=REPO,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for command in commands
    ]
    async with asyncio.timeout(SERVE_START_SECS * 2):
        outputs = [await proc.communicate() for proc in processes]
    return [
        (proc.returncode or 0, out.decode(), err.decode())
        for proc, (out, err) in zip(processes, outputs, strict=True)
    ]


async def revision_of(database_url: str) -> str | None:
    async with open_store(database_url) as db:
        return await db.revision()


def migrate_command(data_dir: Path) -> list[str]:
    return [sys.executable, "-m", "server.cli", "migrate", "--data-dir", str(data_dir)]


async def test_three_migrate_commands_at_once_on_an_empty_store_all_succeed(
    tmp_path: Path, empty_database_url: str
) -> None:
    results = await run_at_once(
        [migrate_command(tmp_path / f"data{i}") for i in range(AT_ONCE)],
        _env(empty_database_url),
    )
    assert [code for code, _, _ in results] == [0] * AT_ONCE, results
    assert not [err for _, _, err in results if "Error" in err or "Traceback" in err]
    said = sorted(out.strip() for _, out, _ in results)
    head = head_revision()
    # One did the work; the others waited for its lock and found nothing left to do.
    assert said == [f"Migrated the store's schema from nothing to {head}."] + [
        f"The store's schema is up to date ({head})."
    ] * (AT_ONCE - 1)
    assert await revision_of(empty_database_url) == head
    async with open_store(empty_database_url) as db, db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Team)) == 0


async def test_alembic_upgrade_head_from_the_repo_migrates_the_store_the_app_names(
    tmp_path: Path, empty_database_url: str
) -> None:
    alembic = str(Path(sys.executable).with_name("alembic"))
    env = _env(empty_database_url) | {"SWITCHBOARD_DATA_DIR": str(tmp_path / "data")}
    results = await run_at_once([[alembic, "upgrade", "head"]] * AT_ONCE, env)
    assert [code for code, _, _ in results] == [0] * AT_ONCE, results
    assert await revision_of(empty_database_url) == head_revision()
    # Read back the same way: alembic's own view of the store agrees.
    ((code, out, err),) = await run_at_once([[alembic, "current"]], env)
    assert code == 0, err
    assert f"{head_revision()} (head)" in out


async def test_serve_refuses_a_store_it_is_not_to_migrate_and_says_what_to_run(
    tmp_path: Path, empty_database_url: str, serve_redis: str | None
) -> None:
    port = str(free_port())
    serve = [sys.executable, "-m", "server.cli", "serve", "--port", port]
    serve += ["--data-dir", str(tmp_path / "data")]
    env = _env(empty_database_url, serve_redis)
    # PostgreSQL: not migrated at start unless asked; SQLite: only when told not to.
    told = {} if STORE == "postgres" else {"SWITCHBOARD_MIGRATE": "0"}
    ((code, _, err),) = await run_at_once([serve], env | told)
    assert code != 0
    assert "the store has no schema yet" in err
    assert "run `switchboard migrate`" in err
    assert "Traceback" not in err
    assert await revision_of(empty_database_url) is None  # it changed nothing


@pytest.mark.skipif(STORE != "postgres", reason="PostgreSQL's statement timeout")
async def test_a_migrate_waiting_for_another_writer_outlasts_the_statement_timeout(
    tmp_path: Path, empty_database_url: str
) -> None:
    holder = await asyncpg.connect(asyncpg_dsn(empty_database_url))
    try:
        await holder.execute(f"SELECT pg_advisory_lock({WRITE_LOCK_KEY})")
        env = _env(empty_database_url) | {"SWITCHBOARD_DATABASE_STATEMENT_TIMEOUT": "0.2"}
        migrate = asyncio.create_task(run_at_once([migrate_command(tmp_path / "data")], env))
        async with asyncio.timeout(SERVE_START_SECS):  # it queues behind the other writer
            while not await holder.fetchval(WAITING_FOR_THE_WRITE_LOCK):
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)  # past its statement timeout
        assert not migrate.done()  # still waiting, not cut off
        await holder.execute(f"SELECT pg_advisory_unlock({WRITE_LOCK_KEY})")
        ((code, out, err),) = await migrate
    finally:
        await holder.close()
    assert code == 0, err
    assert out.strip() == f"Migrated the store's schema from nothing to {head_revision()}."
