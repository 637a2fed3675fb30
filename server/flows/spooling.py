"""Twilio's webhooks when the store is stalled (docs/reliability.md, "Outbox and webhooks"):
Twilio gives a webhook 15 s and never resends one that failed, so a text must not wait on a
store that another process holds. `take` applies a verified webhook, and if the store has not
taken it within `webhook_store_wait_secs` it keeps it in the data dir (server/spool.py) and
lets Twilio go; the attempt goes on meanwhile. Every process runs `apply_kept`, one at a time
per data dir: it applies what is kept in arrival order, each once (one message per MessageSid,
statuses only move forward, so an item applied twice changes nothing the second time). A store
that cannot be reached at all (PostgreSQL restarting, failed over, down) is treated the same way:
the webhook is kept, not failed."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError

from inbox import messages
from inbox.delivery import Outcome
from inbox.errors import InboxError
from server.errors import ApiError
from server.flows import inbound, sending
from server.services import Services

logger = logging.getLogger(__name__)

APPLY_EVERY_SECS = 1.0  # how soon a kept webhook is applied once the store is back
# When the data dir cannot be written either, a webhook waits for the store this long in all,
# then says so (503): inside the 15 s Twilio waits for an answer.
LAST_WAIT_SECS = 12.0
# SQLSTATE classes of a store that is not there: 08 connection exception, 57 operator
# intervention (shutting down, starting up, terminated by an administrator).
UNREACHABLE_SQLSTATE_CLASSES = ("08", "57")


def inbound_item(
    *,
    to: str,
    from_: str,
    body: str,
    sid: str,
    media_urls: list[str],
    media_types: list[str | None],
    callback_base: str,
) -> dict[str, Any]:
    return {
        "kind": "inbound",
        "to": to,
        "from": from_,
        "body": body,
        "sid": sid,
        "media_urls": media_urls,
        "media_types": media_types,
        "callback_base": callback_base,
    }


def status_item(
    *,
    message_id: int | None,
    status: str,
    sid: str | None,
    error_code: str | None,
    error_message: str | None,
) -> dict[str, Any]:
    """A status callback: `message_id` from our callback URL, else found by `sid`."""
    return {
        "kind": "status",
        "message_id": message_id,
        "status": status,
        "sid": sid,
        "error_code": error_code,
        "error_message": error_message,
    }


async def apply(svc: Services, item: dict[str, Any]) -> None:
    """Store one webhook's item: an inbound text, or a status callback. A transaction cut off
    by a dropped connection (PostgreSQL restarted, failed over, or a proxy between closed it)
    is tried once more on a fresh one: Twilio never resends a webhook that failed, and trying
    again cannot double a text (one message per MessageSid; statuses only move forward)."""
    try:
        await _apply(svc, item)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        logger.warning(
            "the store dropped its connection during a webhook (%s %s); trying once more",
            item["kind"],
            item["sid"],
        )
        await _apply(svc, item)


def unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the store could not be reached (down, restarting, the connection
    dropped), rather than a refusal or a bug: the webhook is kept and applied later."""
    if isinstance(exc, DBAPIError):
        state = str(getattr(exc.orig, "sqlstate", None) or "")
        return exc.connection_invalidated or state[:2] in UNREACHABLE_SQLSTATE_CLASSES
    return isinstance(exc, OSError)  # refused or reset before the driver had an answer


async def _apply(svc: Services, item: dict[str, Any]) -> None:
    if item["kind"] == "inbound":
        await inbound.receive(
            svc,
            to=item["to"],
            from_=item["from"],
            body=item["body"],
            provider_sid=item["sid"],
            callback_base=item["callback_base"],
            media_urls=item["media_urls"],
            media_types=item.get("media_types") or [],  # kept before they were
        )
        return
    message_id, sid = item["message_id"], item["sid"]
    if message_id is None and sid:
        async with svc.db.read() as session:
            message_id = await messages.message_id_by_sid(session, sid)
    if message_id is None:
        return  # not one of ours
    outcome = Outcome(message_id, item["status"], sid, item["error_code"], item["error_message"])
    await sending.record(svc, [outcome])


