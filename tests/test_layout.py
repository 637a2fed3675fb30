"""The dependency direction of DESIGN.md and STYLE.md, checked by walking imports: the packages
import each other one way only, and inside server/ the adapters (http/, socket/) call the
flows, never the other way round, nor each other."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Where the files are -> the modules they must not import (a name and everything under it).
FORBIDDEN = {
    "inbox": {"realtime", "presence", "server", "bots", "web"},
    "presence": {"inbox", "realtime", "server", "bots", "web"},
    "realtime": {"inbox", "presence", "server", "bots", "web"},
    "bots": {"server", "presence", "web"},
    "server/flows": {"server.http", "server.socket"},
    "server/http": {"server.socket"},
    "server/socket": {"server.http"},
}
# The one exception, and why: Alembic's environment, run by `alembic upgrade head` from the
# command line, must open the store the app's settings name (inbox/migrations/env.py).
ALLOWED = {"inbox/migrations/env.py": {"server.config", "server.config.Settings"}}


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def under(module: str, name: str) -> bool:
    return module == name or module.startswith(name + ".")


def test_packages_import_only_in_the_allowed_direction() -> None:
    problems = []
    for place, forbidden in FORBIDDEN.items():
        files = list((ROOT / place).rglob("*.py"))
        assert files, f"{place}/ has no modules"
        for path in files:
            allowed = ALLOWED.get(str(path.relative_to(ROOT)), set())
            imported = imported_modules(path) - allowed
            bad = {m for m in imported for f in forbidden if under(m, f)}
            if bad:
                problems.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert problems == []


def test_the_rules_see_a_forbidden_import() -> None:
    """The walk itself: `from server.http import pages` names server.http.pages."""
    source = ROOT / "server" / "app.py"
    assert "server.http.pages" in imported_modules(source)
    assert under("server.http.pages", "server.http") and not under("server.httpx", "server.http")


def test_web_holds_no_python() -> None:
    assert list((ROOT / "web").rglob("*.py")) == []
