"""Media in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2, ...), through aiobotocore, under
`media/<key>`. The bucket must exist; only put, get and delete of objects are used. Botocore's
and aiohttp's errors become `StorageError` here, the one place they are caught."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from server.storage.base import KEY, StorageError

PREFIX = "media/"
# A store that does not answer in this long is down for this request (the page says so).
S3_TIMEOUT_SECS = 10.0
MISSING = {"NoSuchKey", "404"}


class S3Store:
    def __init__(
        self, endpoint_url: str, bucket: str, access_key_id: str, secret_key: str, region: str
    ) -> None:
        self.bucket = bucket
        self._options: dict[str, Any] = {
            "endpoint_url": endpoint_url,
            "region_name": region,
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_key,
            "config": AioConfig(
                connect_timeout=S3_TIMEOUT_SECS,
                read_timeout=S3_TIMEOUT_SECS,
                retries={"max_attempts": 2, "mode": "standard"},
            ),
        }
        self._stack = AsyncExitStack()
        self._client: Any = None
        self._opening = asyncio.Lock()

    async def _s3(self) -> Any:
        async with self._opening:  # made here, inside the running loop that will use it
            if self._client is None:
                session = get_session()
                self._client = await self._stack.enter_async_context(
                    session.create_client("s3", **self._options)
                )
        return self._client

    @staticmethod
    def _name(key: str) -> str:
        if not KEY.fullmatch(key):
            raise RuntimeError(f"Cannot use {key!r} as a media key.")
        return PREFIX + key

    async def put(self, key: str, data: bytes) -> None:
        async with _converted("storing a file"):
            s3 = await self._s3()
            await s3.put_object(Bucket=self.bucket, Key=self._name(key), Body=data)

    async def get(self, key: str) -> bytes | None:
        async with _converted("reading a file"):
            s3 = await self._s3()
            try:
                answer = await s3.get_object(Bucket=self.bucket, Key=self._name(key))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in MISSING:
                    return None
                raise
            async with answer["Body"] as body:
                data: bytes = await body.read()
            return data

    async def delete(self, key: str) -> None:
        async with _converted("deleting a file"):
            s3 = await self._s3()
            await s3.delete_object(Bucket=self.bucket, Key=self._name(key))

    async def close(self) -> None:
        await self._stack.aclose()
        self._client = None


@asynccontextmanager
async def _converted(doing: str) -> AsyncIterator[None]:
    try:
        async with asyncio.timeout(S3_TIMEOUT_SECS * 3):
            yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "?")
        raise StorageError(f"{doing}: the bucket refused ({code})") from exc
    except (BotoCoreError, OSError, TimeoutError) as exc:  # aiohttp's errors are OSErrors
        raise StorageError(
            f"{doing}: the bucket could not be reached ({exc.__class__.__name__})"
        ) from exc
