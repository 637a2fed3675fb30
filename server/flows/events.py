"""Every event's payload, built here and nowhere else, and checked against its model in
realtime/events.py; and who may see it (the audience is set here, once, when the event is
logged: `inbox_id` for that inbox's members, `user_id` for one user, neither for the team).

The `append_*` functions run inside the change's own write transaction, so the change and its
event commit together (README.md, "The bus"); the caller announces the returned records after
commit. The `*_data` functions shape events that are logged later (lock decisions, queued by
flows/locks.py) and the answers that carry the same shape (acks, the board's REST calls)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from inbox import accounts, allowance, attachments, campaigns, eventlog, matters, memberships
from inbox.conversations import describe
from inbox.inboxes import inbox_views
from inbox.models import (
    Attachment,
    Campaign,
    Conversation,
    EventRecord,
    Inbox,
    Matter,
    Message,
    PhoneNumber,
    Tag,
    User,
)
from inbox.numbers import Lifetimes, number_views
from inbox.views import message_view, person_view, tag_view, users_by_id
from presence.locks import IdlePrompt, Lock, Released
from presence.status import PresenceState
from presence.types import Holder
from realtime import events as ev


def _shaped(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """`data`, after checking it is exactly the shape `model` says (extra fields refused)."""
    model.model_validate(data)
    return data


def iso_ms(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- messages and conversations ---------------------------------------------------------------


async def append_messages_created(
    session: AsyncSession,
    team_id: int,
    created: Sequence[tuple[Message, Conversation]],
    sender: User | None,
    media: Mapping[int, list[Attachment]] | None = None,
) -> list[EventRecord]:
    """`message.created` for each new message, to its inbox, with one bump of the team's id.
    `media`: each message's attachments, when the caller has them (else they are read)."""
    if not created:
        return []
    views = await describe(session, [c for _, c in created], None)
    if media is None:
        media = await attachments.of_messages(session, (m.id for m, _ in created))
    return await eventlog.append_events(
        session,
        team_id,
        [
            (
                ev.MESSAGE_CREATED,
                _shaped(
                    ev.MessageCreatedData,
                    {
                        "message": message_view(
                            message, sender, attachments=media.get(message.id or 0, [])
                        ),
                        "conversation": view,
                    },
                ),
                message.inbox_id,
            )
            for (message, _), view in zip(created, views, strict=True)
        ],
    )


async def append_message_created(
    session: AsyncSession, message: Message, conversation: Conversation, sender: User | None
) -> EventRecord:
    (record,) = await append_messages_created(
        session, message.team_id, [(message, conversation)], sender
    )
    return record


async def append_message_statuses(
    session: AsyncSession, team_id: int, changed: Sequence[Message]
) -> list[EventRecord]:
    """`message.status` for each message whose delivery status (or provider id) changed."""
    senders = await users_by_id(session, (m.sender_id for m in changed))
    media = await attachments.of_messages(session, (m.id for m in changed))
    return await eventlog.append_events(
        session,
        team_id,
        [
            (
                ev.MESSAGE_STATUS,
                _shaped(
                    ev.MessageStatusData,
                    {
                        "message": message_view(
                            m, senders.get(m.sender_id or 0), attachments=media.get(m.id or 0, [])
                        )
                    },
                ),
                m.inbox_id,
            )
            for m in changed
        ],
    )


async def append_conversation_updated(
    session: AsyncSession, conversation: Conversation, user_id: int | None = None
) -> EventRecord:
    """`conversation.updated` to the inbox; with `user_id`, to that user only (their read
    state, which only they see)."""
    (view,) = await describe(session, [conversation], user_id)
    return await eventlog.append_event(
        session,
        conversation.team_id,
        ev.CONVERSATION_UPDATED,
        _shaped(ev.ConversationUpdatedData, {"conversation": view}),
        inbox_id=conversation.inbox_id,
        user_id=user_id,
    )


async def append_conversations_updated(
    session: AsyncSession, conversations: Sequence[Conversation]
) -> list[EventRecord]:
    return [await append_conversation_updated(session, c) for c in conversations]


