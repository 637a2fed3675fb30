from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from inbox.away import away_period, configure
from inbox.errors import InvalidInputError
from inbox.models import Inbox

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def inbox(schedule: object, zone: str) -> Inbox:
    box = Inbox(team_id=1, name="Front Desk", code="front")
    configure(
        box,
        {"enabled": True, "message": "away", "schedule": schedule, "timezone": zone},
        datetime(2026, 10, 1, tzinfo=ZoneInfo("UTC")),
    )
    return box


def test_one_period_spans_a_weekend_with_a_clock_change() -> None:
    box = inbox(
        {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}, "America/New_York"
    )
    friday_evening = datetime(2026, 10, 30, 18, 0, tzinfo=NEW_YORK)  # EDT
    sunday_night = datetime(2026, 11, 1, 23, 0, tzinfo=NEW_YORK)  # EST since 02:00 that day
    period = away_period(box, friday_evening)
    assert period is not None and "2026-11-02T09:00:00-05:00" in period
    assert away_period(box, sunday_night) == period
    assert away_period(box, datetime(2026, 11, 2, 9, 0, tzinfo=NEW_YORK)) is None
    assert away_period(box, datetime(2026, 11, 2, 17, 0, tzinfo=NEW_YORK)) not in (None, period)


def test_lunch_break_and_open_until_midnight() -> None:
    box = inbox({"mon": [["13:00", "24:00"], ["08:00", "12:00"]]}, "Europe/Berlin")
    assert away_period(box, datetime(2026, 11, 23, 8, 30, tzinfo=BERLIN)) is None
    lunch = away_period(box, datetime(2026, 11, 23, 12, 30, tzinfo=BERLIN))
    assert lunch is not None and "T13:00:00+01:00" in lunch
    assert away_period(box, datetime(2026, 11, 23, 23, 59, tzinfo=BERLIN)) is None
    night = away_period(box, datetime(2026, 11, 24, 0, 0, tzinfo=BERLIN))
    assert night is not None and "2026-11-30T08:00:00+01:00" in night


def test_switch_and_off() -> None:
    box = inbox(None, "UTC")
    now = datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("UTC"))
    assert away_period(box, now) is not None
    configure(box, {"enabled": False}, now)
    assert away_period(box, now) is None


@pytest.mark.parametrize(
    "schedule",
    [{"mon": [["9", "17"]]}, {"mon": [["17:00", "09:00"]]}, {"mon": "09:00-17:00"}, ["mon"]],
)
def test_bad_schedules_change_nothing(schedule: object) -> None:
    box = inbox({"tue": [["09:00", "17:00"]]}, "Europe/Berlin")
    with pytest.raises(InvalidInputError):
        configure(
            box, {"enabled": True, "message": "x", "schedule": schedule}, datetime.now(BERLIN)
        )
    assert json.loads(box.away_schedule or "") == {"tue": [["09:00", "17:00"]]}
