"""`switchboard serve` for bench/socket_memory.py: SIGUSR2 starts tracemalloc (from the start
it would slow the server's start-up tenfold, and only what comes after matters), SIGUSR1 writes
a snapshot to $BENCH_SNAPSHOT (written aside, then renamed, so the reader never sees half).

    python bench/_traced_serve.py serve --demo ...
"""

from __future__ import annotations

import os
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from server.cli import main  # noqa: E402


def _dump(signum: int, frame: FrameType | None) -> None:
    path = os.environ["BENCH_SNAPSHOT"]
    tracemalloc.take_snapshot().dump(path + ".part")
    os.replace(path + ".part", path)


def _start(signum: int, frame: FrameType | None) -> None:
    tracemalloc.start(int(os.environ.get("BENCH_TRACE_FRAMES", "1")))


if __name__ == "__main__":
    signal.signal(signal.SIGUSR2, _start)
    signal.signal(signal.SIGUSR1, _dump)
    sys.exit(main(sys.argv[1:]))
