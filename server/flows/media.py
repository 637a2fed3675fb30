"""Pictures and files of texts (MMS; docs/decisions.md, "Pictures (MMS)"): uploads waiting to
be sent, the bytes of an attachment for its members (a received one fetched from the provider
on first view and kept in the media store for as long as its message exists), and the signed,
expiring URLs the provider fetches a sent one from (no session: the provider has none)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from inbox import attachments
from inbox.errors import MediaGoneError
from inbox.models import Attachment, User, utcnow
from server.errors import ApiError
from server.services import Services
from server.storage.base import KEY, new_key

logger = logging.getLogger(__name__)

MEDIA_URL_SALT = "switchboard.media-url"  # these signatures are good for nothing else
# An upload never sent is forgotten this long after (an agent's draft outlives a lunch break).
UNSENT_KEEP_SECS = 24 * 3600.0
UNSENT_SWEEP_SECS = 3600.0


@dataclass(frozen=True)
class Opened:
    attachment: Attachment
    data: bytes


def _signer(svc: Services) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(svc.settings.secret_key), salt=MEDIA_URL_SALT)


def signed_url(svc: Services, callback_base: str | None, key: str) -> str | None:
    """Where the provider fetches a file we send: the public URL (else the address the send
    came in at) and a token naming the file, good for `media_url_secs`."""
    base = svc.settings.public_url or (callback_base or "").rstrip("/")
    if not base:
        return None
    return f"{base}/media/{_signer(svc).dumps(key)}"


def key_of(svc: Services, token: str) -> str:
    """The file a signed URL names: 403 when the signature is wrong or has run out."""
    try:
        key = _signer(svc).loads(token, max_age=int(svc.settings.media_url_secs))
    except SignatureExpired as exc:
        raise ApiError(403, "expired", "this link has run out") from exc
    except BadSignature as exc:
        raise ApiError(403, "bad_signature", "this link is not one of ours") from exc
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise ApiError(403, "bad_signature", "this link is not one of ours")
    return key


async def upload(svc: Services, user: User, data: bytes, filename: object) -> Attachment:
    """Keep an agent's file to attach to a text: refused (422) unless Twilio would send it."""
    if user.team_id is None:
        raise RuntimeError("Cannot upload for a user without a team.")
    kind = attachments.check_upload(data)
    key = new_key()
    await svc.media.put(key, data)
    try:
        async with svc.db.write() as session:
            row = attachments.upload(user.team_id, user, key, kind, len(data), filename)
            session.add(row)
            await session.flush()
    except BaseException:
        await svc.media.delete(key)
        raise
    return row


async def open_for(svc: Services, user: User, visible: set[int], attachment_id: int) -> Opened:
    """An attachment's bytes for a member of its inbox (or the uploader of an unsent one)."""
    async with svc.db.read() as session:
        found = await attachments.visible_attachment(session, attachment_id, user, visible)
    return await _opened(svc, found)


async def open_signed(svc: Services, token: str) -> Opened:
    """The file a signed URL names, for the provider."""
    key = key_of(svc, token)
    async with svc.db.read() as session:
        found = await attachments.by_key(session, key)
    if found is None:
        raise MediaGoneError("this file is gone")
    return await _opened(svc, found)


async def _opened(svc: Services, found: Attachment) -> Opened:
    if found.storage_key is None:
        found = await _fetch(svc, found)
    assert found.storage_key is not None
    data = await svc.media.get(found.storage_key)
    if data is None:
        logger.error("attachment %s is missing from the media store", found.id)
        raise MediaGoneError("this file is missing from the media store")
    return Opened(found, data)


async def _fetch(svc: Services, found: Attachment) -> Attachment:
    """A received file, fetched from the provider once per process at a time (teammates
    opening the same text wait for one fetch); `MediaGoneError` when it has it no more,
    `SmsError` when it could not be fetched now (asked again next time)."""
    assert found.id is not None
    lock = svc.media_fetches.setdefault(found.id, asyncio.Lock())
    try:
        async with lock:
            async with svc.db.read() as session:
                current = await session.get(Attachment, found.id)
            if current is None:
                raise MediaGoneError("this file is gone")
            if current.storage_key is not None:
                return current  # fetched meanwhile
            if current.gone or not current.remote_url:
                raise MediaGoneError("the provider no longer has this file")
            try:
                fetched = await svc.provider.fetch_media(
                    current.remote_url, attachments.MAX_RECEIVED_BYTES
                )
            except MediaGoneError:
                async with svc.db.write() as session:
                    await attachments.mark_gone(session, found.id)
                raise
            kind = attachments.stored_type(fetched.data, fetched.content_type)
            key = new_key()
            await svc.media.put(key, fetched.data)
            async with svc.db.write() as session:
                ours = await attachments.stored(session, found.id, key, kind, len(fetched.data))
                current = await session.get(Attachment, found.id)
            if not ours:  # another process stored it first: keep theirs
                await svc.media.delete(key)
            if current is None:
                raise MediaGoneError("this file is gone")
            return current
    finally:
        if not lock.locked():
            svc.media_fetches.pop(found.id, None)


async def drop_unsent(svc: Services) -> None:
    """Forget uploads never sent (a closed tab, a removed attachment)."""
    before = utcnow() - timedelta(seconds=UNSENT_KEEP_SECS)
    async with svc.db.write() as session:
        keys = await attachments.drop_unsent(session, before)
    for key in keys:
        await svc.media.delete(key)
    if keys:
        logger.info("forgot %d uploads never sent", len(keys))


async def delete_files(svc: Services, keys: list[str]) -> None:
    """Once their rows are gone (committed): the files of deleted attachments."""
    for key in keys:
        await svc.media.delete(key)
