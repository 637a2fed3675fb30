"""Memory per idle socket (docs/performance.md, "Socket fan-out"): N authenticated sockets
(bench/_agents.py, each says hello and then only answers pings) held open to one real
`switchboard serve --demo`; reported: the server's RSS growth per connection and, in a second
run with tracemalloc on, the Python allocations per connection grouped by file or line.

    .venv/bin/python bench/socket_memory.py [--connections 2000] [--top 25] [--group lineno]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import proc_rss_bytes  # noqa: E402
from fanout import Agents, Switchboard, log  # noqa: E402

HERE = Path(__file__).resolve().parent
SETTLE_SECS = 2.0  # the hello hold (0.5 s) is over and the first presence writes are done


async def held(server: Switchboard, n: int, measure: object) -> None:
    """Open n idle sockets, let them settle, call `measure()`, close them."""
    agents = Agents(server, n)
    reader = asyncio.create_task(agents.read())
    try:
        await asyncio.wait_for(agents.ready.wait(), 300)
        await asyncio.sleep(SETTLE_SECS)
        measure()  # type: ignore[operator]
    finally:
        agents.stop()
        reader.cancel()


async def rss_per_connection(tmp: Path, n: int) -> float:
    server = Switchboard(tmp / "rss")
    try:
        await server.started()
        await asyncio.sleep(SETTLE_SECS)
        before = proc_rss_bytes(server.proc.pid)
        after: list[int] = []
        await held(server, n, lambda: after.append(proc_rss_bytes(server.proc.pid)))
        return (after[0] - before) / n
    finally:
        server.stop()


def snapshot(server: Switchboard, path: Path) -> tracemalloc.Snapshot:
    path.unlink(missing_ok=True)
    server.proc.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 120
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the server wrote no snapshot")
        time.sleep(0.1)
    return tracemalloc.Snapshot.load(str(path))


async def traced(tmp: Path, n: int, group: str, top: int) -> None:
    path = tmp / "snapshot"
    os.environ["BENCH_SNAPSHOT"] = str(path)
    server = Switchboard(tmp / "traced", command=[str(HERE / "_traced_serve.py")])
    try:
        await server.started()
        server.proc.send_signal(signal.SIGUSR2)
        await asyncio.sleep(SETTLE_SECS)
        before = snapshot(server, path)
        after: list[tracemalloc.Snapshot] = []
        await held(server, n, lambda: after.append(snapshot(server, path)))
    finally:
        server.stop()
    diffs = after[0].compare_to(before, group)
    total = sum(d.size_diff for d in diffs)
    print(f"tracemalloc: {total / n / 1024:.2f} KiB of Python allocations per connection")
    for diff in diffs[:top]:
        where = diff.traceback[0]
        name = where.filename.split("site-packages/")[-1].replace(str(HERE.parent) + "/", "")
        place = name if group == "filename" else f"{name}:{where.lineno}"
        print(f"{diff.size_diff / n:9.0f} B {diff.count_diff / n:6.1f} blocks  {place}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--group", choices=("filename", "lineno"), default="filename")
    parser.add_argument("--no-trace", action="store_true", help="RSS only")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as tmp:
        per_conn = await rss_per_connection(Path(tmp), args.connections)
        print(f"{args.connections} idle sockets: {per_conn / 1024:.1f} KiB of RSS per connection")
        if not args.no_trace:
            log("again with tracemalloc on")
            await traced(Path(tmp), args.connections, args.group, args.top)


if __name__ == "__main__":
    asyncio.run(main())
