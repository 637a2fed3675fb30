"""Pictures and files of texts (MMS): what may be sent (Twilio's MMS limits), what a file really
is (sniffed from its bytes, never taken from a client or a filename), received media recorded
from the webhook, uploads waiting to be sent, and attaching them to a text. Functions run in
the caller's transaction; the bytes themselves are the media store's (server/storage/)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbox.errors import InvalidInputError, NotFoundError
from inbox.models import Attachment, Message, User
from inbox.views import INLINE_TYPES

# Twilio takes at most 10 media per message, and at most 5 MB for the text and its media
# together (its "Accepted content types for media"); we count a megabyte as 10^6 bytes, the
# stricter reading.
MAX_MEDIA = 10
MAX_MMS_BYTES = 5_000_000
# What an agent may attach: the types Twilio formats for every phone (JPEG, PNG, GIF), and the
# few others it accepts that phones commonly open and that we recognise from their first bytes.
SENDABLE_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "application/pdf": ".pdf",
    "text/vcard": ".vcf",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
}
UNKNOWN_TYPE = "application/octet-stream"
# A received file larger than this is not fetched (an MMS carries at most a few MB).
MAX_RECEIVED_BYTES = 16 * 1024 * 1024
FILENAME_CHARS = 100
MAX_ID = 2**31  # an id column's range on PostgreSQL: a larger number names nothing
_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*")
_ACTIVE_WORDS = ("html", "xml", "svg", "script", "ecmascript")
_MP4_BRANDS = {b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash"}


def sniff(data: bytes) -> str | None:
    """The type of `data` by its first bytes, for the types we name (None: something else)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand == b"qt  ":
            return "video/quicktime"
        if brand in _MP4_BRANDS:
            return "video/mp4"
        if brand.startswith(b"3gp"):
            return "video/3gpp"
        return None
    if data.removeprefix(b"\xef\xbb\xbf")[:11].upper() == b"BEGIN:VCARD":
        return "text/vcard"
    return None


def stored_type(data: bytes, declared: str | None) -> str:
    """What a received file is recorded as: its sniffed type; else the provider's word, as a
    label only (it is served as a download), but never a type that would be shown inline."""
    sniffed = sniff(data)
    if sniffed is not None:
        return sniffed
    return declared_type(declared, fallback=UNKNOWN_TYPE, inline=False)


def declared_type(value: str | None, *, fallback: str = UNKNOWN_TYPE, inline: bool = True) -> str:
    """A content type someone else named, if it is a plain `type/subtype` and not one a
    browser would run (HTML, SVG, XML, scripts: `fallback` instead, whatever is served)."""
    kind = (value or "").split(";")[0].strip().lower()
    if not _CONTENT_TYPE.fullmatch(kind) or len(kind) > 100:
        return fallback
    if any(word in kind for word in _ACTIVE_WORDS):
        return fallback
    if kind in INLINE_TYPES and not inline:
        return fallback
    return kind


def display_name(raw: object, content_type: str) -> str:
    """A filename to show and offer for download: the last part of what the client sent,
    without control characters or quotes, at most FILENAME_CHARS; never used in a path."""
    name = str(raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C" and c not in "\"'")
    name = " ".join(name.split())[:FILENAME_CHARS].strip(" .")
    return name or "attachment" + SENDABLE_TYPES.get(content_type, "")


def ascii_name(filename: str, limit: int = FILENAME_CHARS) -> str:
    """The filename in letters, digits, '.', '_' and '-' only (for headers and Twilio, which
    asks for names of 20 characters or less without spaces)."""
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    ext = _safe(ext)[:8]
    stem = _safe(stem)[: max(1, limit - len(ext) - 1)] or "file"
    return f"{stem}.{ext}" if ext else stem


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")


def check_upload(data: bytes) -> str:
    """The type of an upload, if it may be sent: refused (422 `unsupported_type`) otherwise;
    its size is checked against the limit before it was read (server/http/limits.py)."""
    if not data:
        raise InvalidInputError("the file is empty", "empty")
    kind = sniff(data)
    if kind not in SENDABLE_TYPES:
        kinds = "JPEG, PNG or GIF pictures, PDF, vCard, MP4 or QuickTime video"
        raise InvalidInputError(
            f"this file cannot be sent in a text; send {kinds}", "unsupported_type"
        )
    if len(data) > MAX_MMS_BYTES:
        raise InvalidInputError(f"the file is over {MAX_MMS_BYTES:,} bytes", "too_large")
    return kind


def media_ids(raw: Any) -> list[int]:
    """The `media_ids` of a send: distinct ids, at most MAX_MEDIA (422 otherwise)."""
    if raw is None:
        return []
    if (
        not isinstance(raw, list)
        or not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < MAX_ID for i in raw)
        or len(set(raw)) != len(raw)
    ):
        raise InvalidInputError("media_ids must be a list of distinct attachment ids", "invalid")
    if len(raw) > MAX_MEDIA:
        raise InvalidInputError(f"a text carries at most {MAX_MEDIA} attachments", "too_many")
    return list(raw)


def upload(
    team_id: int, uploader: User, key: str, content_type: str, size: int, filename: object
) -> Attachment:
    """The row of a file stored under `key`, waiting for its uploader to send it."""
    return Attachment(
        team_id=team_id,
        uploader_id=uploader.id,
        content_type=content_type,
        size=size,
        filename=display_name(filename, content_type),
        storage_key=key,
    )


