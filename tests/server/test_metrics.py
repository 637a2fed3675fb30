"""`GET /metrics` (server/metrics.py, server/http/metrics.py): off unless a token is set, then
only for the scrape that carries it; what a Grafana board reads (webhooks by result, sockets,
lock operations, replays, the outbox) moves as the server works, and under `--workers` every
worker's samples are added up whichever worker answers."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.datastructures import Secret

from tests.conftest import Running, running
from tests.fake_twilio import FakeTwilio, reject
from tests.helpers import EVENT_WAIT_SECS, FRONT_DESK, Agent, free_port, login, wait_until_serving
from tests.server.test_cli import _env

TOKEN = "scrape-token-for-tests"
RETRIED = ("switchboard_texts_handed_over_total", (("result", "retry"),))
SCRAPE = {"Authorization": f"Bearer {TOKEN}"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Each sample of a Prometheus text answer by name and labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with httpx.AsyncClient(base_url=url) as client:
        answer = await client.get("/metrics", headers=SCRAPE)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return samples(answer.text)


async def test_metrics_are_off_unless_a_token_is_set(app_server: Running) -> None:
    async with httpx.AsyncClient(base_url=app_server.url) as client:
        answer = await client.get("/metrics", headers=SCRAPE)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


async def test_metrics_need_their_token_and_count_what_the_server_does(
    tmp_path: Path, database_url: str, clean_redis: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    with running(
        tmp_path / "data",
        clean_redis,
        fake_twilio,
        database_url=database_url,
        metrics_token=Secret(TOKEN),
        send_backoff_secs=60.0,  # a text Twilio refused stays owed for the test's length
    ) as server:
        bob = await login(server.url, "bob")
        before = await scrape(server.url)
        assert before[("switchboard_outbox_depth", ())] == 0
        async with httpx.AsyncClient(base_url=server.url) as anonymous:
            for headers in ({}, {"Authorization": "Bearer wrong"}):
                refused = await anonymous.get("/metrics", headers=headers)
                assert refused.status_code == 401
                assert "switchboard_" not in refused.text
        as_agent = await bob.get("/metrics")  # a logged-in agent is no scraper
        assert as_agent.status_code == 401
        agent = await Agent.connect(server.url, cookies=bob.cookies, hello=0)
        assert (await server.twilio.inbound(FRONT_DESK, "+15559400001", "hi")).status_code == 200
        forged = await server.twilio.post("/webhooks/twilio/messages", {"To": "x"}, "bad")
        assert forged.status_code == 403
        event = await agent.next_event("message.created")
        conversation = event["data"]["conversation"]["id"]
        took = await agent.command("lock.acquire", {"conversation_id": conversation})
        assert took["type"] == "ack"
        server.fake.script(reject(500))
        sent = await agent.command("message.send", {"conversation_id": conversation, "body": "ok"})
        assert sent["type"] == "ack"
        released = await agent.command("lock.release", {"conversation_id": conversation})
        assert released["type"] == "ack"
        async with asyncio.timeout(EVENT_WAIT_SECS):  # until the refused attempt is recorded
            while (after := await scrape(server.url)).get(RETRIED, 0) == before.get(RETRIED, 0):
                await asyncio.sleep(0.05)
        await agent.close()

    def moved(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert moved("switchboard_webhooks_total", kind="inbound", result="stored") == 1
    assert moved("switchboard_webhooks_total", kind="inbound", result="refused") == 1
    assert moved("switchboard_webhook_seconds_count", kind="inbound") == 2
    assert after[("switchboard_open_sockets", ())] == 1
    assert moved("switchboard_lock_operations_total", op="lock.acquire", result="ok") == 1
    assert moved("switchboard_lock_operations_total", op="lock.release", result="ok") == 1
    assert moved("switchboard_lock_operation_seconds_count", op="lock.acquire") == 1
    assert moved("switchboard_replay_events_count") == 1
    assert moved("switchboard_event_deliveries_total") >= 1  # the text, the lock events
    assert moved("switchboard_http_requests_total", method="GET", status="401") >= 1
    # Twilio refused the reply: it is owed again later, and the board shows it waiting.
    assert moved("switchboard_texts_handed_over_total", result="retry") == 1
    assert after[("switchboard_outbox_depth", ())] == 1
    assert after[("switchboard_outbox_oldest_owed_seconds", ())] >= 0


@pytest.fixture
def two_workers(tmp_path: Path, database_url: str, serve_redis: str | None) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "server.cli", "serve", "--demo", "--port", str(port)]
    command += ["--data-dir", str(tmp_path / "data"), "--workers", "2", "--log-level", "warning"]
    env = _env(database_url, serve_redis) | {"SWITCHBOARD_METRICS_TOKEN": TOKEN}
    proc = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        wait_until_serving(url, proc, log)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


async def test_workers_samples_are_added_up_whichever_worker_answers(two_workers: str) -> None:
    bob = await login(two_workers, "bob")
    agents = [await Agent.connect(two_workers, cookies=bob.cookies) for _ in range(6)]
    for agent in agents:  # each one is being served (not still in the accept queue)
        assert (await agent.command("ping", {}))["type"] == "pong"
    # Each scrape may land on either worker; every one must see all six sockets.
    counts = [(await scrape(two_workers))[("switchboard_open_sockets", ())] for _ in range(8)]
    assert counts == [6.0] * 8
    for agent in agents:
        await agent.close()
