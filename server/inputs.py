"""Reading values out of a client's JSON (a REST body or a socket command's data)."""

from __future__ import annotations

from typing import Any


def int_or_none(value: Any) -> int | None:
    """A JSON integer (not a boolean, which Python counts as one), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
