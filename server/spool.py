"""Webhooks kept in the data dir while the store cannot take them (docs/reliability.md,
"Outbox and webhooks"; server/flows/spooling.py decides when). One JSON file per webhook,
written whole before Twilio is answered (a temporary file, fsync, rename, fsync of the
directory), named so that sorting the names gives arrival order. Blocking file work: callers
run these methods on a thread."""

from __future__ import annotations

import fcntl
import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SPOOL_DIR = "spool"  # under the data dir
SET_ASIDE_DIR = "failed"  # items that can never be applied, kept for the operator
_SUFFIX = ".json"


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put(self, item: dict[str, Any]) -> Path:
        """Keep `item` durably; raise OSError when the directory cannot be written."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        path = self.directory / (name + _SUFFIX)
        partial = self.directory / (name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # bodies: owner only
        try:
            os.write(fd, json.dumps(item).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(partial, path)
        self._sync_directory()
        return path

    def pending(self) -> list[Path]:
        """Kept items, oldest first."""
        try:
            names = sorted(n for n in os.listdir(self.directory) if n.endswith(_SUFFIX))
        except (FileNotFoundError, NotADirectoryError):  # nothing was ever kept (or can be)
            return []
        return [self.directory / n for n in names]

    def load(self, path: Path) -> dict[str, Any] | None:
        """The item, or None when another process applied it meanwhile."""
        try:
            item: dict[str, Any] = json.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        return item

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def set_aside(self, path: Path) -> Path:
        aside = self.directory / SET_ASIDE_DIR
        aside.mkdir(mode=0o700, exist_ok=True)
        target = aside / path.name
        os.replace(path, target)
        return target

    @contextmanager
    def turn(self) -> Iterator[bool]:
        """Whether this process may apply the kept items now: one process at a time on a data
        dir (an flock, released by the kernel if the holder dies)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # closing the file releases the lock

    def _sync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
