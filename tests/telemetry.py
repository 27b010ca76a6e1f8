"""A telemetry port that remembers what it was told, for tests to assert on; and a reader of
the real one's page, for tests that go through the app."""

from collections import Counter

import httpx
from prometheus_client.parser import text_string_to_metric_families

from application.ports import AuthFailureReason, InterceptorResult, RateLimitKind


class RecordingTelemetry:
    """Implements `application.ports.Telemetry`: each event adds to a count, by label."""

    def __init__(self) -> None:
        self.recorded = 0
        self.export_rows_streamed = 0
        self.unknown_credentials = 0
        self.rejections_folded = 0
        self.refused: Counter[RateLimitKind] = Counter()
        self.failures: Counter[AuthFailureReason] = Counter()
        self.interceptor: Counter[InterceptorResult] = Counter()
        self.sealing: tuple[float, bool] | None = None
        """The last sealing check's lag in seconds and whether the lease was suspect."""

    def entries_recorded(self, count: int) -> None:
        self.recorded += count

    def export_rows(self, count: int) -> None:
        self.export_rows_streamed += count

    def rate_limited(self, kind: RateLimitKind) -> None:
        self.refused[kind] += 1

    def auth_failed(self, reason: AuthFailureReason) -> None:
        self.failures[reason] += 1

    def unknown_credential(self) -> None:
        self.unknown_credentials += 1

    def rejection_folded(self) -> None:
        self.rejections_folded += 1

    def interceptor_events(self, result: InterceptorResult, count: int = 1) -> None:
        self.interceptor[result] += count

    def sealing_checked(self, lag_seconds: float, *, lease_suspect: bool) -> None:
        self.sealing = (lag_seconds, lease_suspect)


async def scraped(http: httpx.AsyncClient, sample: str, **labels: str) -> float:
    """The value of one sample on the app's /metrics page (0 for a series not there)."""
    response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    found = [
        s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
        if s.name == sample and s.labels == labels
    ]
    assert len(found) <= 1, (sample, labels, found)
    return found[0] if found else 0.0
