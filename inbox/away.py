"""Out-of-office: an inbox is away by switch or outside the open hours of a weekly schedule read
in the inbox's IANA time zone. Each away period has a name (its key), so a conversation gets
the away message at most once per period.

`enabled` false: never away. `enabled` with no schedule: away until switched off. `enabled`
with a schedule: away outside its open hours, e.g. {"mon": [["09:00", "17:00"]], ...}."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from inbox.errors import InvalidInputError
from inbox.models import Inbox
from inbox.segments import MAX_BODY_CHARS

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
END_OF_DAY = "24:00"
# A week ahead always holds the next opening of a weekly schedule, if it has one.
LOOKAHEAD_DAYS = 8

Schedule = dict[str, list[tuple[time, time | None]]]  # None end: midnight


def _clock(value: Any) -> time:
    if not isinstance(value, str):
        raise InvalidInputError("schedule times are strings like 09:00")
    try:
        return time.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInputError(f"{value!r} is not a time like 09:00") from exc


def parse_schedule(raw: Any) -> Schedule:
    if not isinstance(raw, dict):
        raise InvalidInputError('schedule is an object like {"mon": [["09:00", "17:00"]]}')
    schedule: Schedule = {}
    for day, spans in raw.items():
        if day not in DAYS:
            raise InvalidInputError(f"schedule days are {', '.join(DAYS)}, not {day!r}")
        if not isinstance(spans, list):
            raise InvalidInputError(f"schedule.{day} is a list of [open, close] pairs")
        parsed: list[tuple[time, time | None]] = []
        for span in spans:
            if not isinstance(span, list | tuple) or len(span) != 2:
                raise InvalidInputError(f"schedule.{day} is a list of [open, close] pairs")
            start = _clock(span[0])
            end = None if span[1] == END_OF_DAY else _clock(span[1])
            if end is not None and end <= start:
                raise InvalidInputError(f"schedule.{day}: {span[0]} must come before {span[1]}")
            parsed.append((start, end))
        schedule[day] = sorted(parsed, key=lambda s: s[0])
    return schedule


def parse_timezone(name: Any) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise InvalidInputError("timezone is an IANA name such as America/New_York")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInputError(f"{name!r} is not an IANA time zone", "invalid_timezone") from exc


def configure(inbox: Inbox, payload: dict[str, Any], now: datetime) -> None:
    """Validate everything first, then change the inbox (bad input changes nothing)."""
    enabled = payload.get("enabled")
    if not isinstance(enabled, bool):
        raise InvalidInputError("enabled must be true or false")
    message = payload.get("message", inbox.away_message)
    if not isinstance(message, str) or (enabled and not message.strip()):
        raise InvalidInputError("message is required when out-of-office is on")
    if len(message) > MAX_BODY_CHARS:
        raise InvalidInputError(f"message is over {MAX_BODY_CHARS} characters", "too_long")
    raw_schedule = payload.get("schedule")
    schedule = None if raw_schedule is None else json.dumps(raw_schedule)
    if raw_schedule is not None:
        parse_schedule(raw_schedule)
    zone = parse_timezone(payload.get("timezone", inbox.away_timezone))
    inbox.away_enabled = enabled
    inbox.away_message = message
    inbox.away_schedule = schedule
    inbox.away_timezone = zone.key
    inbox.away_since = now if enabled else None  # a new setting starts a new away period


def settings_view(inbox: Inbox, now: datetime) -> dict[str, Any]:
    return {
        "enabled": inbox.away_enabled,
        "message": inbox.away_message,
        "schedule": json.loads(inbox.away_schedule) if inbox.away_schedule else None,
        "timezone": inbox.away_timezone,
        "away_now": away_period(inbox, now) is not None,
    }


def _at(day: date, clock: time | None, zone: ZoneInfo) -> datetime:
    if clock is None:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return datetime.combine(day, clock, tzinfo=zone)


def away_period(inbox: Inbox, now: datetime) -> str | None:
    """The key of the away period `now` falls in, or None when the inbox is open."""
    if not inbox.away_enabled:
        return None
    since = inbox.away_since.isoformat() if inbox.away_since else ""
    if not inbox.away_schedule:
        return f"switch:{since}"
    zone = ZoneInfo(inbox.away_timezone)
    schedule = parse_schedule(json.loads(inbox.away_schedule))
    local = now.astimezone(zone)
    for offset in range(LOOKAHEAD_DAYS):
        day = local.date() + timedelta(days=offset)
        for start, end in schedule.get(DAYS[day.weekday()], []):
            opens, closes = _at(day, start, zone), _at(day, end, zone)
            if opens <= local < closes:
                return None
            if opens > local:
                # Away until the next opening: that opening names the period.
                return f"until:{opens.isoformat()}:{since}"
    return f"closed:{since}"
