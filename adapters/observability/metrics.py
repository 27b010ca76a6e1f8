"""Prometheus metrics, in a registry of the app's own (`GET /metrics`).

Labels are bounded: operations are the schema's root fields or the service's routes,
outcomes are error codes. Nothing identifies a tenant. Counts kept by the use cases and
the interceptor are read at scrape time rather than mirrored.
"""

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from application.services import Services

# Request latency in seconds, from sub-millisecond reads up to long exports.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120)


class Metrics:
    def __init__(self) -> None:
        # The `_created` series double the output and tell an operator nothing here.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "auditlog_requests",
            "Requests by operation (GraphQL root field or route) and outcome (ok or error code).",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "auditlog_request_duration_seconds",
            "Time to answer, by operation; for exports, until the last byte.",
            ["operation"],
            buckets=_BUCKETS,
            registry=self.registry,
        )

    def observe(self, operation: str, outcome: str, seconds: float) -> None:
        self.requests.labels(operation, outcome).inc()
        self.latency.labels(operation).observe(seconds)

    def watch(self, services: Services) -> None:
        self.registry.register(_ServiceCollector(services))


class _ServiceCollector(Collector):
    def __init__(self, services: Services) -> None:
        self._services = services

    def collect(self) -> Iterator[Metric]:
        services = self._services
        yield _counter("auditlog_entries_recorded", "Entries stored.", services.ingestion.recorded)
        depth = GaugeMetricFamily(
            "auditlog_interceptor_queue_depth", "The service's own events queued or in flight."
        )
        depth.add_metric([], services.emitter.pending)
        yield depth
        events = CounterMetricFamily(
            "auditlog_interceptor_events",
            "The service's own audit events, by what became of them.",
            labels=["result"],
        )
        counters = services.emitter.counters
        for result in ("queued", "sent", "retried", "dropped", "failed"):
            events.add_metric([result], getattr(counters, result))
        events.add_metric(["invalid"], services.auditor.invalid)
        yield events
        yield _counter(
            "auditlog_export_rows",
            "Rows streamed to downloads.",
            services.download_export.rows_streamed,
        )
        limited = CounterMetricFamily(
            "auditlog_rate_limited", "Requests refused by a rate limit.", labels=["kind"]
        )
        for kind, count in services.limiter.refused.items():
            limited.add_metric([kind], count)
        limited.add_metric(["auth"], services.failed_authentications.refused)
        yield limited
        failures = CounterMetricFamily(
            "auditlog_auth_failures",
            "Failed authentications, by reason (unknown secret, revoked key).",
            labels=["reason"],
        )
        for reason, count in services.failed_authentications.failures.items():
            failures.add_metric([reason], count)
        yield failures
        yield _counter(
            "auditlog_rejected_key_attempts_folded",
            "Revoked-key attempts counted into a later auth.api_key.rejected entry.",
            services.self_audit.rejections_folded,
        )
        yield _counter(
            "auditlog_unknown_credentials",
            "Bearer secrets that matched no key (no tenant to record them under).",
            services.self_audit.unknown_credentials,
        )


def _counter(name: str, documentation: str, value: int) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation)
    family.add_metric([], value)
    return family
