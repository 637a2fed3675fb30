"""The doorbell message between processes: several events in one Redis message, read back as
they were announced (realtime/hub.py)."""

from __future__ import annotations

from typing import Any

from realtime.events import ACCESS_CHANGED, MESSAGE_CREATED, LoggedEvent
from realtime.hub import _message, _parse


def event(id: int, **extra: Any) -> LoggedEvent:
    fields: dict[str, Any] = {
        "team_id": 1,
        "id": id,
        "type": MESSAGE_CREATED,
        "inbox_id": 2,
        "user_id": None,
        "ts": "2026-12-01T08:00:00.000001Z",
        "data": '{"body":"line one\\nline two"}',
    }
    return LoggedEvent(**{**fields, **extra})


def test_a_message_of_many_events_reads_back_as_announced() -> None:
    events = [
        event(7),
        event(8, type=ACCESS_CHANGED, inbox_id=None, user_id=5, data='{"inbox_ids":[1,3]}'),
        event(9, type=ACCESS_CHANGED, user_id=5, data='{"inbox_ids":[]}'),
        event(10, team_id=2),
    ]
    message = "\n".join(map(_message, events)).encode()
    parsed = _parse(message)
    assert parsed == events
    assert [e.frame for e in parsed] == [e.frame for e in events]
    assert [e.access for e in parsed] == [None, frozenset({1, 3}), frozenset(), None]
