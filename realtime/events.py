"""The event vocabulary of `/ws` (DESIGN.md, "WebSocket"), in one place: every event type's
name and data shape (pydantic models with `extra="forbid"`; server/flows/events.py builds every
payload through them), the envelope, the bus's in-memory form of a logged event, and the frames
that answer a client's commands (ack, error, pong, resync)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from websockets.frames import Frame, Opcode

MESSAGE_CREATED: Final = "message.created"
MESSAGE_STATUS: Final = "message.status"
CONVERSATION_UPDATED: Final = "conversation.updated"
CONVERSATION_DELETED: Final = "conversation.deleted"
PRESENCE_CHANGED: Final = "presence.changed"
LOCK_ACQUIRED: Final = "lock.acquired"
LOCK_RELEASED: Final = "lock.released"
LOCK_IDLE_PROMPT: Final = "lock.idle_prompt"
# To the conversation's inbox (the supervisor board): the holder was asked whether they are
# still working (pending until `release_at`), and they answered (or took it up again). No
# answer ends as lock.released with reason `idle`.
LOCK_PROMPTED: Final = "lock.prompted"
LOCK_CONFIRMED: Final = "lock.confirmed"
NOTE_CREATED: Final = "note.created"  # a private note, to the inbox's members
MENTION_CREATED: Final = "mention.created"  # to the teammate a note names
TAG_UPDATED: Final = "tag.updated"  # the team's tag list: one made, renamed or recoloured
TAG_DELETED: Final = "tag.deleted"
MATTER_CHANGED: Final = "matter.changed"  # the team's matters: one made, renamed or archived
# Team-wide events that name something of one inbox in one field: the log row's `inbox_id` is
# that inbox, its members get the field, and the rest of the team gets it as null.
MASKED_FIELDS: Final = {"presence.changed": "viewing"}
# To one user: the inboxes they may see from this event on; the bus applies it to that user's
# sockets before any later event (access is decided at delivery time).
ACCESS_CHANGED: Final = "access.changed"
# An admin's changes: an inbox made or changed (to its members, and to the admins), a teammate
# made or changed (to the whole team).
INBOX_CREATED: Final = "inbox.created"
INBOX_UPDATED: Final = "inbox.updated"
USER_UPDATED: Final = "user.updated"
# To the admins: a number bought, labelled, assigned, registered, warned about or released.
PHONE_NUMBER_UPDATED: Final = "phone_number.updated"
# To the admins: the outgoing allowance reached 90 % or 100 % this month, or was changed.
TEAM_ALLOWANCE: Final = "team.allowance"
# To the admins: a campaign made, changed, sent or archived.
CAMPAIGN_UPDATED: Final = "campaign.updated"

EventType = Literal[
    "message.created",
    "message.status",
    "conversation.updated",
    "conversation.deleted",
    "presence.changed",
    "lock.acquired",
    "lock.released",
    "lock.idle_prompt",
    "lock.prompted",
    "lock.confirmed",
    "access.changed",
    "inbox.created",
    "inbox.updated",
    "user.updated",
    "phone_number.updated",
    "team.allowance",
    "campaign.updated",
    "note.created",
    "mention.created",
    "tag.updated",
    "tag.deleted",
    "matter.changed",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Sender(_Strict):
    id: int
    name: str
    kind: Literal["user", "bot"]


class AttachmentData(_Strict):
    id: int
    content_type: str
    size: int | None
    filename: str
    url: str
    inline: bool
    gone: bool


class MessageData(_Strict):
    id: int
    conversation_id: int
    inbox_id: int
    direction: Literal["inbound", "outbound", "note"]
    body: str
    attachments: list[AttachmentData]
    status: str
    error_code: str | None
    error_message: str | None
    segments: int
    provider_sid: str | None
    automatic: bool
    sender: Sender | None
    created_at: str
    mentions: list[Sender] | None = None  # a private note's: the teammates it names
    # An inbound text's: why it landed here (inbox/models.py ROUTED_REASONS) and whether it
    # starts a new thread. Absent from events logged before matters existed.
    routed: str | None = None
    starts_thread: bool = False


class ContactRef(_Strict):
    id: int
    name: str


class MatterRef(_Strict):
    id: int
    name: str


class MatterData(_Strict):
    id: int
    name: str
    client: ContactRef | None
    status: Literal["active", "archived"]
    inbox_id: int | None
    created_at: str


class TagData(_Strict):
    id: int
    name: str
    colour: str


class ConversationData(_Strict):
    id: int
    inbox_id: int
    counterparty: str
    contact: ContactRef | None
    status: Literal["open", "archived"]
    assignee: Sender | None
    unread: bool
    last_message_at: str | None
    read_only: bool
    opted_out: bool
    handed_off: bool
    tags: list[TagData] = []  # absent from events logged before tags existed
    # The customer's oldest text no person has answered yet (null: nobody waits); the queue
    # and the SLA flag count from it. Absent from events logged before it existed.
    waiting_since: str | None = None
    # The matter it is filed under. Absent from events logged before matters existed.
    matter: MatterRef | None = None


class MessageCreated(_Strict):
    id: int
    type: Literal["message.created"]
    ts: str
    data: MessageCreatedData


class MessageCreatedData(_Strict):
    message: MessageData
    conversation: ConversationData


class MessageStatus(_Strict):
    id: int
    type: Literal["message.status"]
    ts: str
    data: MessageStatusData


class MessageStatusData(_Strict):
    message: MessageData


class ConversationUpdated(_Strict):
    id: int
    type: Literal["conversation.updated"]
    ts: str
    data: ConversationUpdatedData


class ConversationUpdatedData(_Strict):
    conversation: ConversationData


class PresenceChangedData(_Strict):
    user: Sender
    status: Literal["online", "away", "offline"]
    viewing: int | None  # conversation id
    since: str | None = None  # in this status since; absent from events logged before it


class PresenceChanged(_Strict):
    id: int
    type: Literal["presence.changed"]
    ts: str
    data: PresenceChangedData


class LockAcquiredData(_Strict):
    conversation_id: int
    holder: Sender
    expires_at: str
    # The conversation's lock sequence number (the hold's fencing token). Events of one
    # conversation may be committed out of decision order: a client ignores a lock event whose
    # version is below the one it applied. Absent from events logged before it existed.
    version: int | None = None


class LockAcquired(_Strict):
    id: int
    type: Literal["lock.acquired"]
    ts: str
    data: LockAcquiredData


class LockReleasedData(_Strict):
    conversation_id: int
    holder: Sender
    # lost: Redis lost its data (a restart without persistence, a failover) and the lock too
    reason: Literal["released", "expired", "idle", "forced", "disconnected", "lost"]
    version: int | None = None  # as in LockAcquiredData: above the hold it ends


class LockReleased(_Strict):
    id: int
    type: Literal["lock.released"]
    ts: str
    data: LockReleasedData


class LockIdlePromptData(_Strict):
    conversation_id: int
    release_at: str


class LockIdlePrompt(_Strict):
    id: int
    type: Literal["lock.idle_prompt"]
    ts: str
    data: LockIdlePromptData


class LockPromptedData(_Strict):
    conversation_id: int
    holder: Sender
    release_at: str  # no answer by then: released (reason `idle`)
    version: int  # the hold's version, as in LockAcquiredData


class LockPrompted(_Strict):
    id: int
    type: Literal["lock.prompted"]
    ts: str
    data: LockPromptedData


class LockConfirmedData(_Strict):
    conversation_id: int
    holder: Sender
    expires_at: str
    version: int


class LockConfirmed(_Strict):
    id: int
    type: Literal["lock.confirmed"]
    ts: str
    data: LockConfirmedData


class ConversationDeleted(_Strict):
    """The conversation left this inbox: deleted, or moved to another inbox."""

    id: int
    type: Literal["conversation.deleted"]
    ts: str
    data: ConversationDeletedData


class ConversationDeletedData(_Strict):
    conversation_id: int
    inbox_id: int


class AccessChanged(_Strict):
    """To one user: the inboxes they may see from this event on (an admin changed members)."""

    id: int
    type: Literal["access.changed"]
    ts: str
    data: AccessChangedData


class AccessChangedData(_Strict):
    inbox_ids: list[int]


class InboxData(_Strict):
    id: int
    name: str
    code: str
    colour: str
    phone_number: str | None
    registration: str
    unsolicited: Literal["agent", "bot"]
    unsolicited_to: list[int]  # the bot (for `bot`), or the members who receive (for `agent`)
    mailroom: bool
    archived: bool
    sla_minutes: float | None = None  # the first-response target; absent before it existed


class InboxEventData(_Strict):
    inbox: InboxData


class InboxCreated(_Strict):
    id: int
    type: Literal["inbox.created"]
    ts: str
    data: InboxEventData


class InboxUpdated(_Strict):
    """Renamed, recoloured, given a number, archived...: every sidebar shows it at once."""

    id: int
    type: Literal["inbox.updated"]
    ts: str
    data: InboxEventData


class PersonData(_Strict):
    id: int
    name: str
    kind: Literal["user", "bot"]
    role: str
    disabled: bool


class UserUpdatedData(_Strict):
    user: PersonData


class UserUpdated(_Strict):
    """A teammate was added, renamed, given a role, disabled or enabled."""

    id: int
    type: Literal["user.updated"]
    ts: str
    data: UserUpdatedData


class NamedRef(_Strict):
    id: int
    name: str


class PhoneNumberData(_Strict):
    """A row of the numbers table (seed 002; inbox/numbers.py `number_views`)."""

    id: int
    phone_number: str
    name: str
    description: str
    agent: NamedRef | None
    agent_id: int | None
    inbox: NamedRef | None
    inbox_id: int | None
    type: Literal["agent", "bot"] | None  # the inbox's unsolicited handling
    active_campaign: NamedRef | None  # the campaign using it now (issue 19 fills these)
    campaign_archived_at: str | None
    number_type: Literal["reusable", "single_use"]
    registration: Literal["registered", "unregistered"]
    last_used_at: str | None
    expires_at: str | None  # when it is released if nothing is texted in or out
    expiring: bool  # inside the warning period: "expires on DATE"
    released: bool
    released_at: str | None
    release_reason: str | None
    created_at: str


class PhoneNumberEventData(_Strict):
    phone_number: PhoneNumberData


class PhoneNumberUpdated(_Strict):
    id: int
    type: Literal["phone_number.updated"]
    ts: str
    data: PhoneNumberEventData


class AllowanceData(_Strict):
    """The team's outgoing allowance this month (inbox/allowance.py `view`)."""

    month: str  # "2026-12", a UTC calendar month
    limit: int | None  # segments a month; None: unlimited
    used: int
    overage: int  # of `used`, the segments past the limit
    remaining: int | None
    when_out: Literal["refuse", "overage"]
    warning: bool  # 90 % or more used
    exhausted: bool


