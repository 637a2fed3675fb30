"""Errors of the socket bus and its client.

RealtimeError
├── ResyncNeededError      (the hub: a client's last event id is not in the log any more)
├── BusClientError         (the client: refused for good, bad credentials, or closed)
├── CommandError           (the client: the server answered a command with an `error` frame)
└── ConnectionLostError    (the client: the socket dropped before the command was answered)
"""

from __future__ import annotations

from typing import Any


class RealtimeError(Exception):
    pass


class ResyncNeededError(RealtimeError):
    """The client's last event id is not in the log (too old, or from another store)."""


class BusClientError(RealtimeError):
    """The bus refused us for good (bad credentials), or the client was closed."""


class CommandError(RealtimeError):
    """The server answered a command with an `error` frame."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.code: str = str(error.get("code"))
        self.error = error


class ConnectionLostError(RealtimeError):
    """The socket dropped before a command was answered; it may or may not have run."""
