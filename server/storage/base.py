"""What the media flows need from a place that keeps bytes by name."""

from __future__ import annotations

import re
import secrets
from typing import Protocol

# A stored file's name: 32 random hex digits, so no name comes from a client or a filename.
KEY = re.compile(r"[0-9a-f]{32}")


def new_key() -> str:
    return secrets.token_hex(16)


class StorageError(Exception):
    """The store could not do it now (answered 503 `storage_unavailable`)."""


class MediaStore(Protocol):
    async def put(self, key: str, data: bytes) -> None:
        """Keep `data` under `key` (whole or not at all)."""
        ...

    async def get(self, key: str) -> bytes | None:
        """The bytes under `key`; None when there are none."""
        ...

    async def delete(self, key: str) -> None:
        """Forget `key`; deleting one already gone is not an error."""
        ...

    async def close(self) -> None: ...
