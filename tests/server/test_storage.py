"""The media store's contract, on each implementation: the data dir's, and an S3-compatible
bucket on a real S3 API (moto's standalone server, started here on loopback); then pictures
end to end with a bucket configured, and what an agent gets when the store is down."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from aiobotocore.session import get_session
from moto.server import ThreadedMotoServer
from starlette.datastructures import Secret

from server.storage import make_store
from server.storage.base import MediaStore, StorageError, new_key
from tests.conftest import running
from tests.fake_twilio import FakeTwilio
from tests.helpers import FRONT_DESK, free_port, login, png
from tests.server.test_media import receive, upload
from tests.server.test_sending import conversation_with

CREDENTIALS = {"s3_access_key_id": "testing", "s3_secret_access_key": "testing"}
REGION = "us-east-1"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


async def bucket_objects(endpoint: str, bucket: str) -> dict[str, bytes]:
    async with get_session().create_client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ) as s3:
        if bucket not in [b["Name"] for b in (await s3.list_buckets())["Buckets"]]:
            await s3.create_bucket(Bucket=bucket)
            return {}
        listed = await s3.list_objects_v2(Bucket=bucket)
        found = {}
        for item in listed.get("Contents", []):
            answer = await s3.get_object(Bucket=bucket, Key=item["Key"])
            async with answer["Body"] as body:
                found[item["Key"]] = await body.read()
        return found


@pytest.fixture
async def bucket(s3_endpoint: str) -> str:
    name = f"media-{uuid.uuid4().hex[:12]}"
    await bucket_objects(s3_endpoint, name)  # made empty
    return name


@pytest.fixture(params=["data dir", "s3"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, s3_endpoint: str, bucket: str
) -> AsyncIterator[MediaStore]:
    if request.param == "s3":
        made = make_store(
            tmp_path, s3_endpoint=s3_endpoint, s3_bucket=bucket, s3_region=REGION, **CREDENTIALS
        )
    else:
        made = make_store(tmp_path)
    yield made
    await made.close()


async def test_a_store_keeps_gives_back_and_forgets_files(store: MediaStore) -> None:
    key, other = new_key(), new_key()
    assert await store.get(key) is None
    await store.put(key, b"first")
    await store.put(other, png())
    assert await store.get(key) == b"first"
    await store.put(key, b"second")  # whole or not at all, the newest
    assert await store.get(key) == b"second"
    await store.delete(key)
    assert await store.get(key) is None
    await store.delete(key)  # already gone: no error
    assert await store.get(other) == png()
    with pytest.raises(RuntimeError):
        await store.get("../../etc/passwd")  # a key is never a path from elsewhere


@pytest.mark.parametrize("where", ["data dir", "s3"])
async def test_a_store_that_cannot_work_says_so(where: str, tmp_path: Path) -> None:
    if where == "s3":
        dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        broken = make_store(
            tmp_path, s3_endpoint=dead, s3_bucket="media", s3_region=REGION, **CREDENTIALS
        )
    else:
        (tmp_path / "media").write_text("a file where the folder should be")
        broken = make_store(tmp_path)
    with pytest.raises(StorageError):
        await broken.put(new_key(), b"data")
    await broken.close()


async def test_pictures_live_in_the_bucket_when_one_is_configured(
    tmp_path: Path,
    database_url: str,
    clean_redis: str,
    fake_twilio: tuple[FakeTwilio, str],
    s3_endpoint: str,
    bucket: str,
) -> None:
    settings = {
        "s3_endpoint": s3_endpoint,
        "s3_bucket": bucket,
        "s3_region": REGION,
        "s3_access_key_id": "testing",
        "s3_secret_access_key": Secret("testing"),
    }
    data_dir = tmp_path / "data"
    with running(data_dir, clean_redis, fake_twilio, database_url=database_url, **settings) as app:
        carol = await login(app.url, "carol")
        received = app.fake.add_media(png(5, 5), "image/png")
        await receive(app, FRONT_DESK, [received], ["image/png"])
        conversation_id = await conversation_with(carol, "+15551212121")
        history = await carol.get(f"/api/v1/conversations/{conversation_id}/messages")
        (picture,) = history.json()["items"][-1]["attachments"]
        assert (await carol.get(picture["url"])).content == png(5, 5)

        sent_picture = png(7, 7)
        uploaded = (await upload(carol, sent_picture)).json()
        sent = await carol.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"body": "Thanks", "media_ids": [uploaded["id"]]},
        )
        assert sent.status_code == 201, sent.text
        (twilio_message,) = await asyncio.to_thread(app.fake.wait_for_messages, 1)
        async with httpx.AsyncClient() as twilio:
            fetched = await twilio.get(twilio_message["media_urls"][0])
        assert fetched.content == sent_picture

    kept = await bucket_objects(s3_endpoint, bucket)
    assert sorted(kept.values()) == sorted([png(5, 5), sent_picture])
    assert all(name.startswith("media/") for name in kept)
    assert not (data_dir / "media").exists()  # nothing in the data dir


async def test_an_upload_while_the_store_is_down_is_refused_plainly(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    dead = {"s3_endpoint": f"http://127.0.0.1:{free_port()}", "s3_bucket": "media"}
    data_dir = tmp_path / "data"
    with running(data_dir, clean_redis, fake_twilio, database_url=database_url, **dead) as app:
        bob = await login(app.url, "bob")
        refused = await upload(bob, png())
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "storage_unavailable"