def record_received(
    session: AsyncSession, message: Message, urls: Sequence[str], types: Sequence[str | None]
) -> list[Attachment]:
    """The media of an inbound text, as the webhook named them (fetched when first viewed)."""
    if message.id is None:
        raise RuntimeError("Cannot record media of a message that was never flushed.")
    rows = []
    for position, url in enumerate(urls):
        kind = declared_type(types[position] if position < len(types) else None)
        ext = SENDABLE_TYPES.get(kind, "")
        noun = "picture" if kind in INLINE_TYPES else "attachment"
        rows.append(
            Attachment(
                team_id=message.team_id,
                message_id=message.id,
                position=position,
                content_type=kind,
                filename=f"{noun}-{position + 1}{ext}",
                remote_url=url,
                created_at=message.created_at,
            )
        )
    session.add_all(rows)
    return rows


async def attach(
    session: AsyncSession, message: Message, sender_id: int | None, ids: Sequence[int]
) -> list[Attachment]:
    """Make the sender's waiting uploads `ids` (in that order) the media of `message`: each must
    be theirs and not sent yet, and the text and its media must fit in Twilio's 5 MB."""
    if not ids:
        return []
    assert message.id is not None
    rows = await session.scalars(
        select(Attachment).where(col(Attachment.id).in_(ids)).with_for_update()
    )
    by_id = {a.id: a for a in rows}
    for wanted in ids:
        found = by_id.get(wanted)
        if found is None or found.uploader_id != sender_id or found.message_id is not None:
            raise InvalidInputError(
                f"attachment {wanted} is not a file you uploaded and have not sent yet; "
                "attach it again",
                "invalid_attachment",
            )
    total = sum(by_id[i].size or 0 for i in ids) + len(message.body.encode())
    if total > MAX_MMS_BYTES:
        raise InvalidInputError(
            f"the text and its attachments come to {total:,} bytes; at most "
            f"{MAX_MMS_BYTES:,} fit in one text",
            "too_large",
        )
    for position, wanted in enumerate(ids):
        found = by_id[wanted]
        found.message_id, found.position = message.id, position
        session.add(found)
    await session.flush()
    return [by_id[i] for i in ids]


async def of_messages(
    session: AsyncSession, message_ids: Iterable[int | None]
) -> dict[int, list[Attachment]]:
    """Each message's attachments, in order."""
    wanted = {i for i in message_ids if i is not None}
    if not wanted:
        return {}
    rows = await session.scalars(
        select(Attachment)
        .where(col(Attachment.message_id).in_(wanted))
        .order_by(col(Attachment.message_id), col(Attachment.position))
    )
    found: dict[int, list[Attachment]] = {}
    for a in rows:
        found.setdefault(a.message_id or 0, []).append(a)
    return found


async def visible_attachment(
    session: AsyncSession, attachment_id: int, user: User, visible: set[int]
) -> Attachment:
    """An attachment the caller may see: of a message in one of their inboxes, or their own
    upload not sent yet (anything else is 404, as if it did not exist)."""
    found = await session.get(Attachment, attachment_id)
    if found is not None and found.team_id == user.team_id:
        if found.message_id is None:
            if found.uploader_id == user.id:
                return found
        else:
            message = await session.get(Message, found.message_id)
            if message is not None and message.inbox_id in visible:
                return found
    raise NotFoundError("no such attachment")


async def by_key(session: AsyncSession, key: str) -> Attachment | None:
    found: Attachment | None = await session.scalar(
        select(Attachment).where(col(Attachment.storage_key) == key)
    )
    return found


async def stored(session: AsyncSession, attachment_id: int, key: str, kind: str, size: int) -> bool:
    """Record that a received attachment's bytes are now under `key`; False when another
    process stored them first (its key stays; ours is to be deleted)."""
    result = await session.execute(
        update(Attachment)
        .where(col(Attachment.id) == attachment_id, col(Attachment.storage_key).is_(None))
        .values(storage_key=key, content_type=kind, size=size, gone=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def mark_gone(session: AsyncSession, attachment_id: int) -> None:
    """The provider no longer has it: it is not asked again."""
    await session.execute(
        update(Attachment)
        .where(col(Attachment.id) == attachment_id, col(Attachment.storage_key).is_(None))
        .values(gone=True)
    )


async def drop_unsent(session: AsyncSession, before: datetime) -> list[str]:
    """Delete uploads never sent that were made before `before`; return their storage keys."""
    rows = list(
        await session.scalars(
            select(Attachment).where(
                col(Attachment.message_id).is_(None), col(Attachment.created_at) < before
            )
        )
    )
    if rows:
        await session.execute(
            delete(Attachment).where(col(Attachment.id).in_([a.id for a in rows]))
        )
    return [a.storage_key for a in rows if a.storage_key]


async def drop_of_messages(session: AsyncSession, message_ids: Any) -> list[str]:
    """Delete the attachments of these messages (a subquery or ids); return their keys."""
    keys = list(
        await session.scalars(
            select(col(Attachment.storage_key)).where(
                col(Attachment.message_id).in_(message_ids),
                col(Attachment.storage_key).is_not(None),
            )
        )
    )
    await session.execute(delete(Attachment).where(col(Attachment.message_id).in_(message_ids)))
    return [k for k in keys if k]
