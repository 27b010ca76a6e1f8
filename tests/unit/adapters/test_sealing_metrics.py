"""The sealing check's gauges: levels the last check set, not counts."""

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from adapters.observability.metrics import Metrics


def gauges(metrics: Metrics) -> dict[str, float]:
    page = generate_latest(metrics.registry).decode()
    return {
        s.name: s.value
        for family in text_string_to_metric_families(page)
        for s in family.samples
        if s.name.startswith("auditlog_sealing_")
    }


def test_each_check_sets_the_lag_and_the_suspect_lease_and_a_later_one_clears_them() -> None:
    metrics = Metrics()

    metrics.sealing_checked(660.0, lease_suspect=True)
    assert gauges(metrics) == {
        "auditlog_sealing_lag_seconds": 660.0,
        "auditlog_sealing_lease_suspect": 1.0,
    }

    metrics.sealing_checked(0.0, lease_suspect=False)
    assert gauges(metrics) == {
        "auditlog_sealing_lag_seconds": 0.0,
        "auditlog_sealing_lease_suspect": 0.0,
    }
