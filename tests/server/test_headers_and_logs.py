"""Security headers on every answer (pages, the API, refusals), and no texts, numbers or
secrets in the log at INFO."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from tests.conftest import Running
from tests.helpers import login

HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


async def test_every_answer_carries_the_security_headers(app_server: Running) -> None:
    bob = await login(app_server.url, "bob")
    async with httpx.AsyncClient(base_url=app_server.url) as anonymous:
        answers = [
            await bob.get("/"),
            await bob.get("/api/v1/me"),
            await anonymous.get("/api/v1/me"),  # 401
            await bob.get("/nowhere"),  # 404
            await bob.post("/api/v1/conversations", content=b"x" * (2 * 1024 * 1024)),  # 413
        ]
    assert [a.status_code for a in answers] == [200, 200, 401, 404, 413]
    for answer in answers:
        for name, value in HEADERS.items():
            assert answer.headers.get(name) == value, (answer.url, name)
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


async def test_a_reply_through_twilio_logs_no_text_or_number_at_info(
    app_server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    bob = await login(app_server.url, "bob")
    started = await bob.post("/api/v1/conversations", json={"inbox_id": 1, "to": "+15557654321"})
    caplog.set_level(logging.INFO)
    text = "Your lab results are ready"
    sent = await bob.post(
        f"/api/v1/conversations/{started.json()['id']}/messages", json={"body": text}
    )
    assert sent.status_code == 201
    await asyncio.to_thread(app_server.fake.wait_for_messages, 1)
    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert text not in logged
    assert "5557654321" not in logged
    assert app_server.fake.auth_token not in logged
    assert not [r for r in caplog.records if r.name.startswith("twilio")]
