"""The Prometheus adapter of the telemetry port: each event moves its own series, and only it."""

from collections.abc import Callable

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from adapters.observability.metrics import Metrics
from application.ports import Telemetry

EVENTS: list[tuple[Callable[[Telemetry], None], str, dict[str, str], float]] = [
    (lambda t: t.entries_recorded(3), "auditlog_entries_recorded_total", {}, 3),
    (lambda t: t.export_rows(2), "auditlog_export_rows_total", {}, 2),
    (lambda t: t.rate_limited("record"), "auditlog_rate_limited_total", {"kind": "record"}, 1),
    (lambda t: t.rate_limited("read"), "auditlog_rate_limited_total", {"kind": "read"}, 1),
    (lambda t: t.rate_limited("auth"), "auditlog_rate_limited_total", {"kind": "auth"}, 1),
    (lambda t: t.auth_failed("unknown"), "auditlog_auth_failures_total", {"reason": "unknown"}, 1),
    (lambda t: t.auth_failed("revoked"), "auditlog_auth_failures_total", {"reason": "revoked"}, 1),
    (lambda t: t.unknown_credential(), "auditlog_unknown_credentials_total", {}, 1),
    (lambda t: t.rejection_folded(), "auditlog_rejected_key_attempts_folded_total", {}, 1),
    *[
        (
            lambda t, r=result: t.interceptor_events(r, 4),
            "auditlog_interceptor_events_total",
            {"result": result},
            4,
        )
        for result in ("queued", "sent", "retried", "dropped", "failed", "invalid")
    ],
]


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    page = generate_latest(metrics.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(page)
        for s in family.samples
        if not s.name.startswith("auditlog_request")
    }


@pytest.mark.parametrize(("event", "sample", "labels", "count"), EVENTS)
def test_each_event_moves_its_own_series_and_no_other(
    event: Callable[[Telemetry], None], sample: str, labels: dict[str, str], count: float
) -> None:
    metrics = Metrics()
    before = samples(metrics)

    event(metrics)

    after = samples(metrics)
    key = (sample, tuple(sorted(labels.items())))
    assert after[key] == before[key] + count
    assert {k: v for k, v in after.items() if k != key} == {
        k: v for k, v in before.items() if k != key
    }


def test_every_series_is_on_the_page_at_zero_before_anything_happened() -> None:
    expected = {(sample, tuple(sorted(labels.items()))) for _, sample, labels, _ in EVENTS}

    page = samples(Metrics())

    levels = {
        ("auditlog_interceptor_queue_depth", ()),
        ("auditlog_sealing_lag_seconds", ()),
        ("auditlog_sealing_lease_suspect", ()),
        ("auditlog_stream_lag_seconds", ()),
    }
    assert expected | levels == set(page)
    assert set(page.values()) == {0.0}


def test_stream_deliveries_failures_and_lag_are_counted_by_kind_and_outcome_only() -> None:
    metrics = Metrics()
    metrics.stream_delivered("WEBHOOK", 100)
    metrics.stream_delivered("WEBHOOK", 20)
    metrics.stream_failed("SYSLOG", "CONNECT_FAILED")
    metrics.stream_lag(31.5)
    page = samples(metrics)
    assert page[("auditlog_stream_entries_delivered_total", (("kind", "WEBHOOK"),))] == 120
    batches = "auditlog_stream_batches_total"
    assert page[(batches, (("kind", "WEBHOOK"), ("outcome", "delivered")))] == 2
    assert page[(batches, (("kind", "SYSLOG"), ("outcome", "CONNECT_FAILED")))] == 1
    assert page[("auditlog_stream_lag_seconds", ())] == 31.5
    labels = {name for (_, pairs) in page for name, _ in pairs}
    assert labels <= {"kind", "outcome", "result", "reason"}  # no account, no stream
