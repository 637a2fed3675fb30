"""The supervisor board under a team of 200 agents (docs/performance.md, "Board (issue 20)").

    .venv/bin/python bench/board.py [--agents 200 --inboxes 10 --conversations 100 --seconds 60]

Starts a private redis-server and one `switchboard serve --demo` on a temp SQLite store (as
bench/locks.py does), adds `--agents` agents spread over `--inboxes` inboxes (Carol, the demo's
supervisor, a member of every one), then every agent, every 2-5 s, makes one change: views a
conversation of its inbox (or none), takes a lock, or releases the one it holds. Meanwhile:

- a supervisor socket (Carol's token) times each change from its send to the moment its event
  (`presence.changed`, `lock.acquired`, `lock.released`) is read, and counts its events a second;
- the board page, logged in as Carol in headless Chromium, records when each such event's frame
  arrives and when the DOM next changes after it (a MutationObserver), its long tasks
  (PerformanceObserver 'longtask') and its animation frames' gaps, all injected with
  `add_init_script` (the page's own code is unchanged).

Prints events/s, change -> supervisor event and change -> board DOM p50/p99, the share of
changes on the board within a second, long tasks per minute and the longest frame gap.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _agents import upgrade_request  # noqa: E402
from locks import Agent, connect, make_agents, pct, start_server  # noqa: E402
from playwright.async_api import async_playwright  # noqa: E402

from inbox import accounts  # noqa: E402
from inbox.db import Database  # noqa: E402
from inbox.models import InboxMember  # noqa: E402
from server.embedded_redis import embedded_redis  # noqa: E402
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.web.pages import agent_page  # noqa: E402

CAROL = 2  # the demo's supervisor
Key = tuple[str, int, int | None]

# Runs in the page before its own scripts: every socket frame that is a board change is
# stamped when it arrives and when the DOM next changes; long tasks and frame gaps are kept.
PROBE = """
window.__probe = { frames: [], longtasks: [], maxGap: 0, gaps100: 0 };
const waiting = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__probe.longtasks.push(e.duration);
}).observe({ type: "longtask", buffered: true });
new MutationObserver(() => {
  const now = Date.now();
  for (const f of waiting.splice(0)) f.dom = now;
}).observe(document, { childList: true, subtree: true, characterData: true });
let last = performance.now();
const frame = (t) => {
  const gap = t - last; last = t;
  if (gap > window.__probe.maxGap) window.__probe.maxGap = gap;
  if (gap > 100) window.__probe.gaps100 += 1;
  requestAnimationFrame(frame);
};
requestAnimationFrame(frame);
const viewed = (v) => v === null || v === undefined ? null
  : typeof v === "object" ? (v.conversation_id ?? v.id ?? null) : Number(v);
const Native = window.WebSocket;
window.WebSocket = class extends Native {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (m) => {
      const arrived = Date.now();
      let f; try { f = JSON.parse(m.data); } catch { return; }
      const d = f.data || {};
      let key = null;
      if (f.type === "presence.changed") key = ["view", d.user && d.user.id, viewed(d.viewing)];
      else if (f.type === "lock.acquired" || f.type === "lock.released")
        key = [f.type, d.holder && d.holder.id, d.conversation_id];
      if (key === null) return;
      const stamped = { key, arrived, dom: null };
      window.__probe.frames.push(stamped);
      waiting.push(stamped);
    });
  }
};
"""


class Supervisor(Agent):
    """Carol's socket: every board event, parsed and stamped as it is read."""

    def __init__(self, request: bytes) -> None:
        super().__init__(request)
        self.seen: list[tuple[float, Key]] = []

    def _event(self, payload: bytes) -> None:
        if b'"ref"' in payload:
            super()._event(payload)
            return
        read_at = time.perf_counter()
        frame = json.loads(payload)
        data = frame.get("data", {})
        if frame.get("type") == "presence.changed":
            viewing = data.get("viewing")
            if isinstance(viewing, dict):
                viewing = viewing.get("conversation_id", viewing.get("id"))
            self.seen.append((read_at, ("view", data["user"]["id"], viewing)))
        elif frame.get("type") in ("lock.acquired", "lock.released"):
            key = (frame["type"], data["holder"]["id"], data["conversation_id"])
            self.seen.append((read_at, key))


class Changes:
    """Each change as sent: its key, the client's clock and the wall clock (the page's)."""

    def __init__(self) -> None:
        self.sent: list[tuple[Key, float, float]] = []

    def add(self, key: Key) -> tuple[Key, float, float]:
        change = (key, time.perf_counter(), time.time() * 1000)
        self.sent.append(change)
        return change


async def agent_loop(
    agent: Agent, me: int, mine: list[int], until: float, changes: Changes, measure_from: float
) -> None:
    rng = random.Random(me)
    holding: int | None = None
    viewing: int | None = None
    while time.perf_counter() < until:
        await asyncio.sleep(rng.uniform(2.0, 5.0))
        counted = time.perf_counter() >= measure_from
        if holding is not None:
            key: Key = ("lock.released", me, holding)
            if counted:
                changes.add(key)
            await agent.command("lock.release", {"conversation_id": holding})
            holding = None
        elif rng.random() < 0.5:
            target = rng.choice([c for c in [*mine, None] if c != viewing])  # a change
            if counted:
                changes.add(("view", me, target))
            await agent.command("conversation.view", {"conversation_id": target})
            viewing = target
        else:
            target = rng.choice(mine)
            change = changes.add(("lock.acquired", me, target)) if counted else None
            _, frame = await agent.command("lock.acquire", {"conversation_id": target})
            holding = target if frame["type"] == "ack" else None
            if holding is None and change is not None:  # another agent holds it: no change
                changes.sent.remove(change)  # this one: 200 agents add at once


