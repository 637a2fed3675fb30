"""The dependency direction of DESIGN.md and STYLE.md, checked by walking imports."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "inbox": {"realtime", "presence", "server", "web"},
    "presence": {"inbox", "realtime", "server", "web"},
    "realtime": {"inbox", "presence", "server", "web"},
    "server": set(),
}


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_packages_import_only_in_the_allowed_direction() -> None:
    problems = []
    for package, forbidden in FORBIDDEN.items():
        files = list((ROOT / package).rglob("*.py"))
        assert files, f"{package}/ has no modules"
        for path in files:
            bad = imported_packages(path) & forbidden
            if bad:
                problems.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert problems == []


def test_web_holds_no_python() -> None:
    assert list((ROOT / "web").rglob("*.py")) == []