class TeamAllowanceData(_Strict):
    allowance: AllowanceData
    reached: Literal[90, 100] | None  # the level just reached; None: an admin changed it


class TeamAllowance(_Strict):
    id: int
    type: Literal["team.allowance"]
    ts: str
    data: TeamAllowanceData


class CampaignData(_Strict):
    """A campaign (inbox/campaigns.py `campaign_view`)."""

    id: int
    name: str
    inbox: NamedRef
    numbers: list[NamedRef]  # each phone number's id, and the number as `name`
    body: str
    contact_ids: list[int]
    recipient_numbers: list[str]
    status: Literal["draft", "scheduled", "active", "archived"]
    send_at: str | None
    archive_at: str
    handling: Literal["agent", "bot"]
    reply_inbox: NamedRef
    created_by: NamedRef | None
    sent_at: str | None
    queued: int
    skipped: int
    archived_at: str | None
    created_at: str


class CampaignEventData(_Strict):
    campaign: CampaignData


class CampaignUpdated(_Strict):
    id: int
    type: Literal["campaign.updated"]
    ts: str
    data: CampaignEventData


class NoteCreated(_Strict):
    """A private note: shown to the inbox's members, never sent as a text."""

    id: int
    type: Literal["note.created"]
    ts: str
    data: MessageCreatedData  # the note (direction "note") and its conversation


