"""Prometheus metrics, in a registry of the app's own (`GET /metrics`).

Labels are bounded: operations are the schema's root fields or the service's routes,
outcomes are error codes. Nothing identifies a tenant. The use cases and the interceptor
count through the telemetry port (application/ports.py), which `Metrics` implements; every
label value is made up front, so each series is on the page, at zero, from the first scrape.
"""

from typing import Protocol, get_args

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

from application.ports import AuthFailureReason, InterceptorResult, RateLimitKind

# Request latency in seconds, from sub-millisecond reads up to long exports.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120)


class Queue(Protocol):
    @property
    def pending(self) -> int:
        """Events queued or being sent."""
        ...


class Metrics:
    """The request metrics the HTTP adapter observes, and the `Telemetry` the use cases
    count through."""

    def __init__(self) -> None:
        # The `_created` series double the output and tell an operator nothing here.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = registry = CollectorRegistry()
        # Registered in the order the page lists them.
        self.requests = Counter(
            "auditlog_requests",
            "Requests by operation (GraphQL root field or route) and outcome (ok or error code).",
            ["operation", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "auditlog_request_duration_seconds",
            "Time to answer, by operation; for exports, until the last byte.",
            ["operation"],
            buckets=_BUCKETS,
            registry=registry,
        )
        self._recorded = Counter("auditlog_entries_recorded", "Entries stored.", registry=registry)
        self._queue_depth = Gauge(
            "auditlog_interceptor_queue_depth",
            "The service's own events queued or in flight.",
            registry=registry,
        )
        events = Counter(
            "auditlog_interceptor_events",
            "The service's own audit events, by what became of them.",
            ["result"],
            registry=registry,
        )
        self._events = {result: events.labels(result) for result in get_args(InterceptorResult)}
        self._export_rows = Counter(
            "auditlog_export_rows", "Rows streamed to downloads.", registry=registry
        )
        limited = Counter(
            "auditlog_rate_limited",
            "Requests refused by a rate limit.",
            ["kind"],
            registry=registry,
        )
        self._limited = {kind: limited.labels(kind) for kind in get_args(RateLimitKind)}
        failures = Counter(
            "auditlog_auth_failures",
            "Failed authentications, by reason (unknown secret, revoked key).",
            ["reason"],
            registry=registry,
        )
        self._failures = {reason: failures.labels(reason) for reason in get_args(AuthFailureReason)}
        self._folded = Counter(
            "auditlog_rejected_key_attempts_folded",
            "Revoked-key attempts counted into a later auth.api_key.rejected entry.",
            registry=registry,
        )
        self._unknown = Counter(
            "auditlog_unknown_credentials",
            "Bearer secrets that matched no key (no tenant to record them under).",
            registry=registry,
        )
        self._sealing_lag = Gauge(
            "auditlog_sealing_lag_seconds",
            "How far the signed sealed point is behind the windows due, at the last check.",
            registry=registry,
        )
        self._lease_suspect = Gauge(
            "auditlog_sealing_lease_suspect",
            "1 while the sealer lease runs past any term a sealer takes (written behind it).",
            registry=registry,
        )

        # Log streams: by kind and outcome code, never by account or stream (no tenant
        # label: a label per tenant would grow without bound and name them).
        self._stream_entries = Counter(
            "auditlog_stream_entries_delivered",
            "Entries log streams delivered (a batch sent again counts again).",
            ["kind"],
            registry=registry,
        )
        self._stream_batches = Counter(
            "auditlog_stream_batches",
            "Batches log streams sent, by outcome: delivered, or the failure's code.",
            ["kind", "outcome"],
            registry=registry,
        )
        self._stream_lag = Gauge(
            "auditlog_stream_lag_seconds",
            "The largest delivery lag of the streams this instance delivered in its last pass.",
            registry=registry,
        )

    def observe(self, operation: str, outcome: str, seconds: float) -> None:
        self.requests.labels(operation, outcome).inc()
        self.latency.labels(operation).observe(seconds)

    def watch_queue(self, queue: Queue) -> None:
        """The queue depth is a level, not a count: read at scrape time."""
        self._queue_depth.set_function(lambda: queue.pending)

    # Telemetry (application/ports.py)
    def entries_recorded(self, count: int) -> None:
        self._recorded.inc(count)

    def export_rows(self, count: int) -> None:
        self._export_rows.inc(count)

    def rate_limited(self, kind: RateLimitKind) -> None:
        self._limited[kind].inc()

    def auth_failed(self, reason: AuthFailureReason) -> None:
        self._failures[reason].inc()

    def unknown_credential(self) -> None:
        self._unknown.inc()

    def rejection_folded(self) -> None:
        self._folded.inc()

    def interceptor_events(self, result: InterceptorResult, count: int = 1) -> None:
        self._events[result].inc(count)

    def sealing_checked(self, lag_seconds: float, *, lease_suspect: bool) -> None:
        self._sealing_lag.set(lag_seconds)
        self._lease_suspect.set(1 if lease_suspect else 0)

    # StreamTelemetry (application/streams/delivery.py)
    def stream_delivered(self, kind: str, entries: int) -> None:
        self._stream_entries.labels(kind).inc(entries)
        self._stream_batches.labels(kind, "delivered").inc()

    def stream_failed(self, kind: str, code: str) -> None:
        # A retry is the next attempt after a failure: the failures counted are the retries.
        self._stream_batches.labels(kind, code).inc()

    def stream_lag(self, seconds: float) -> None:
        self._stream_lag.set(seconds)
