"""Inbound texts in the store: each stored once per MessageSid, in the conversation of its
(inbox, sender), many in one write transaction (server/flows/inbound.py gathers the texts that
arrive while one is being written). The caller appends the events that describe them.

The texts of a batch cost a handful of statements whatever their number (the inboxes, the sids
already stored, the conversations, the new ones' contacts, one insert of the conversations made,
one of the messages, one update of the conversations), as table statements: the ORM's unit of
work cost more than the rest of a webhook together (docs/performance.md, "Ingest"). The models
returned are built from the rows and never added to the session. It relies on writes running
one at a time (inbox/db.py): a sid or a conversation checked absent stays absent until commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inbox import report_days
from inbox.attachments import record_received
from inbox.campaigns import reply_routes
from inbox.contacts import newest_contacts
from inbox.errors import InboxError, NotFoundError
from inbox.inboxes import unsolicited_receiver
from inbox.mailroom import mailroom_for_number
from inbox.messages import message_row
from inbox.models import Attachment, Conversation, Inbox, Message, utcnow
from inbox.optout import keyword_action
from inbox.routing import Route, route_texts

# A text after this long without any text in its conversation starts a new thread (seed 000:
# 30 days; SWITCHBOARD_THREAD_DAYS).
THREAD_AFTER = timedelta(days=30)


@dataclass(frozen=True)
class InboundText:
    """A text as the provider reported it, its numbers in E.164."""

    to: str
    from_: str
    body: str
    provider_sid: str
    media_urls: tuple[str, ...] = ()
    media_types: tuple[str | None, ...] = ()  # the provider's content type of each


@dataclass
class Stored:
    """What an inbound text stored: the message and its conversation (as they were right after
    this text, for its event), and the inbox it reached."""

    message: Message
    conversation: Conversation
    inbox: Inbox
    created: bool  # False for a repeated MessageSid: nothing changed
    new_mailroom: Inbox | None = None  # the team's Mailroom, when this text made it
    attachments: list[Attachment] = field(default_factory=list)  # a new message's media


_MESSAGE = Message.metadata.tables["message"]
_CONVERSATION = Conversation.metadata.tables["conversation"]
_INBOX = Inbox.metadata.tables["inbox"]
# Built once, the lists as expanding parameters: building a statement (and its cache key) cost
# more than running it here.
_SELECT_INBOXES = select(_INBOX).where(
    _INBOX.c.phone_number.in_(bindparam("numbers", expanding=True))
)
_SELECT_SIDS = select(_MESSAGE.c.provider_sid, _MESSAGE.c.id).where(
    _MESSAGE.c.provider_sid.in_(bindparam("sids", expanding=True))
)
_SELECT_CONVERSATIONS = select(_CONVERSATION).where(
    _CONVERSATION.c.inbox_id == bindparam("inbox"),
    _CONVERSATION.c.counterparty.in_(bindparam("numbers", expanding=True)),
)
# Each new row's id with a key unique among the batch's rows, not in the rows' order: asking for
# that order made SQLite insert the rows one statement each.
_INSERT_MESSAGES = insert(_MESSAGE).returning(_MESSAGE.c.provider_sid, _MESSAGE.c.id)
_INSERT_CONVERSATIONS = insert(_CONVERSATION).returning(
    _CONVERSATION.c.counterparty, _CONVERSATION.c.id
)
_UPDATE_CONVERSATIONS = (
    update(_CONVERSATION)
    .where(_CONVERSATION.c.id == bindparam("conversation"))
    .values(
        last_message_at=bindparam("at"),
        last_inbound_at=bindparam("at"),
        status=bindparam("new_status"),
        handed_off=bindparam("new_handed_off"),
        waiting_since=bindparam("new_waiting_since"),
        matter_id=bindparam("new_matter_id"),
    )
)


async def receive_inbound(
    session: AsyncSession, texts: Sequence[InboundText], thread_after: timedelta = THREAD_AFTER
) -> list[Stored | InboxError]:
    """Store each text once per sid, routed by its `to` number (inbox/routing.py); one result
    per text, in order (a repeated sid gets the message stored first; a number that is not a
    team's, NotFoundError)."""
    results: list[Stored | InboxError | None] = [None] * len(texts)
    inboxes = await _inboxes(session, {t.to for t in texts})
    stored_before = await _stored_sids(session, {t.provider_sid for t in texts})
    routed: list[tuple[int, InboundText, Inbox]] = []
    for i, text in enumerate(texts):
        found = inboxes.of[text.to]
        if text.to in inboxes.own and keyword_action(text.body) is not None:
            found = inboxes.own[text.to]  # STOP/START/HELP are the number's own (opt-outs too)
        if isinstance(found, InboxError):
            results[i] = found
        elif text.provider_sid in stored_before:
            results[i] = await _repeated(session, stored_before[text.provider_sid], found)
        else:
            routed.append((i, text, found))
    routes = await route_texts(session, [(inbox, text.from_) for _, text, inbox in routed])
    conversations = await _conversations(
        session,
        [(route.inbox, text.from_) for (_, text, _), route in zip(routed, routes, strict=True)],
    )
    now = utcnow()
    rows: list[dict[str, Any]] = []
    firsts: dict[str, int] = {}  # sid -> the index of the text of this batch that stored it
    stored: list[tuple[int, Route, dict[str, Any]]] = []  # each new message's conversation
    for (i, text, _), route in zip(routed, routes, strict=True):
        if text.provider_sid in firsts:  # the same sid twice in one batch: stored once
            stored.append((i, route, {}))
            continue
        firsts[text.provider_sid] = i
        conversation = conversations[(_id(route.inbox), text.from_)]
        quiet_since = conversation["last_message_at"]
        rows.append(
            message_row(
                conversation["team_id"],
                conversation["inbox_id"],
                conversation["id"],
                "inbound",
                text.body,
                "received",
                now,
                provider_sid=text.provider_sid,
                routed=route.reason,
                starts_thread=quiet_since is not None and now - quiet_since > thread_after,
            )
        )
        if route.matter_id is not None:
            conversation["matter_id"] = route.matter_id
        conversation["last_message_at"] = conversation["last_inbound_at"] = now
        if conversation["waiting_since"] is None:  # the customer waits for a person from now
            conversation["waiting_since"] = now
        if conversation["status"] == "archived":
            conversation["status"] = "open"  # a customer writing again revives it
            conversation["handed_off"] = False  # a new request: an inbox's bot may take it again
        if inboxes.by_campaign.get(text.to) is route.inbox and route.inbox.unsolicited == "agent":
            conversation["handed_off"] = True  # the campaign has people answer: no bot takes it
        conversation["touched"] = True
        stored.append((i, route, _columns(conversation)))  # as it is after this text
    if not rows:
        return [r for r in results if r is not None]
    inserted = await session.execute(_INSERT_MESSAGES, rows)
    ids: dict[str, int] = {sid: message_id for sid, message_id in inserted}
    tally = report_days.Tally()
    for row in rows:
        tally.add(row["inbox_id"], now, texts_in=1)
    for c in conversations.values():
        if c.get("made"):
            tally.add(c["inbox_id"], c["created_at"], opened=1)
    await report_days.count(session, tally)
    messages = {
        sid: Message.model_construct(id=ids[sid], **row)
        for sid, row in zip(firsts, rows, strict=True)
    }
    media: dict[str, list[Attachment]] = {}  # as the provider named them (fetched when viewed)
    for sid, i in firsts.items():
        if texts[i].media_urls:
            media[sid] = record_received(
                session, messages[sid], texts[i].media_urls, texts[i].media_types
            )
    if media:
        await session.flush()  # their ids, for the events
    for i, route, conversation in stored:
        message = messages[texts[i].provider_sid]
        if conversation:
            reached = inboxes.of[texts[i].to]
            assert isinstance(reached, Inbox)
            made = reached if _id(reached) in inboxes.made else None
            view = Conversation.model_construct(**conversation)
            got = media.get(texts[i].provider_sid, [])
            results[i] = Stored(message, view, route.inbox, True, made, got)
        else:
            first = results[firsts[texts[i].provider_sid]]
            assert isinstance(first, Stored)
            results[i] = Stored(message, first.conversation, route.inbox, created=False)
    changes = [
        {
            "conversation": c["id"],
            "at": now,
            "new_status": c["status"],
            "new_handed_off": c["handed_off"],
            "new_waiting_since": c["waiting_since"],
            "new_matter_id": c["matter_id"],
        }
        for c in conversations.values()
        if c.get("touched")
    ]
    await session.execute(_UPDATE_CONVERSATIONS, changes)
    return [r for r in results if r is not None]


def _columns(conversation: dict[str, Any]) -> dict[str, Any]:
    return {name: conversation[name] for name in _CONVERSATION.c.keys()}


def _id(row: Inbox) -> int:
    if row.id is None:
        raise RuntimeError("Cannot route a text through a row that was never flushed.")
    return row.id


@dataclass
class _Inboxes:
    """The inbox of each `to` number (or why there is none), and the Mailrooms made on the way."""

    of: dict[str, Inbox | InboxError]
    made: set[int]
    # Numbers whose texts go where an active campaign says, its handling as `unsolicited`,
    # and the inbox each would have had (keywords still go there).
    by_campaign: dict[str, Inbox] = field(default_factory=dict)
    own: dict[str, Inbox] = field(default_factory=dict)


async def _inboxes(session: AsyncSession, numbers: set[str]) -> _Inboxes:
    found = _Inboxes({}, set())
    rows = await session.execute(_SELECT_INBOXES, {"numbers": list(numbers)})
    for row in rows.mappings():
        found.of[row["phone_number"]] = Inbox.model_construct(**row)
    # Seed 002: while a campaign using a number is active, its handling overrides the number's.
    found.by_campaign = await reply_routes(session, numbers, utcnow())
    found.own = {
        n: i for n, i in found.of.items() if n in found.by_campaign and isinstance(i, Inbox)
    }
    found.of |= found.by_campaign
    for number in sorted(numbers - found.of.keys()):  # a team number no inbox has: its Mailroom
        mailroom, made = await mailroom_for_number(session, number)
        if mailroom is None:
            found.of[number] = NotFoundError(f"no inbox has the number {number}")
            continue
        found.of[number] = mailroom
        if made:
            found.made.add(_id(mailroom))
    return found


async def _stored_sids(session: AsyncSession, sids: set[str]) -> dict[str, int]:
    rows = await session.execute(_SELECT_SIDS, {"sids": list(sids)})
    return {sid: message_id for sid, message_id in rows}


async def _repeated(session: AsyncSession, message_id: int, inbox: Inbox) -> Stored:
    message = await session.get(Message, message_id)
    assert message is not None
    conversation = await session.get(Conversation, message.conversation_id)
    assert conversation is not None
    return Stored(message, conversation, inbox, created=False)


async def _conversations(
    session: AsyncSession, wanted: Sequence[tuple[Inbox, str]]
) -> dict[tuple[int, str], dict[str, Any]]:
    """The columns of the conversation of each (inbox, number), made where there is none."""
    found: dict[tuple[int, str], dict[str, Any]] = {}
    by_inbox: dict[int, tuple[Inbox, set[str]]] = {}
    for inbox, number in wanted:
        by_inbox.setdefault(_id(inbox), (inbox, set()))[1].add(number)
    for inbox_id, (inbox, numbers) in by_inbox.items():
        rows = await session.execute(
            _SELECT_CONVERSATIONS, {"inbox": inbox_id, "numbers": list(numbers)}
        )
        for row in rows.mappings():
            found[(inbox_id, row["counterparty"])] = dict(row)
        missing = sorted(n for n in numbers if (inbox_id, n) not in found)
        for conversation in await _create(session, inbox, missing):
            found[(inbox_id, conversation["counterparty"])] = conversation
    return found


async def _create(session: AsyncSession, inbox: Inbox, numbers: list[str]) -> list[dict[str, Any]]:
    """New conversations, customers writing first: on an `agent` inbox that names receivers each
    is assigned to one of them (inbox/inboxes.py), so its first event names the assignee."""
    if not numbers:
        return []
    contact_of = await newest_contacts(session, inbox.team_id, numbers)
    now = utcnow()
    made: list[dict[str, Any]] = []
    shared: list[dict[str, Any]] = []
    for number in numbers:
        row = {
            "team_id": inbox.team_id,
            "inbox_id": inbox.id,
            "counterparty": number,
            "contact_id": contact_of.get(number),
            "status": "open",
            # Automatic assignment, when on, chooses instead (inbox/assignment.py).
            "assignee_id": (
                await unsolicited_receiver(session, inbox) if inbox.assignment == "off" else None
            ),
            "read_only": False,
            "handed_off": False,
            "away_period": None,
            "last_message_at": now,
            "last_inbound_at": None,
            "lock_fence": 0,
            "waiting_since": None,
            "archived_at": None,
            "matter_id": None,
            "created_at": now,
        }
        if row["assignee_id"] is None:
            shared.append(row)
        else:  # stored at once: the next one's choice counts it
            made += await _insert_conversations(session, [row])
    return made + await _insert_conversations(session, shared)


async def _insert_conversations(
    session: AsyncSession, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    if not rows:
        return []
    # One inbox's rows, one per number.
    inserted = await session.execute(_INSERT_CONVERSATIONS, rows)
    ids: dict[str, int] = {number: conversation_id for number, conversation_id in inserted}
    return [{"id": ids[row["counterparty"]], "made": True, **row} for row in rows]