async def append_note_created(
    session: AsyncSession,
    note: Message,
    conversation: Conversation,
    author: User,
    mentioned: Sequence[User],
) -> list[EventRecord]:
    """`note.created` to the inbox's members, and `mention.created` to each teammate the note
    names (logged with the inbox too, so it is theirs only while they are a member, and
    deleting the conversation erases it with the rest)."""
    (view,) = await describe(session, [conversation], None)
    data = _shaped(
        ev.MessageCreatedData,
        {"message": message_view(note, author, mentioned), "conversation": view},
    )
    records = [
        await eventlog.append_event(
            session, note.team_id, ev.NOTE_CREATED, data, inbox_id=note.inbox_id
        )
    ]
    for user in mentioned:
        records.append(
            await eventlog.append_event(
                session,
                note.team_id,
                ev.MENTION_CREATED,
                data,
                inbox_id=note.inbox_id,
                user_id=user.id,
            )
        )
    return records


def _tombstone(conversation: Conversation) -> dict[str, Any]:
    assert conversation.id is not None
    data = {"conversation_id": conversation.id, "inbox_id": conversation.inbox_id}
    return _shaped(ev.ConversationDeletedData, data)


def _mentions(conversation_id: int) -> list[str]:
    """How logged data names a conversation. Logged data is compact JSON (inbox/eventlog.py):
    a message names it as "conversation_id":N (message and lock data), a conversation view
    opens {"id":N, (the models above put those fields first)."""
    return [f'"conversation_id":{conversation_id},', f'"conversation":{{"id":{conversation_id},']


async def append_conversation_left(
    session: AsyncSession, conversation: Conversation, *, erase: bool = False
) -> EventRecord:
    """`conversation.deleted` to the members of the conversation's inbox (as it is now): it was
    moved elsewhere or, with `erase`, deleted, and then every earlier logged event about it
    becomes the same tombstone first (so replay never hands out the deleted texts)."""
    gone = _tombstone(conversation)
    if erase:
        assert conversation.id is not None
        await eventlog.rewrite_events(
            session,
            conversation.team_id,
            conversation.inbox_id,
            _mentions(conversation.id),
            ev.CONVERSATION_DELETED,
            gone,
        )
    return await eventlog.append_event(
        session,
        conversation.team_id,
        ev.CONVERSATION_DELETED,
        gone,
        inbox_id=conversation.inbox_id,
    )


# -- the team's tags -------------------------------------------------------------------------


async def append_tag_updated(session: AsyncSession, tag: Tag) -> EventRecord:
    """`tag.updated` to the team: a tag was made, renamed or recoloured."""
    data = _shaped(ev.TagUpdatedData, {"tag": tag_view(tag)})
    return await eventlog.append_event(session, tag.team_id, ev.TAG_UPDATED, data)


async def append_tag_deleted(session: AsyncSession, tag: Tag) -> EventRecord:
    assert tag.id is not None
    data = _shaped(ev.TagDeletedData, {"tag_id": tag.id})
    return await eventlog.append_event(session, tag.team_id, ev.TAG_DELETED, data)


# -- the team's matters ----------------------------------------------------------------------


async def append_matter_changed(session: AsyncSession, matter: Matter) -> EventRecord:
    """`matter.changed` to the team: a matter was made, renamed, re-assigned or archived."""
    (view,) = await matters.describe(session, [matter])
    data = _shaped(ev.MatterChangedData, {"matter": view})
    return await eventlog.append_event(session, matter.team_id, ev.MATTER_CHANGED, data)


# -- access -----------------------------------------------------------------------------------


async def append_access_changed(
    session: AsyncSession, team_id: int, user_ids: Sequence[int]
) -> list[EventRecord]:
    """`access.changed` to each user: the inboxes they may see from this event on."""
    records = []
    for user_id in user_ids:
        inbox_ids = await memberships.inbox_ids_of(session, user_id, team_id)
        data = _shaped(ev.AccessChangedData, {"inbox_ids": inbox_ids})
        records.append(
            await eventlog.append_event(session, team_id, ev.ACCESS_CHANGED, data, user_id=user_id)
        )
    return records


# -- admin changes ----------------------------------------------------------------------------


