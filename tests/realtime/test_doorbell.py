"""The doorbell message between processes: several events in one Redis message, read back as
they were announced (realtime/hub.py)."""

from __future__ import annotations

from realtime.hub import LoggedEvent, _message, _parse


def event(id: int, **extra: object) -> LoggedEvent:
    fields: dict[str, object] = {"team_id": 1, "id": id, "inbox_id": 2, "user_id": None}
    frame = f'{{"id":{id},"type":"message.created","data":{{"body":"line one\\nline two"}}}}'
    return LoggedEvent(**{**fields, "frame": frame, **extra})  # type: ignore[arg-type]


def test_a_message_of_many_events_reads_back_as_announced() -> None:
    events = [
        event(7),
        event(8, inbox_id=None, user_id=5, access=frozenset({1, 3})),
        event(9, user_id=5, access=frozenset()),
        event(10, team_id=2),
    ]
    message = "\n".join(map(_message, events)).encode()
    assert _parse(message) == events
