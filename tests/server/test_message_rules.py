from __future__ import annotations

from tests.conftest import Running
from tests.helpers import Agent, login

CASES = [
    ("a" * 160, 1),  # GSM-7: 160 fit one text
    ("a" * 161, 2),  # then 153 a segment
    ("{" * 80, 1),  # extension characters take two septets each
    ("{" * 81, 2),
    ("😀" * 35, 1),  # UCS-2: an emoji is two of the 70 units
    ("😀" * 36, 2),
    ("x" * 1600, 11),  # the longest body allowed
]


async def test_segment_counts_through_rest_and_socket(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    started = await bob.post("/api/v1/conversations", json={"inbox_id": 1, "to": "+15559990001"})
    conversation_id = started.json()["id"]
    url = f"/api/v1/conversations/{conversation_id}/messages"
    bob_ws = await Agent.connect(app_server.url, cookies=bob.cookies)
    for body, segments in CASES:
        response = await bob.post(url, json={"body": body})
        assert response.status_code == 201, response.text
        assert response.json()["segments"] == segments, body[:3]
        ack = await bob_ws.command(
            "message.send", {"conversation_id": conversation_id, "body": body}
        )
        assert ack["data"]["message"]["segments"] == segments
    too_long = await bob.post(url, json={"body": "x" * 1601})
    assert (too_long.status_code, too_long.json()["error"]["code"]) == (422, "too_long")
    missing = await bob.post(url, json={})
    assert (missing.status_code, missing.json()["error"]["code"]) == (422, "empty")
    history = (await bob.get(url)).json()["items"]
    assert [m["segments"] for m in history] == [s for _, s in CASES for _ in range(2)]
    await bob_ws.close()