async def append_inbox_changed(
    session: AsyncSession, inbox: Inbox, *, created: bool = False, admins_only: bool = False
) -> list[EventRecord]:
    """`inbox.created` or `inbox.updated`: to the inbox's members who may see it, and to each
    admin who is not a member (the settings pages show every inbox); with `admins_only`, to the
    admins alone (a change of members: what members see of the inbox is the same)."""
    assert inbox.id is not None
    (view,) = await inbox_views(session, [inbox])
    data = _shaped(ev.InboxEventData, {"inbox": view})
    kind = ev.INBOX_CREATED if created else ev.INBOX_UPDATED
    records = []
    outside = await accounts.admin_ids(session, inbox.team_id)
    if not admins_only:
        records.append(
            await eventlog.append_event(session, inbox.team_id, kind, data, inbox_id=inbox.id)
        )
        outside -= await memberships.member_ids(session, inbox.id)
    for admin_id in sorted(outside):
        records.append(
            await eventlog.append_event(session, inbox.team_id, kind, data, user_id=admin_id)
        )
    return records


async def append_user_updated(session: AsyncSession, user: User) -> EventRecord:
    """`user.updated` to the whole team: a teammate made, renamed, given a role, disabled or
    enabled (nothing private: no username)."""
    data = _shaped(ev.UserUpdatedData, {"user": person_view(user)})
    return await eventlog.append_event(session, user.team_id, ev.USER_UPDATED, data)


async def append_phone_numbers_updated(
    session: AsyncSession,
    team_id: int,
    numbers: Sequence[PhoneNumber],
    lifetimes: Lifetimes,
    now: datetime,
) -> list[EventRecord]:
    """`phone_number.updated` to each admin of the team (the numbers table is theirs alone),
    one per number: bought, labelled, assigned, registered, warned about or released."""
    views = await number_views(session, numbers, lifetimes, now)
    admins = sorted(await accounts.admin_ids(session, team_id))
    records = []
    for view in views:
        data = _shaped(ev.PhoneNumberEventData, {"phone_number": view})
        for admin_id in admins:
            records.append(
                await eventlog.append_event(
                    session, team_id, ev.PHONE_NUMBER_UPDATED, data, user_id=admin_id
                )
            )
    return records


async def _to_admins(
    session: AsyncSession, team_id: int, kind: str, data: dict[str, Any]
) -> list[EventRecord]:
    admins = sorted(await accounts.admin_ids(session, team_id))
    return [
        await eventlog.append_event(session, team_id, kind, data, user_id=admin_id)
        for admin_id in admins
    ]


async def append_allowance(
    session: AsyncSession, team_id: int, now: datetime, *, changed: bool = False
) -> list[EventRecord]:
    """`team.allowance` to the admins: when this month's count reaches 90 % or 100 % (once each
    a month: inbox/allowance.py), or, `changed`, when an admin set it. Call it in the write
    transaction of every send that counted, after the count."""
    reached = await allowance.due_warning(session, team_id, now)
    if reached is None and not changed:
        return []
    counter = await allowance.view(session, team_id, now)
    data = _shaped(ev.TeamAllowanceData, {"allowance": counter, "reached": reached})
    return await _to_admins(session, team_id, ev.TEAM_ALLOWANCE, data)


async def append_campaigns_updated(
    session: AsyncSession, team_id: int, rows: Sequence[Campaign], now: datetime
) -> list[EventRecord]:
    """`campaign.updated` to the admins (campaigns are theirs): made, changed, sent, archived."""
    records = []
    for view in await campaigns.campaign_views(session, rows, now):
        data = _shaped(ev.CampaignEventData, {"campaign": view})
        records += await _to_admins(session, team_id, ev.CAMPAIGN_UPDATED, data)
    return records


# -- locks and presence -----------------------------------------------------------------------


def lock_data(lock: Lock, *, board: bool = False) -> dict[str, Any]:
    """`lock.acquired` data; the supervisor board adds `since` and `idle_prompt_pending`."""
    data: dict[str, Any] = {
        "conversation_id": lock.conversation_id,
        "holder": lock.holder.view(),
        "expires_at": iso_ms(lock.expires_at_ms),
        "version": lock.token,
    }
    if board:
        data["since"] = iso_ms(lock.since_ms)
        data["idle_prompt_pending"] = lock.prompt_release_at_ms > 0
        return data
    return _shaped(ev.LockAcquiredData, data)


