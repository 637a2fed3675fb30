"""`serve --workers N`: uvicorn's supervisor (it starts, checks and replaces the workers, and
passes on signals), each worker listening on a socket of its own.

With uvicorn's one shared listening socket, every worker wakes for a new connection and the first
to run accepts all that are waiting (asyncio accepts up to the backlog in one go): a burst of
new connections, Twilio's at the start of a campaign's replies or the benchmark's 16, all went
to one worker while the other idled (docs/performance.md, "Ingest"). Here each worker binds the
address itself with SO_REUSEPORT, and the kernel spreads new connections over the workers'
sockets. The supervisor's socket only holds the address: it is bound, never listened on, so no
connection waits on it."""

from __future__ import annotations

import socket
from typing import Any

from uvicorn import Config
from uvicorn.supervisors.multiprocess import Multiprocess

from server.embedded_redis import die_with_parent


def can_spread() -> bool:
    """Whether this system has SO_REUSEPORT (Linux, the BSDs, macOS)."""
    return hasattr(socket, "SO_REUSEPORT")


class _WorkersSocket(socket.socket):
    """The supervisor's socket, which each worker gets as a socket of its own on the same
    address: unpickled (the workers are spawned) as a fresh bound one."""

    def __reduce__(self) -> tuple[Any, ...]:
        host, port = self.getsockname()[:2]
        return (_worker_socket, (self.family, host, port))


def _worker_socket(family: socket.AddressFamily, host: str, port: int) -> socket.socket:
    """In a worker, as it starts: its own socket, and its end with the supervisor's (a
    supervisor killed outright would otherwise leave its workers serving)."""
    die_with_parent()
    return _bound(family, host, port)


def _bound(family: socket.AddressFamily, host: str, port: int) -> socket.socket:
    sock = _WorkersSocket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve_workers(config: Config) -> None:
    """Run `config.workers` workers until the supervisor is told to stop."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    try:
        holder = _bound(family, config.host, config.port)
    except OSError as exc:
        where = f"{config.host}:{config.port}"
        raise SystemExit(f"switchboard serve cannot listen on {where}: {exc}") from None
    try:
        Multiprocess(config, sockets=[holder]).run()
    finally:
        holder.close()
