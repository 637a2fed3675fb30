"""Media in the data dir: `media/<first two digits of the key>/<key>`, written to a temporary
file and renamed, so a reader never sees half a file and a crash leaves no torn one."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from server.storage.base import KEY, StorageError

MEDIA_DIR = "media"


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        if not KEY.fullmatch(key):  # never a path from anywhere else
            raise RuntimeError(f"Cannot use {key!r} as a media key.")
        return self.root / key[:2] / key

    async def put(self, key: str, data: bytes) -> None:
        try:
            await asyncio.to_thread(self._put, self.path(key), data)
        except OSError as exc:  # a full or read-only disk
            raise StorageError(f"storing a file: {exc.strerror}") from exc

    async def get(self, key: str) -> bytes | None:
        try:
            return await asyncio.to_thread(self.path(key).read_bytes)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"reading a file: {exc.strerror}") from exc

    async def delete(self, key: str) -> None:
        try:
            await asyncio.to_thread(self.path(key).unlink, missing_ok=True)
        except OSError as exc:
            raise StorageError(f"deleting a file: {exc.strerror}") from exc

    async def close(self) -> None:
        return None

    @staticmethod
    def _put(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
