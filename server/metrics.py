"""Prometheus metrics (docs/deploy.md, "Metrics"). Off unless `SWITCHBOARD_METRICS_TOKEN` is
set: then the hot paths count here and `GET /metrics` answers the scrape that carries the
token (server/http/metrics.py). Under `switchboard serve --workers N` every worker writes its
samples to files in `PROMETHEUS_MULTIPROC_DIR` (set by `serve`, in the data dir), and whichever
worker answers a scrape adds them all up (prometheus-client's multiprocess mode)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

PREFIX = "switchboard_"
# Webhooks answer in milliseconds, or wait up to SWITCHBOARD_WEBHOOK_STORE_WAIT (5 s) and the
# spool's write; Twilio gives up at 15 s.
WEBHOOK_BUCKETS_SECS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 7.5, 10, 15)
# A lock round trip is about a millisecond on an idle server (docs/performance.md).
LOCK_BUCKETS_SECS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)
REPLAY_BUCKETS = (0, 1, 10, 100, 1000, 10_000, 100_000)

WEBHOOKS = Counter(
    PREFIX + "webhooks",
    "Twilio webhooks answered, by kind (inbound, status) and result (stored, kept: in the "
    "data dir while the store was stalled, refused: 4xx, unavailable: 503, error: 500)",
    ["kind", "result"],
)
WEBHOOK_SECONDS = Histogram(
    PREFIX + "webhook_seconds", "Time to answer a Twilio webhook", ["kind"],
    buckets=WEBHOOK_BUCKETS_SECS,
)  # fmt: skip
EVENT_DELIVERIES = Counter(
    PREFIX + "event_deliveries", "Events offered to this process's sockets (one per socket)"
)
SOCKETS = Gauge(PREFIX + "open_sockets", "Open WebSocket connections", multiprocess_mode="livesum")
LOCK_OPERATIONS = Counter(
    PREFIX + "lock_operations",
    "Socket lock commands (lock.acquire, lock.activity, lock.confirm, lock.release) by result "
    "(ok, or the refusal's code)",
    ["op", "result"],
)
LOCK_SECONDS = Histogram(
    PREFIX + "lock_operation_seconds", "Time from a lock command to its answer", ["op"],
    buckets=LOCK_BUCKETS_SECS,
)  # fmt: skip
REPLAYED = Histogram(
    PREFIX + "replay_events", "Events replayed to a socket's hello", buckets=REPLAY_BUCKETS
)
TEXTS = Counter(
    PREFIX + "texts_handed_over",
    "Outbox attempts at the SMS provider, by result (sent, retry, failed)",
    ["result"],
)
REDIS_ERRORS = Counter(PREFIX + "redis_errors", "Requests and commands Redis failed")
STORE_ERRORS = Counter(PREFIX + "store_errors", "Requests and webhooks the store failed")
HTTP_REQUESTS = Counter(
    PREFIX + "http_requests", "HTTP requests answered, by method and status", ["method", "status"]
)


class Metrics:
    """Where the server counts; every method does nothing when metrics are off."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    # realtime.hub.Observer
    def fanned_out(self, sockets: int) -> None:
        if self.enabled and sockets:
            EVENT_DELIVERIES.inc(sockets)

    def replayed(self, events: int) -> None:
        if self.enabled:
            REPLAYED.observe(events)

    def socket_opened(self) -> None:
        if self.enabled:
            SOCKETS.inc()

    def socket_closed(self) -> None:
        if self.enabled:
            SOCKETS.dec()

    def lock_operation(self, op: str, result: str, secs: float) -> None:
        if self.enabled:
            LOCK_OPERATIONS.labels(op, result).inc()
            LOCK_SECONDS.labels(op).observe(secs)

    def webhook(self, kind: str, result: str, secs: float) -> None:
        if self.enabled:
            WEBHOOKS.labels(kind, result).inc()
            WEBHOOK_SECONDS.labels(kind).observe(secs)

    def text_handed_over(self, result: str) -> None:
        if self.enabled:
            TEXTS.labels(result).inc()

    def redis_error(self) -> None:
        if self.enabled:
            REDIS_ERRORS.inc()

    def store_error(self) -> None:
        if self.enabled:
            STORE_ERRORS.inc()

    def request(self, method: str, status: int) -> None:
        if self.enabled:
            HTTP_REQUESTS.labels(method, str(status)).inc()