class MentionCreated(_Strict):
    """To one teammate: a note names them."""

    id: int
    type: Literal["mention.created"]
    ts: str
    data: MessageCreatedData


class TagUpdated(_Strict):
    id: int
    type: Literal["tag.updated"]
    ts: str
    data: TagUpdatedData


class TagUpdatedData(_Strict):
    tag: TagData


class TagDeleted(_Strict):
    """The tag left the team's list and every conversation."""

    id: int
    type: Literal["tag.deleted"]
    ts: str
    data: TagDeletedData


class TagDeletedData(_Strict):
    tag_id: int


class MatterChanged(_Strict):
    id: int
    type: Literal["matter.changed"]
    ts: str
    data: MatterChangedData


class MatterChangedData(_Strict):
    matter: MatterData


class Ack(_Strict):
    type: Literal["ack"]
    ref: str | None
    data: dict[str, Any]


class ErrorBody(_Strict):
    code: str
    message: str
    holder: Sender | None = None  # `locked`: who holds the conversation
    retry_after_ms: int | None = None  # `rate_limited`: send it again after this long


class ErrorFrame(_Strict):
    type: Literal["error"]
    ref: str | None
    error: ErrorBody


class Resync(_Strict):
    type: Literal["resync"]


class Pong(_Strict):
    type: Literal["pong"]
    ref: Any = None