def first_after(seen: list[tuple[float, Key]], key: Key, at: float) -> float | None:
    return next((t for t, k in seen if k == key and t >= at), None)


async def run(args: argparse.Namespace, data_dir: Path, port: int) -> None:
    db_url = f"sqlite+aiosqlite:///{data_dir / 'switchboard.db'}"
    made = await make_agents(db_url, args.agents, args.inboxes)
    db = Database(db_url)
    async with db.write() as session:  # Carol supervises every inbox
        for inbox_id in sorted({i for i, _ in made}):
            if await session.get(InboxMember, (inbox_id, CAROL)) is None:
                session.add(InboxMember(inbox_id=inbox_id, user_id=CAROL))
        carol_token = await accounts.create_token(session, CAROL, "bench")
    await db.dispose()
    base = f"http://127.0.0.1:{port}"
    by_inbox: dict[int, list[int]] = {}
    ids = []
    for i in range(max(args.conversations, len(made))):
        inbox_id, token = made[i % len(made)]
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {token}"}
        ) as c:
            if i < len(made):
                ids.append(int((await c.get("/api/v1/me")).json()["id"]))
            if i < args.conversations:
                answer = await c.post(
                    "/api/v1/conversations", json={"inbox_id": inbox_id, "to": f"+1555777{i:04d}"}
                )
                by_inbox.setdefault(inbox_id, []).append(int(answer.json()["id"]))
    supervisor = await connect_supervisor(base, carol_token)
    agents = [await connect(base, token) for _, token in made]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        context, page, errors = await agent_page(browser, base, "carol")
        await page.add_init_script(PROBE)
        await page.goto(base + "/board")
        await page.locator("#board[data-ready=true]").wait_for(state="attached")
        changes = Changes()
        measure_from = time.perf_counter() + args.warmup
        until = measure_from + args.seconds
        seen_from = len(supervisor.seen)
        await asyncio.gather(
            *(
                agent_loop(a, me, by_inbox[inbox_id], until, changes, measure_from)
                for a, me, (inbox_id, _) in zip(agents, ids, made, strict=True)
            )
        )
        await asyncio.sleep(2.0)  # the last changes' events
        probe: dict[str, Any] = await page.evaluate("window.__probe")
        await context.close()
        await browser.close()
    for a in [*agents, supervisor]:
        a.close()
    report(args, changes, supervisor.seen[seen_from:], probe, errors)


async def connect_supervisor(base: str, token: str) -> Supervisor:
    url = base.replace("http", "ws", 1) + "/ws"
    sup = Supervisor(upgrade_request(url, token))
    parts = urlsplit(url)
    await asyncio.get_running_loop().create_connection(lambda: sup, parts.hostname, parts.port)
    await sup.upgraded
    return sup


def report(
    args: argparse.Namespace,
    changes: Changes,
    seen: list[tuple[float, Key]],
    probe: dict[str, Any],
    errors: list[str],
) -> None:
    socket_ms, dom_ms, arrive_ms = [], [], []
    missing_socket = missing_dom = 0
    frames = [(f["arrived"], f["dom"], tuple(f["key"])) for f in probe["frames"]]
    for key, at, wall in changes.sent:
        got = first_after(seen, key, at)
        if got is None:
            missing_socket += 1
        else:
            socket_ms.append((got - at) * 1000)
        page = next(((a, d) for a, d, k in frames if k == key and a >= wall - 5), None)
        if page is None or page[1] is None:
            missing_dom += 1
        else:
            arrive_ms.append(page[0] - wall)
            dom_ms.append(page[1] - wall)
    n = len(changes.sent)
    within = sum(1 for ms in dom_ms if ms <= 1000)
    longtasks = probe["longtasks"]
    print(  # noqa: T201
        f"agents={args.agents} inboxes={args.inboxes} conversations={args.conversations} "
        f"seconds={args.seconds}: changes {n} ({n / args.seconds:.0f}/s), supervisor events "
        f"{len(seen)} ({len(seen) / args.seconds:.0f}/s)"
    )
    for name, samples in (
        ("change -> supervisor socket event", socket_ms),
        ("change -> board page frame", arrive_ms),
        ("change -> board DOM", dom_ms),
    ):
        print(  # noqa: T201
            f"{name:34} n={len(samples):5} p50={pct(samples, 50):7.1f} ms "
            f"p99={pct(samples, 99):7.1f} ms max={max(samples, default=0):7.1f} ms"
        )
    print(  # noqa: T201
        f"on the board within 1 s: {within}/{n} ({within / max(n, 1):.1%}); not seen: socket "
        f"{missing_socket}, DOM {missing_dom}; long tasks {len(longtasks)} "
        f"({len(longtasks) / (args.seconds / 60):.1f}/min, longest {max(longtasks, default=0):.0f}"
        f" ms, total {sum(longtasks):.0f} ms); frame gaps > 100 ms {probe['gaps100']}, longest "
        f"{probe['maxGap']:.0f} ms; page errors {len(errors)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--inboxes", type=int, default=10)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, embedded_redis(Path(tmp) / "redis", port=0) as url:
        data_dir = Path(tmp) / "data"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        proc = start_server(data_dir, url, port)
        try:
            asyncio.run(run(args, data_dir, port))
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(30)


if __name__ == "__main__":
    main()
