"""Reading values out of a client's input (a REST body, a query string, a path, a socket
command's data): what a hostile client sends is refused here with a clear error, never
passed on to fail deeper down (the store cannot hold a 4,000-digit integer or a lone
surrogate; PostgreSQL refuses NUL in text)."""

from __future__ import annotations

import json
from typing import Any

# Ids and counts are BIGINT at most; 18 digits always fits and never costs Python much.
MAX_DIGITS = 18
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


class BadTextError(ValueError):
    """A string that is not text the store can keep: a lone surrogate, or NUL."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


def int_or_none(value: Any) -> int | None:
    """A JSON integer the store can hold (not a boolean, which Python counts as one), else
    None."""
    if isinstance(value, int) and not isinstance(value, bool) and INT_MIN <= value <= INT_MAX:
        return value
    return None


def whole_number(raw: str | None) -> int | None:
    """A path or query value of ASCII digits ("²" and "٣" are digits to `str.isdigit`, not to
    `int`), short enough to be an id, else None."""
    if raw is None or not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_DIGITS:
        return None
    return int(raw)


def check_text(value: Any, where: str = "") -> None:
    """Raise BadTextError naming the first string in `value` (keys included) that is not text."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if not is_text(item):
                raise BadTextError(path or "the value")
        elif isinstance(item, dict):
            for key, child in item.items():
                stack.append((key, path or "a key"))
                stack.append((child, f"{path}.{key}" if path else str(key)))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(item))


def check_form(form: dict[str, str]) -> None:
    """`check_text` for a form's fields, all checked at once (a webhook's twenty, say): only a
    form that holds something that is not text is walked to name the field."""
    if not is_text("".join([*form, *form.values()])):
        check_text(form)


def is_text(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def load_json(raw: str | bytes) -> Any:
    """JSON text as Python values; ValueError when it is not JSON (too deeply nested included:
    the parser's RecursionError). Strings may still not be text: see `check_text`."""
    try:
        return json.loads(raw)
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc
