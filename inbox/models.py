"""The store's tables. Alembic migrations in `inbox/migrations/` follow these models."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlmodel import Field, SQLModel

ROLES = ("admin", "supervisor", "agent", "bot")
# Roles that oversee the team: the supervisor board, force release, the Mailroom.
SUPERVISING_ROLES = ("admin", "supervisor")
ADMIN_ROLES = ("admin",)  # team settings: inboxes, members, deleting conversations
# Roles an admin gives people (bots are made as bots and stay bots).
PERSON_ROLES = ("agent", "supervisor", "admin")
REGISTRATION_STATES = ("unregistered", "pending", "registered", "failed")
NUMBER_TYPES = ("reusable", "single_use")  # seed 002: a number kept, or one used for one campaign
UNSOLICITED_MODES = ("agent", "bot")
# Event ids are 64-bit; on SQLite INTEGER is 64-bit already, and only an INTEGER primary key is
# the rowid that numbers rows by itself (revision 0006_scale changes PostgreSQL only).
EVENT_ID = BigInteger().with_variant(Integer(), "sqlite")
# How a new or unassigned conversation that gets a text is given an assignee (inbox/assignment.py).
ASSIGNMENT_MODES = ("off", "round_robin", "least_busy")
# Seed 003: "100 free Outgoing Text Messages upon first enabling the feature", in segments.
NEW_TEAM_ALLOWANCE = 100
# Past the allowance: refuse the send (409 quota_exhausted), or send and count the overage.
ALLOWANCE_MODES = ("refuse", "overage")
CAMPAIGN_STATES = ("draft", "scheduled", "active", "archived")
NOTE = "note"  # the direction of a private note's message row: never sent (inbox/notes.py)
MATTER_STATES = ("active", "archived")
# Why an inbound text landed where it did (inbox/routing.py; docs/decisions.md, "Matters and
# routing"): texted to an inbox's own number; to a team number no inbox has, and then: the
# client's only active matter, the most recently active of several, the matter its
# conversation is filed under, or the Mailroom (no contact has the number; its contact has no
# active matter).
ROUTED_REASONS = (
    "inbox",
    "matter",
    "matter_latest",
    "filed",
    "unknown_number",
    "no_active_matter",
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Team(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    # Last event id handed out; bumped inside each writing transaction so ids commit in order.
    last_event_id: int = Field(default=0, sa_type=EVENT_ID)
    # Outgoing segments a month (inbox/allowance.py); None: unlimited. A new team starts with
    # NEW_TEAM_ALLOWANCE (seed 003's free messages); teams from before 0010_campaigns: None.
    allowance_segments: int | None = NEW_TEAM_ALLOWANCE
    # What a send past the allowance does: one of ALLOWANCE_MODES.
    allowance_when_out: str = Field(
        default="overage", sa_column_kwargs={"server_default": "overage"}
    )
    created_at: datetime = Field(default_factory=utcnow)


class User(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("username"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    username: str
    name: str
    role: str = "agent"  # one of ROLES; "bot" users connect with tokens only
    password_hash: str | None = None
    # Set: the user can neither log in nor use a token; their name stays on their messages.
    disabled_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Token(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(unique=True)  # sha256 hex of the token; the token itself is never kept
    label: str = ""  # the token's name, as the admin gave it
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    expires_at: datetime | None = None  # None: until revoked


class Inbox(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("team_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    name: str
    code: str  # short API code, unique in the team
    colour: str = "#2f6fed"
    # E.164, as its PhoneNumber row has it (inbox/inboxes.py `assign_number` keeps the two
    # together): the number texts to it arrive at and replies go from.
    phone_number: str | None = Field(default=None, index=True)
    forwarding_number: str | None = None  # E.164 that calls to the number ring (voice_forward_to)
    registration: str = "unregistered"  # one of REGISTRATION_STATES
    unsolicited: str = "agent"  # one of UNSOLICITED_MODES
    # For `bot`: the bot user (a user id) that answers unsolicited texts (None: any bot
    # member). No foreign key: SQLite would rebuild the table to add one (0005_admin).
    unsolicited_bot_id: int | None = None
    mailroom: bool = False  # the team's catch-all for texts to numbers no inbox has
    help_text: str = ""  # the automatic answer to HELP / INFO
    away_enabled: bool = False
    away_message: str = ""
    away_schedule: str | None = None  # JSON {"mon": [["09:00", "17:00"]], ...}: open hours
    away_timezone: str = "UTC"  # IANA name the schedule is read in
    away_since: datetime | None = None  # when the switch was turned on (names the away period)
    assignment: str = Field(default="off", sa_column_kwargs={"server_default": "off"})
    # At most this many open conversations of the inbox per agent (None: no cap).
    assignment_cap: int | None = None
    # Round-robin's place: the member given the last conversation (kept in the store, so every
    # process continues from the same place; decided in the write transaction).
    assignment_last_id: int | None = None
    # The first-response target (None: none); fractions allowed (a test's target of seconds).
    sla_minutes: float | None = None
    # Set: archived. Its conversations stay readable and refuse sends; its number was let go.
    archived_at: datetime | None = None
    # When its number was last replaced (seed 001: at most once per REPLACE_EVERY_DAYS).
    number_replaced_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class InboxMember(SQLModel, table=True):
    inbox_id: int = Field(foreign_key="inbox.id", primary_key=True)
    user_id: int = Field(foreign_key="user.id", primary_key=True, index=True)
    # For `agent` inboxes: this member receives unsolicited texts (a new conversation is
    # assigned to one of those who do). None of them: the inbox's members share them.
    unsolicited: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )


class PhoneNumber(SQLModel, table=True):
    # One inbox, one number: at most one number has a given inbox.
    __table_args__ = (Index("uq_phonenumber_inbox_id", "inbox_id", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    number: str = Field(unique=True)  # E.164
    label: str = ""  # its name in the numbers table
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    inbox_id: int | None = Field(default=None, foreign_key="inbox.id")
    # The agent responsible for it (seed 002). No foreign key: SQLite would rebuild the table.
    agent_id: int | None = None
    number_type: str = Field(default="reusable", sa_column_kwargs={"server_default": "reusable"})
    # In the team's registered A2P campaign (its messaging service): it may send.
    registered: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    provider_sid: str | None = None
    # Set: given back to the carrier; the row stays and the number is never used here again.
    released_at: datetime | None = None
    release_reason: str | None = None  # "released" (an admin), "idle", "replaced"
    last_used_at: datetime | None = None  # the last text in or out
    # When admins were told it is about to be released for idleness (once per idle spell).
    warned_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class CarrierRegistration(SQLModel, table=True):
    """The team's A2P 10DLC brand and campaign (inbox/registrations.py): what the admin
    entered, the provider's `Registration` as it last advanced, and the state polled."""

    __tablename__ = "carrier_registration"
    team_id: int = Field(foreign_key="team.id", primary_key=True)
    state: str = "pending"  # one of REGISTRATION_STATES
    business: str = Field(sa_column=Column(Text, nullable=False))  # JSON BusinessDetails
    campaign: str = Field(sa_column=Column(Text, nullable=False))  # JSON CampaignDetails
    registration: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    brand_status: str | None = None
    campaign_status: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    checked_at: datetime | None = None


class Contact(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    name: str
    # What the team knows about them ("who is this"), shown beside the thread.
    notes: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime = Field(default_factory=utcnow)


class ContactNumber(SQLModel, table=True):
    """One of a contact's numbers. Several contacts of a team may share one (a family's or an
    office's phone); the number then means the most recently created of them (newest_contacts)."""

    __table_args__ = (
        UniqueConstraint("contact_id", "number", name="uq_contactnumber_contact_id_number"),
        Index("ix_contactnumber_team_id_number", "team_id", "number"),
    )
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id")
    contact_id: int = Field(foreign_key="contact.id", index=True)
    number: str  # E.164


class Matter(SQLModel, table=True):
    """A client/matter (a project, seeds 000 and 003): conversations are filed under it."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    name: str
    client_id: int = Field(foreign_key="contact.id", index=True)  # the client, a contact
    status: str = "active"  # one of MATTER_STATES
    # Where texts routed to it start a conversation (None: the team's Mailroom).
    inbox_id: int | None = Field(default=None, foreign_key="inbox.id")
    created_at: datetime = Field(default_factory=utcnow)


class Conversation(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("inbox_id", "counterparty"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    inbox_id: int = Field(foreign_key="inbox.id", index=True)
    counterparty: str  # E.164 of the customer
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    status: str = "open"  # open | archived
    assignee_id: int | None = Field(default=None, foreign_key="user.id")
    read_only: bool = False
    handed_off: bool = False  # a bot handed it to the agents: the bot no longer answers it
    away_period: str | None = None  # the away period whose away message it already got
    last_message_at: datetime | None = Field(default=None, index=True)
    last_inbound_at: datetime | None = None
    # The customer's oldest text not answered yet by a person (None: nobody is waiting): the
    # queue, and the SLA clock (docs/decisions.md, "Supervisors").
    waiting_since: datetime | None = Field(default=None, index=True)
    archived_at: datetime | None = None  # when it was last archived (kept when it reopens)
    # The matter it is filed under (no foreign key: a column added in place, see 0005_admin).
    matter_id: int | None = Field(default=None, index=True)
    # Fencing token of the lock under which the newest reply was stored (server/fencing.py).
    lock_fence: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )
    created_at: datetime = Field(default_factory=utcnow)


class OptOut(SQLModel, table=True):
    """A number that texted STOP to an inbox: sends to it are refused until it texts START."""

    inbox_id: int = Field(foreign_key="inbox.id", primary_key=True)
    number: str = Field(primary_key=True)  # E.164
    created_at: datetime = Field(default_factory=utcnow)


class ReadMarker(SQLModel, table=True):
    conversation_id: int = Field(foreign_key="conversation.id", primary_key=True)
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    read_at: datetime = Field(default_factory=utcnow)


class Message(SQLModel, table=True):
    # The reports read an inbox's texts by date (inbox/reports.py).
    __table_args__ = (Index("ix_message_inbox_created", "inbox_id", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id")
    inbox_id: int = Field(foreign_key="inbox.id")
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    direction: str  # inbound | outbound | note (a private note: never sent, members only)
    body: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    sender_id: int | None = Field(default=None, foreign_key="user.id")
    automatic: bool = False  # sent by the system (away message, HELP answer), not a person
    # One of a bulk send's texts: not a reply to anyone (the reports' response times).
    bulk: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    provider_sid: str | None = Field(default=None, unique=True)
    status: str = "queued"
    error_code: str | None = None
    error_message: str | None = None
    segments: int = 1
    # An inbound text's: why it landed here (one of ROUTED_REASONS), and whether it starts a
    # new thread (the conversation was quiet for SWITCHBOARD_THREAD_DAYS before it).
    routed: str | None = None
    starts_thread: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Attachment(SQLModel, table=True):
    """A picture or file of a text (MMS; inbox/attachments.py): received (its bytes fetched from
    the provider when first viewed) or uploaded to be sent (its message set when it is sent).
    The bytes live in the media store under `storage_key`, a random name."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="message.id", index=True)
    uploader_id: int | None = Field(default=None, foreign_key="user.id")  # None: received
    position: int = 0  # its place among the message's attachments
    # Sniffed from the bytes once stored; until a received one is fetched, what the provider said.
    content_type: str
    size: int | None = None  # bytes; None until a received one is fetched
    filename: str = ""  # for showing and downloading only; never part of a path
    storage_key: str | None = Field(default=None, unique=True)
    remote_url: str | None = None  # where the provider keeps a received one
    gone: bool = False  # the provider no longer has it (a received one never fetched)
    created_at: datetime = Field(default_factory=utcnow, index=True)


class ResponseTime(SQLModel, table=True):
    """A person's reply to a waiting customer, written with the reply: from the customer's
    oldest unanswered text to the reply (the reports' response times, inbox/reports.py)."""

    __tablename__ = "response_time"
    __table_args__ = (Index("ix_response_time_inbox_started", "inbox_id", "started_at"),)
    message_id: int = Field(foreign_key="message.id", primary_key=True)  # the reply
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    inbox_id: int = Field(foreign_key="inbox.id")
    user_id: int = Field(foreign_key="user.id")
    started_at: datetime  # the oldest text no person had answered (conversation.waiting_since)
    answered_at: datetime
    first: bool  # the conversation's first response


# The agent_id of an inbox's own figures in the report tables (user ids start at 1).
INBOX_FIGURES = 0


class ReportDay(SQLModel, table=True):
    """What the reports count, per inbox (agent_id INBOX_FIGURES) or per replier in an inbox, per
    UTC day: kept in the same transaction as what it counts (inbox/report_days.py)."""

    __tablename__ = "report_day"
    inbox_id: int = Field(foreign_key="inbox.id", primary_key=True)
    agent_id: int = Field(primary_key=True)
    day: date = Field(primary_key=True)
    texts_in: int = 0
    texts_out: int = 0
    segments: int = 0
    opened: int = 0
    archived: int = 0
    opt_outs: int = 0
    first_late: int = 0  # first responses past the inbox's target when they were sent


# The waits' histograms (inbox/report_days.py): a row per inbox or replier, per UTC day, ISO week
# (its Monday) and month (its first day), for every reply or first responses only, each bin's
# column holding how many waits fell in it *or a lower bin* and their sum of seconds, so the
# rows of a span add up in SQL and a percentile is the first bin whose column reaches its rank.
WAIT_BINS = 250
WAIT_PERIODS = ("day", "week", "month")
_SPAN_KEYS = ("period", "start", "inbox_id", "agent_id", "first_only")
REPORT_WAIT = Table(
    "report_wait",
    SQLModel.metadata,
    Column("inbox_id", Integer, ForeignKey("inbox.id"), primary_key=True),
    Column("agent_id", Integer, primary_key=True),
    Column("period", String, primary_key=True),
    Column("start", Date, primary_key=True),
    Column("first_only", Boolean, primary_key=True),
    *(Column(f"n{i}", Integer, nullable=False) for i in range(WAIT_BINS)),
    *(Column(f"s{i}", Float, nullable=False) for i in range(WAIT_BINS)),
    Column("p50", Float),  # the row's own median and p90, kept with it (None: no wait)
    Column("p90", Float),
    # A report's ranges are (period, start from, start to): it seeks them, and reads a bucket
    # that is one row (its count, median and p90) from the index alone.
    Index("ix_report_wait_span", *_SPAN_KEYS, f"n{WAIT_BINS - 1}", "p50", "p90"),
)


class Outbox(SQLModel, table=True):
    """A text owed to the SMS provider (inbox/outbox.py): written in the same transaction as its
    message, gone once the provider has the text or it failed for good."""

    message_id: int = Field(foreign_key="message.id", primary_key=True)
    # Where our status webhook is when no public URL is set (the address the send came in at).
    callback_base: str | None = None
    bulk: bool = False  # a bulk send's texts go after the replies that are due
    due_at: datetime = Field(default_factory=utcnow, index=True)
    attempts: int = 0  # claims so far, the current one included
    # An attempt may have reached the provider (it was cut off, or the answer was a 5xx or a
    # timeout): the provider is asked for the text before it is sent again.
    in_doubt: bool = False
    claimed_by: str | None = None  # the process sending it now
    claimed_until: datetime | None = None  # after this, any process may take it over
    last_error: str | None = None  # why the last attempt did not send it


class Mention(SQLModel, table=True):
    """A teammate named with @username in a private note."""

    message_id: int = Field(foreign_key="message.id", primary_key=True)
    user_id: int = Field(foreign_key="user.id", primary_key=True, index=True)
    read_at: datetime | None = None  # when they saw it in their Mentions view
    created_at: datetime = Field(default_factory=utcnow)


class Tag(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("team_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    name: str
    colour: str = "#6b7280"
    created_at: datetime = Field(default_factory=utcnow)


class ConversationTag(SQLModel, table=True):
    conversation_id: int = Field(foreign_key="conversation.id", primary_key=True)
    tag_id: int = Field(foreign_key="tag.id", primary_key=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class CannedResponse(SQLModel, table=True):
    """A saved reply: the team's library (`owner_id` None, admins edit it) or one agent's own."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    owner_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    name: str  # what `/` in the composer searches
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class EventRecord(SQLModel, table=True):
    """The event log the socket replays from: one strictly increasing id per team."""

    __tablename__ = "event"
    team_id: int = Field(foreign_key="team.id", primary_key=True)
    id: int = Field(primary_key=True, sa_type=EVENT_ID)
    type: str
    inbox_id: int | None = None  # None: team-wide (presence); else only that inbox's members
    user_id: int | None = None  # set: only that user receives it
    data: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    created_at: datetime = Field(default_factory=utcnow, index=True)


class LoginSession(SQLModel, table=True):
    """A browser's login (server-side, so it can be ended). The cookie holds a random value;
    only its keyed hash is kept here, so a copy of the store opens no session."""

    __tablename__ = "login_session"
    id: str = Field(primary_key=True)  # HMAC-SHA256 of the cookie value, hex
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    seen_at: datetime = Field(default_factory=utcnow)  # last use (written at most every minute)
    address: str = ""  # the client address it logged in from
    user_agent: str = ""  # the browser it logged in with (cut to USER_AGENT_CHARS)


class AuditEntry(SQLModel, table=True):
    """An admin's change (who, what, when, before and after), never holding a secret."""

    __tablename__ = "audit_entry"
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id")  # None: the operator's CLI
    action: str  # e.g. "user.created", "inbox.updated", "token.revoked"
    subject_type: str  # "user", "inbox", "token", "team"
    subject_id: int | None = None
    before: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON
    after: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON
    created_at: datetime = Field(default_factory=utcnow)


class OneTimeLink(SQLModel, table=True):
    """A link that works once: the first run's setup page (no user yet) or a user's
    set-password page. Only the hash of its secret is kept."""

    __tablename__ = "one_time_link"
    id: str = Field(primary_key=True)  # SHA-256 of the link's secret, hex
    kind: str  # "setup" | "password"
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


class AllowanceUsage(SQLModel, table=True):
    """A team's outgoing segments in one UTC calendar month (inbox/allowance.py), counted in
    the write transaction that stores each text."""

    __tablename__ = "allowance_usage"
    team_id: int = Field(foreign_key="team.id", primary_key=True)
    month: str = Field(primary_key=True)  # "2026-12"
    used: int = 0  # every outgoing segment queued this month, the overage included
    overage: int = 0  # of `used`, the segments past the allowance (mode "overage")
    # The highest warning given this month: 0, 90 (per cent) or 100 (`team.allowance` events).
    warned: int = 0


class Campaign(SQLModel, table=True):
    """A bulk text an admin scheduled from an inbox's numbers (seed 002; inbox/campaigns.py).
    While active (sent, before `archive_at`, not archived) replies to its numbers follow its
    handling instead of their inbox's."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    inbox_id: int = Field(foreign_key="inbox.id")  # the office it sends from
    name: str
    body: str = Field(sa_column=Column(Text, nullable=False))
    # JSON {"contact_ids": [...], "numbers": [...]}, as inbox/bulk.py resolves them at send time.
    recipients: str = Field(sa_column=Column(Text, nullable=False))
    status: str = "draft"  # one of CAMPAIGN_STATES
    send_at: datetime | None = Field(default=None, index=True)  # None: not scheduled yet
    archive_at: datetime
    handling: str = "agent"  # one of UNSOLICITED_MODES: who answers replies while active
    reply_inbox_id: int = Field(foreign_key="inbox.id")  # where replies go while active
    created_by: int = Field(foreign_key="user.id")  # the sender its texts record
    sent_at: datetime | None = None
    queued: int = 0  # texts queued when it was sent
    skipped: int = 0  # recipients skipped (opted out, invalid, past a refusing allowance)
    archived_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class CampaignNumber(SQLModel, table=True):
    __tablename__ = "campaign_number"
    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True)
    phone_number_id: int = Field(foreign_key="phonenumber.id", primary_key=True, index=True)