async def take(svc: Services, item: dict[str, Any]) -> str:
    """Apply `item` if the store takes it in time ("stored"); else keep it and return ("kept";
    the attempt goes on). Refusals (a number no inbox has, a bad status) are raised as before."""
    attempt = asyncio.ensure_future(apply(svc, item))
    done, _ = await asyncio.wait({attempt}, timeout=svc.settings.webhook_store_wait_secs)
    if done:
        failed = attempt.exception()
        if failed is None:
            return "stored"
        if not unreachable(failed):
            raise failed
        return await _keep_while_unreachable(svc, item, failed)
    try:
        path = await asyncio.to_thread(svc.spool.put, item)
    except OSError as exc:
        await _wait_for_the_store(svc, item, attempt, exc)
        return "stored"
    logger.warning(
        "the store did not take a webhook (%s %s) in %g s; kept as %s",
        item["kind"],
        item["sid"],
        svc.settings.webhook_store_wait_secs,
        path.name,
    )
    svc.spawn(_finish(svc, attempt, path), name=f"webhook-{path.name}")
    return "kept"


async def _keep_while_unreachable(
    svc: Services, item: dict[str, Any], failed: BaseException
) -> str:
    """The store could not be reached (twice, for a dropped connection): keep the webhook for
    `apply_kept` rather than answer 500 to a Twilio that will not resend it."""
    try:
        path = await asyncio.to_thread(svc.spool.put, item)
    except OSError as exc:
        logger.error(
            "the store could not be reached for a webhook (%s %s: %s) and the data dir cannot "
            "keep it (%s)",
            item["kind"],
            item["sid"],
            failed.__class__.__name__,
            exc.strerror or exc,
        )
        raise ApiError(503, "store_unavailable", "the store cannot take this webhook now") from exc
    logger.warning(
        "the store could not be reached for a webhook (%s %s: %s); kept as %s",
        item["kind"],
        item["sid"],
        failed.__class__.__name__,
        path.name,
    )
    return "kept"


async def _wait_for_the_store(
    svc: Services, item: dict[str, Any], attempt: asyncio.Future[None], exc: OSError
) -> None:
    logger.error(
        "the store did not take a webhook (%s %s) and the data dir cannot keep it (%s); "
        "waiting for the store",
        item["kind"],
        item["sid"],
        exc.strerror or exc,
    )
    left = LAST_WAIT_SECS - svc.settings.webhook_store_wait_secs
    done, _ = await asyncio.wait({attempt}, timeout=max(left, 0.0))
    if done:
        return attempt.result()
    svc.spawn(_finish(svc, attempt, None), name=f"webhook-{item['sid']}")
    raise ApiError(503, "store_unavailable", "the store cannot take this webhook now")


async def _finish(svc: Services, attempt: asyncio.Future[None], kept: Path | None) -> None:
    """The attempt the webhook answered without: once it lands, the kept copy is not needed
    (if it fails, `apply_kept` tries the copy again)."""
    try:
        await attempt
    except Exception as exc:  # the kept copy is tried again; say why this one failed
        logger.warning("a webhook's store attempt failed: %s", exc.__class__.__name__)
        if kept is None:
            logger.error("a webhook neither stored nor kept is lost")
        return
    if kept is not None:
        await asyncio.to_thread(svc.spool.remove, kept)


async def apply_kept(svc: Services) -> None:
    """Apply the kept webhooks, oldest first, if this process has the spool's turn."""
    spool = svc.spool
    if not await asyncio.to_thread(spool.pending):
        return
    with spool.turn() as ours:
        if not ours:
            return
        for path in await asyncio.to_thread(spool.pending):
            item = await asyncio.to_thread(spool.load, path)
            if item is None:
                continue
            try:
                await apply(svc, item)
            except InboxError as exc:  # it can never be applied: keep it aside for the operator
                aside = await asyncio.to_thread(spool.set_aside, path)
                logger.error("a kept webhook was refused (%s); moved to %s", exc.code, aside)
                continue
            except Exception as exc:
                if not (isinstance(exc, OperationalError) or unreachable(exc)):
                    raise
                # The store is still stalled or away: next round. The driver's words only
                # (SQLAlchemy's own message carries the statement's parameters: bodies).
                said = exc.orig if isinstance(exc, DBAPIError) else exc
                logger.warning("the store still cannot take kept webhooks: %s", said)
                return
            await asyncio.to_thread(spool.remove, path)
