"""Where the bytes of pictures and files live (docs/decisions.md, "Pictures (MMS)"): a
`MediaStore` (base.py), in the data dir (files.py) or, when a bucket is named, an
S3-compatible bucket (s3.py, which needs the `s3` extra: aiobotocore)."""

from __future__ import annotations

from pathlib import Path

from server.storage.base import MediaStore
from server.storage.files import MEDIA_DIR, FileStore


def make_store(
    data_dir: Path,
    *,
    s3_endpoint: str = "",
    s3_bucket: str = "",
    s3_access_key_id: str = "",
    s3_secret_access_key: str = "",
    s3_region: str = "",
) -> MediaStore:
    if not s3_bucket:
        return FileStore(data_dir / MEDIA_DIR)
    from server.storage.s3 import S3Store  # only a deployment with a bucket needs aiobotocore

    return S3Store(s3_endpoint, s3_bucket, s3_access_key_id, s3_secret_access_key, s3_region)