ServerFrame = Annotated[
    MessageCreated
    | MessageStatus
    | ConversationUpdated
    | PresenceChanged
    | LockAcquired
    | LockReleased
    | LockIdlePrompt
    | LockPrompted
    | LockConfirmed
    | ConversationDeleted
    | AccessChanged
    | InboxCreated
    | InboxUpdated
    | UserUpdated
    | PhoneNumberUpdated
    | TeamAllowance
    | CampaignUpdated
    | NoteCreated
    | MentionCreated
    | TagUpdated
    | TagDeleted
    | MatterChanged
    | Ack
    | ErrorFrame
    | Resync
    | Pong,
    Field(discriminator="type"),
]
server_frame = TypeAdapter(ServerFrame)

for _model in (
    MessageCreated,
    MessageStatus,
    ConversationUpdated,
    ConversationDeleted,
    AccessChanged,
    NoteCreated,
    MentionCreated,
    TagUpdated,
    TagDeleted,
    MatterChanged,
):
    _model.model_rebuild()


def envelope(event_id: int, type: str, ts: str, data_json: str) -> str:
    """An event frame as JSON text, built around the already-encoded data (no re-encoding)."""
    return f'{{"id":{event_id},"type":"{type}","ts":"{ts}","data":{data_json}}}'


def wire_frame(text: str) -> bytes:
    """A server-to-client text frame: unmasked, so the same bytes suit every socket."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


@dataclass(frozen=True)
class LoggedEvent:
    """An event as the log holds it: the bus's one form of it, whether read from the store or
    from another process's doorbell. Who may see it is set when it is logged (`inbox_id`: that
    inbox's members; `user_id`: that user only; neither: the whole team). A type of
    MASKED_FIELDS goes to the whole team, and `inbox_id` says who gets its field unmasked."""

    team_id: int
    id: int
    type: str
    inbox_id: int | None
    user_id: int | None
    ts: str
    data: str  # JSON

    @cached_property
    def frame(self) -> str:
        return envelope(self.id, self.type, self.ts, self.data)

    @cached_property
    def wire(self) -> bytes:
        """The frame as it goes on the wire, encoded once for every recipient."""
        return wire_frame(self.frame)

    @cached_property
    def masked(self) -> tuple[str, bytes] | None:
        """For a MASKED_FIELDS type: the frame and its wire bytes for those outside `inbox_id`,
        with that field null (encoded once, for all of them); None for any other event."""
        field = MASKED_FIELDS.get(self.type)
        if field is None:
            return None
        data = json.loads(self.data)
        data[field] = None
        frame = envelope(self.id, self.type, self.ts, json.dumps(data, separators=(",", ":")))
        return frame, wire_frame(frame)

    @cached_property
    def access(self) -> frozenset[int] | None:
        """For `access.changed`: the user's inboxes from this event on."""
        if self.type != ACCESS_CHANGED:
            return None
        return frozenset(AccessChangedData.model_validate_json(self.data).inbox_ids)


def _reply(body: dict[str, Any]) -> str:
    return json.dumps(body)


def ack_frame(ref: Any, data: dict[str, Any]) -> str:
    return _reply({"type": "ack", "ref": ref, "data": data})


def error_frame(ref: Any, code: str, message: str, **extra: Any) -> str:
    return _reply(
        {"type": "error", "ref": ref, "error": {"code": code, "message": message, **extra}}
    )


def pong_frame(ref: Any) -> str:
    return _reply({"type": "pong", "ref": ref})


RESYNC_FRAME: Final = '{"type":"resync"}'