def released_data(released: Released) -> dict[str, Any]:
    data = {
        "conversation_id": released.conversation_id,
        "holder": released.holder.view(),
        "reason": released.reason,
        "version": released.version,
    }
    return _shaped(ev.LockReleasedData, data)


def idle_prompt_data(prompt: IdlePrompt) -> dict[str, Any]:
    data = {"conversation_id": prompt.conversation_id, "release_at": iso_ms(prompt.release_at_ms)}
    return _shaped(ev.LockIdlePromptData, data)


def prompted_data(prompt: IdlePrompt) -> dict[str, Any]:
    data = {
        "conversation_id": prompt.conversation_id,
        "holder": prompt.holder.view(),
        "release_at": iso_ms(prompt.release_at_ms),
        "version": prompt.version,
    }
    return _shaped(ev.LockPromptedData, data)


def confirmed_data(
    conversation_id: int, holder: Holder, expires_at_ms: int, version: int
) -> dict[str, Any]:
    data = {
        "conversation_id": conversation_id,
        "holder": holder.view(),
        "expires_at": iso_ms(expires_at_ms),
        "version": version,
    }
    return _shaped(ev.LockConfirmedData, data)


def presence_data(state: PresenceState) -> dict[str, Any]:
    since = None if state.since_ms is None else iso_ms(state.since_ms)
    data = {
        "user": state.user.view(),
        "status": state.status,
        "viewing": state.viewing,
        "since": since,
    }
    return _shaped(ev.PresenceChangedData, data)


async def append_lock_acquired(session: AsyncSession, lock: Lock) -> EventRecord:
    return await eventlog.append_event(
        session, lock.team_id, ev.LOCK_ACQUIRED, lock_data(lock), inbox_id=lock.inbox_id
    )


async def append_lock_released(session: AsyncSession, released: Released) -> EventRecord:
    return await eventlog.append_event(
        session,
        released.team_id,
        ev.LOCK_RELEASED,
        released_data(released),
        inbox_id=released.inbox_id,
    )


async def append_idle_prompt(session: AsyncSession, prompt: IdlePrompt) -> EventRecord:
    """To the holder only: are you still working on this reply?"""
    return await eventlog.append_event(
        session,
        prompt.team_id,
        ev.LOCK_IDLE_PROMPT,
        idle_prompt_data(prompt),
        user_id=prompt.holder.id,
    )


async def append_lock_prompted(session: AsyncSession, prompt: IdlePrompt) -> EventRecord:
    """To the inbox (the board): the holder's idle prompt is pending."""
    return await eventlog.append_event(
        session, prompt.team_id, ev.LOCK_PROMPTED, prompted_data(prompt), inbox_id=prompt.inbox_id
    )


async def append_lock_confirmed(session: AsyncSession, lock: Lock) -> EventRecord:
    data = confirmed_data(lock.conversation_id, lock.holder, lock.expires_at_ms, lock.token)
    return await eventlog.append_event(
        session, lock.team_id, ev.LOCK_CONFIRMED, data, inbox_id=lock.inbox_id
    )


async def append_presence_changed(session: AsyncSession, state: PresenceState) -> EventRecord:
    """To the whole team; `viewing` only to members of the viewed conversation's inbox (the
    others get it as null: realtime/events.py, MASKED_FIELDS)."""
    return await eventlog.append_event(
        session,
        state.team_id,
        ev.PRESENCE_CHANGED,
        presence_data(state),
        inbox_id=await _inbox_of(session, state.viewing),
    )


async def _inbox_of(session: AsyncSession, conversation_id: int | None) -> int | None:
    if conversation_id is None:
        return None
    conversation = await session.get(Conversation, conversation_id)
    return conversation.inbox_id if conversation is not None else None


async def visible_presence(
    session: AsyncSession, states: Sequence[PresenceState], visible: set[int]
) -> list[dict[str, Any]]:
    """`presence.changed` data of each state for a caller who sees the `visible` inboxes:
    `viewing` null where the viewed conversation is in another inbox."""
    items = []
    for state in states:
        data = presence_data(state)
        if await _inbox_of(session, state.viewing) not in visible:
            data["viewing"] = None
        items.append(data)
    return items
