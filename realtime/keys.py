"""The Redis names the bus uses, one function per kind (STYLE.md section 2). They share the
`sb:` prefix of presence/keys.py, so one Redis server holds one install's keys under it."""

from __future__ import annotations

PREFIX = "sb:"


def events_channel() -> str:
    """The pub/sub channel every process rings after committing events (the doorbell)."""
    return f"{PREFIX}events"
