"""Figures of one benchmark run: percentiles, /proc readings, and the report lines."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def metrics_env() -> dict[str, str]:
    """The server's metrics on (BENCH_METRICS=1) or off: the hot paths' cost side by side."""
    return {"SWITCHBOARD_METRICS_TOKEN": "bench"} if os.environ.get("BENCH_METRICS") else {}


def proc_cpu_secs(pid: int) -> float:
    """User + system CPU time of a process, from /proc/PID/stat (fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_secs() -> float:
    """CPU seconds every process of the machine has used, all cores together (/proc/stat's
    first line: all but idle and iowait), to tell how much of the machine a run kept busy."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / CLK_TCK


def proc_rss_bytes(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Figures:
    name: str
    agents: int
    frame_bytes: int | None = None
    busy_secs: float = 0.0
    busy_deliveries: int = 0
    cpu_secs: float = 0.0
    redis_cpu_secs: float | None = None
    idle_cpu_secs: float = 0.0  # over the idle phase: one event at a time, nothing to coalesce
    busy_latency: list[float] = field(default_factory=list)
    idle_latency: list[float] = field(default_factory=list)

    @property
    def deliveries_per_sec(self) -> float:
        return self.busy_deliveries / self.busy_secs

    @property
    def cpu_us_per_delivery(self) -> float:
        return self.cpu_secs / self.busy_deliveries * 1e6

    @property
    def idle_cpu_us_per_delivery(self) -> float:
        return self.idle_cpu_secs / (len(self.idle_latency) * self.agents) * 1e6

    def as_dict(self) -> dict[str, object]:
        return {
            "agents": self.agents,
            "frame_bytes": self.frame_bytes,
            "deliveries_per_sec": round(self.deliveries_per_sec),
            "server_cpu_us_per_delivery": round(self.cpu_us_per_delivery, 2),
            "idle_server_cpu_us_per_delivery": round(self.idle_cpu_us_per_delivery, 2),
            "redis_cpu_us_per_delivery": None
            if self.redis_cpu_secs is None
            else round(self.redis_cpu_secs / self.busy_deliveries * 1e6, 3),
            "busy_p50_ms": round(percentile(self.busy_latency, 50) * 1e3, 1),
            "busy_p99_ms": round(percentile(self.busy_latency, 99) * 1e3, 1),
            "idle_p50_ms": round(percentile(self.idle_latency, 50) * 1e3, 1),
            "idle_p99_ms": round(percentile(self.idle_latency, 99) * 1e3, 1),
        }

    def report(self) -> str:
        d = self.as_dict()
        return (
            f"{self.name}: {self.agents} agents, frame {d['frame_bytes']} B | "
            f"{d['deliveries_per_sec']} deliveries/s | server CPU "
            f"{d['server_cpu_us_per_delivery']} us/delivery "
            f"(redis {d['redis_cpu_us_per_delivery']}; idle phase "
            f"{d['idle_server_cpu_us_per_delivery']} us/delivery)"
            f" | webhook-to-last-agent busy p50 {d['busy_p50_ms']} ms p99 {d['busy_p99_ms']} ms"
            f" | idle p50 {d['idle_p50_ms']} ms p99 {d['idle_p99_ms']} ms"
        )

    def ratios(self, ceiling: Figures) -> str:
        return (
            f"ratios to {ceiling.name}: CPU per delivery "
            f"{self.cpu_us_per_delivery / ceiling.cpu_us_per_delivery:.2f}x (idle phase "
            f"{self.idle_cpu_us_per_delivery / ceiling.idle_cpu_us_per_delivery:.2f}x), "
            f"deliveries/s "
            f"{self.deliveries_per_sec / ceiling.deliveries_per_sec:.2f}x, idle p99 "
            f"{percentile(self.idle_latency, 99) / percentile(ceiling.idle_latency, 99):.2f}x"
        )
