"""The doorbell message between processes: several events in one Redis message, read back as
they were announced, by the processes of the deployment that rang it only (realtime/hub.py)."""

from __future__ import annotations

from typing import Any

from realtime.events import ACCESS_CHANGED, MESSAGE_CREATED, LoggedEvent
from realtime.hub import _doorbell, _parse


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
    message = _doorbell("blue", events).encode()
    parsed = _parse(message, "blue")
    assert parsed == events
    assert [e.frame for e in parsed] == [e.frame for e in events]
    assert [e.access for e in parsed] == [None, frozenset({1, 3}), frozenset(), None]


def test_a_doorbell_of_another_deployment_is_ignored() -> None:
    """Its ids are another store's: delivering one would drop this deployment's own event of
    the same id as a duplicate (issue 12, item 3)."""
    message = _doorbell("green", [event(7)])
    assert _parse(message, "blue") == []
    assert _parse(message, "green") == [event(7)]
