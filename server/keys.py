"""The Redis names server/ itself uses, one function per kind (STYLE.md section 2), under the
`sb:` prefix that realtime/keys.py and presence/keys.py share."""

from __future__ import annotations

PREFIX = "sb:"


def sockets_ended_channel() -> str:
    """Pub/sub: `origin user credential` — close that user's sockets of that credential (a
    session key, or `*` for all of them) on every process (server/sockets.py)."""
    return f"{PREFIX}sockets-ended"


def throttle_key(kind: str, subject: str) -> str:
    """Hash `n` (failures), `until` (ms: refused before then) for one username or address
    (server/throttle.py); `subject` is hashed so a hostile username cannot shape the key."""
    return f"{PREFIX}throttle:{kind}:{subject}"


def number_sweep_key(deployment: str) -> str:
    """A lock: the process sweeping idle numbers now (one at a time: each released once)."""
    return f"{PREFIX}{deployment}:number-sweep"


def registration_check_key(deployment: str, team_id: int) -> str:
    """A lock: the process checking a team's carrier registration now (two checks could each
    create a brand)."""
    return f"{PREFIX}{deployment}:registration-check:{team_id}"
